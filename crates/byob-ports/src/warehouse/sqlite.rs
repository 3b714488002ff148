//! The embedded SQLite warehouse: a file in the data dir, so byob works with no database server at all.
//!
//! Values are stored so that nothing is lost: decimals as text under the declared type `DECIMAL TEXT` (SQLite's
//! numeric affinity would turn `1.10` into a binary float), dates and timestamps as ISO-8601 text, booleans as
//! 0/1. Metadata goes through sqlx; a load runs on its own blocking thread with a direct connection (rusqlite),
//! one prepared `INSERT` stepped per row inside one transaction, values bound without copies.

use std::path::Path;

use async_trait::async_trait;
use byob_core::table::{Column, ColumnType, TableName};
use sqlx::{
    Row, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tokio::sync::mpsc;

use std::{collections::HashMap, path::PathBuf, sync::Arc};

use super::{ExportQuery, LoadItem, LoadTarget, QueryItem, Warehouse, WarehouseError};

/// The name under which every org sees the embedded warehouse.
pub const LOCAL_CONNECTION: &str = byob_core::connection::LOCAL_CONNECTION;

/// Opens the warehouse file, creating it on first start.
///
/// # Errors
/// When the file cannot be created or opened.
async fn open_local_warehouse(path: &Path) -> Result<SqlitePool, sqlx::Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        // Applies to a new file only: larger pages mean fewer page splits and WAL frames in bulk loads and scans.
        .page_size(16 * 1024)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(std::time::Duration::from_secs(30));
    let pool = SqlitePoolOptions::new().max_connections(2).connect_with(options).await?;
    sqlx::query("SELECT 1").execute(&pool).await?;
    Ok(pool)
}

#[derive(Debug, Clone)]
pub struct SqliteWarehouse {
    pool: SqlitePool,
    /// The database file, for the bulk-load connection.
    path: std::path::PathBuf,
}

pub(super) fn type_name(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Integer => "INTEGER",
        ColumnType::Decimal => "DECIMAL TEXT",
        ColumnType::Boolean => "BOOLEAN",
        ColumnType::Date => "DATE",
        ColumnType::Timestamp => "TIMESTAMP",
        ColumnType::TimestampTz => "TIMESTAMPTZ",
        ColumnType::Text => "TEXT",
    }
}

/// byob's type for a declared SQLite type, by SQLite's own affinity rules refined for the names byob writes.
fn column_type(declared: &str) -> ColumnType {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        ColumnType::Integer
    } else if t.contains("DECIMAL")
        || t.contains("NUMERIC")
        || t.contains("REAL")
        || t.contains("FLOA")
        || t.contains("DOUB")
    {
        ColumnType::Decimal
    } else if t.contains("BOOL") {
        ColumnType::Boolean
    } else if t.contains("TIMESTAMPTZ") {
        ColumnType::TimestampTz
    } else if t.contains("TIMESTAMP") || t.contains("DATETIME") {
        ColumnType::Timestamp
    } else if t.contains("DATE") {
        ColumnType::Date
    } else {
        ColumnType::Text
    }
}

/// SQLite has one schema per attached database; byob's warehouse is `main`.
fn check_schema(table: &TableName) -> Result<(), WarehouseError> {
    match table.schema.as_deref() {
        None | Some("main") => Ok(()),
        Some(other) => Err(WarehouseError::Unsupported(format!(
            "the embedded warehouse has no schema `{other}`; name the table without a schema"
        ))),
    }
}

impl SqliteWarehouse {
    #[must_use]
    pub fn new(pool: SqlitePool, path: &Path) -> Self {
        Self { pool, path: path.to_path_buf() }
    }

    async fn exists(&self, table: &TableName) -> Result<bool, WarehouseError> {
        let row = sqlx::query("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?")
            .bind(&table.name)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }
}

#[async_trait]
impl Warehouse for SqliteWarehouse {
    fn platform(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), WarehouseError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn tables(&self) -> Result<Vec<TableName>, WarehouseError> {
        let rows = sqlx::query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE '%\\_\\_byob\\_replace' ESCAPE '\\' AND name <> '__byob_commits' ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(TableName { schema: None, name: r.try_get("name")? })).collect()
    }

    async fn columns(&self, table: &TableName) -> Result<Option<Vec<Column>>, WarehouseError> {
        check_schema(table)?;
        if !self.exists(table).await? {
            return Ok(None);
        }
        let rows = sqlx::query(r#"SELECT name, type, "notnull" FROM pragma_table_info(?) ORDER BY cid"#)
            .bind(&table.name)
            .fetch_all(&self.pool)
            .await?;
        let columns = rows
            .iter()
            .map(|r| {
                Ok(Column {
                    name: r.try_get("name")?,
                    column_type: column_type(&r.try_get::<String, _>("type")?),
                    nullable: r.try_get::<i64, _>("notnull")? == 0,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Some(columns))
    }

    async fn load(&self, target: &LoadTarget, rows: mpsc::Receiver<LoadItem>) -> Result<u64, WarehouseError> {
        check_schema(&target.table)?;
        let path = self.path.clone();
        let target = target.clone();
        tokio::task::spawn_blocking(move || super::sqlite_bulk::load(&path, &target, rows))
            .await
            .map_err(|e| WarehouseError::Database(format!("the load thread stopped: {e}")))?
    }

    async fn commit_state(&self, token: &str) -> Result<super::CommitState, WarehouseError> {
        let path = self.path.clone();
        let token = token.to_string();
        tokio::task::spawn_blocking(move || super::sqlite_bulk::commit_state(&path, &token))
            .await
            .map_err(|e| WarehouseError::Database(format!("the commit check stopped: {e}")))?
    }

    async fn query(&self, query: &ExportQuery, rows: mpsc::Sender<QueryItem>) -> Result<u64, WarehouseError> {
        if let ExportQuery::Table(table) = query {
            check_schema(table)?;
            if !self.exists(table).await? {
                return Err(WarehouseError::TableMissing(table.to_string()));
            }
        }
        let path = self.path.clone();
        let query = query.clone();
        // Dropping this future (an abandoned job) interrupts the statement: the thread would run on otherwise.
        let abandoned = super::sqlite_query::Abandoned::default();
        let flag = abandoned.flag();
        tokio::task::spawn_blocking(move || super::sqlite_query::export_rows(&path, &query, &rows, &flag))
            .await
            .map_err(|e| WarehouseError::Database(format!("the export thread stopped: {e}")))?
    }
}

/// The embedded warehouse, one SQLite file per org (`{dir}/{org}.db`): an org's tables and queries can only
/// ever reach its own file. Files are created and opened on first use and kept open.
#[derive(Debug)]
pub struct LocalWarehouses {
    dir: PathBuf,
    open: tokio::sync::Mutex<HashMap<String, Arc<SqliteWarehouse>>>,
}

impl LocalWarehouses {
    #[must_use]
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), open: tokio::sync::Mutex::new(HashMap::new()) }
    }

    /// The file of `org`'s warehouse (named by the org id, which is `org_` and base32 only).
    #[must_use]
    pub fn path(&self, org: &byob_core::OrgId) -> PathBuf {
        self.dir.join(format!("{org}.db"))
    }

    /// `org`'s warehouse, opened (and created) on first use.
    ///
    /// # Errors
    /// [`WarehouseError::Connect`] when the file cannot be created or opened.
    pub async fn for_org(&self, org: &byob_core::OrgId) -> Result<Arc<SqliteWarehouse>, WarehouseError> {
        let mut open = self.open.lock().await;
        if let Some(w) = open.get(&org.to_string()) {
            return Ok(w.clone());
        }
        let path = self.path(org);
        let pool = open_local_warehouse(&path)
            .await
            .map_err(|e| WarehouseError::Connect(format!("the embedded warehouse {}: {e}", path.display())))?;
        let warehouse = Arc::new(SqliteWarehouse::new(pool, &path));
        open.insert(org.to_string(), warehouse.clone());
        Ok(warehouse)
    }

    /// Closes every open file.
    pub async fn close(&self) {
        for (_, w) in self.open.lock().await.drain() {
            w.pool.close().await;
        }
    }
}
