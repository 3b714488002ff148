//! The embedded SQLite warehouse: a file in the data dir, so byob works with no database server at all.
//!
//! Values are stored so that nothing is lost: decimals as text under the declared type `DECIMAL TEXT` (SQLite's
//! numeric affinity would turn `1.10` into a binary float), dates and timestamps as ISO-8601 text, booleans as
//! 0/1. A load inserts many rows per statement inside one transaction.

use std::path::Path;

use async_trait::async_trait;
use byob_core::table::{Column, ColumnType, TableName};
use sqlx::{
    AssertSqlSafe, Row, SqlitePool,
    sqlite::{SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tokio::sync::mpsc;

use super::{
    Cell, LoadItem, LoadMode, LoadTarget, Warehouse, WarehouseError,
    sql::{column_list, create_table, qualified, quote, staging_name},
};

/// The name under which every org sees the embedded warehouse.
pub const LOCAL_CONNECTION: &str = byob_core::connection::LOCAL_CONNECTION;

/// SQLite allows 32766 parameters per statement; rows per insert stay well under it.
const MAX_PARAMETERS: usize = 32_000;
const MAX_ROWS_PER_INSERT: usize = 500;

/// Opens the warehouse file, creating it on first start.
///
/// # Errors
/// When the file cannot be created or opened.
pub async fn open_local_warehouse(path: &Path) -> Result<SqlitePool, sqlx::Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(std::time::Duration::from_secs(30));
    let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
    sqlx::query("SELECT 1").execute(&pool).await?;
    Ok(pool)
}

#[derive(Debug, Clone)]
pub struct SqliteWarehouse {
    pool: SqlitePool,
}

fn type_name(t: ColumnType) -> &'static str {
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

fn bind(args: &mut SqliteArguments, cell: Cell) -> Result<(), WarehouseError> {
    use sqlx::Arguments;
    let result = match cell {
        Cell::Null => args.add(Option::<String>::None),
        Cell::Integer(v) => args.add(v),
        Cell::Boolean(v) => args.add(i64::from(v)),
        Cell::Decimal(v) | Cell::Text(v) => args.add(v),
        Cell::Date(d) => args.add(d.format("%Y-%m-%d").to_string()),
        Cell::Timestamp(t) => args.add(t.format("%Y-%m-%d %H:%M:%S%.f").to_string()),
        Cell::TimestampTz(t) => args.add(t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string()),
    };
    result.map_err(|e| WarehouseError::Database(e.to_string()))
}

fn insert_statement(table: &str, columns: &str, width: usize, rows: usize) -> String {
    let row = format!("({})", vec!["?"; width].join(", "));
    format!("INSERT INTO {table} ({columns}) VALUES {}", vec![row; rows].join(", "))
}

impl SqliteWarehouse {
    #[must_use]
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
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
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
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

    async fn load(&self, target: &LoadTarget, mut rows: mpsc::Receiver<LoadItem>) -> Result<u64, WarehouseError> {
        check_schema(&target.table)?;
        let final_name = qualified(&target.table, None);
        let mut tx = self.pool.begin().await?;
        let exists = sqlx::query("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?")
            .bind(&target.table.name)
            .fetch_one(&mut *tx)
            .await?
            .try_get::<i64, _>("n")?
            > 0;
        let into = match target.mode {
            LoadMode::Create if exists => return Err(WarehouseError::TableExists(target.table.to_string())),
            LoadMode::Append if !exists => return Err(WarehouseError::TableMissing(target.table.to_string())),
            LoadMode::Create => {
                sqlx::query(AssertSqlSafe(create_table(&final_name, &target.columns, type_name)))
                    .execute(&mut *tx)
                    .await?;
                final_name.clone()
            }
            LoadMode::Append => final_name.clone(),
            LoadMode::Replace => {
                let staging = quote(&staging_name(&target.table));
                sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS {staging}"))).execute(&mut *tx).await?;
                sqlx::query(AssertSqlSafe(create_table(&staging, &target.columns, type_name)))
                    .execute(&mut *tx)
                    .await?;
                staging
            }
        };
        let width = target.columns.len().max(1);
        let per_insert = (MAX_PARAMETERS / width).clamp(1, MAX_ROWS_PER_INSERT);
        let columns = column_list(&target.columns);
        let full = insert_statement(&into, &columns, width, per_insert);
        let mut written = 0u64;
        let mut pending: Vec<Cell> = Vec::with_capacity(per_insert * width);
        let mut finished = false;
        while let Some(item) = rows.recv().await {
            let batch = match item {
                LoadItem::Batch(batch) => batch,
                LoadItem::End => {
                    finished = true;
                    break;
                }
            };
            for cell in batch.cells {
                pending.push(cell);
                if pending.len() == per_insert * width {
                    let mut args = SqliteArguments::default();
                    for cell in pending.drain(..) {
                        bind(&mut args, cell)?;
                    }
                    sqlx::query_with(AssertSqlSafe(full.clone()), args).execute(&mut *tx).await?;
                    written += per_insert as u64;
                }
            }
        }
        if !finished {
            return Err(WarehouseError::Aborted);
        }
        if !pending.is_empty() {
            let rest = pending.len() / width;
            let mut args = SqliteArguments::default();
            for cell in pending.drain(..) {
                bind(&mut args, cell)?;
            }
            sqlx::query_with(AssertSqlSafe(insert_statement(&into, &columns, width, rest)), args)
                .execute(&mut *tx)
                .await?;
            written += rest as u64;
        }
        if target.mode == LoadMode::Replace {
            sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS {final_name}"))).execute(&mut *tx).await?;
            sqlx::query(AssertSqlSafe(format!("ALTER TABLE {into} RENAME TO {final_name}"))).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(written)
    }

    async fn count(&self, table: &TableName) -> Result<u64, WarehouseError> {
        check_schema(table)?;
        let row = sqlx::query(AssertSqlSafe(format!("SELECT count(*) AS n FROM {}", qualified(table, None))))
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0))
    }
}
