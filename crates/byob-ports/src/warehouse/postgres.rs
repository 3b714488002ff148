//! PostgreSQL: rows stream in through `COPY … FROM STDIN` (text format) inside one transaction, so a failed
//! load leaves the table as it was, and `replace` builds the new table and renames it into place at commit.

use std::fmt::Write as _;

use async_trait::async_trait;
use byob_core::{
    connection::TlsMode,
    table::{Column, ColumnType, TableName},
};
use sqlx::{
    AssertSqlSafe, Connection as _, PgConnection, Row,
    postgres::{PgConnectOptions, PgSslMode},
};
use tokio::sync::mpsc;

use super::{
    Batch, Cell, CommitState, ExportQuery, LoadItem, LoadMode, LoadTarget, QueryItem, ServerSettings, Warehouse,
    WarehouseError, pg_binary,
    sql::{column_list, create_table, qualified, quote, staging_name},
    text::{push_date, push_datetime},
};

/// How a load's commit token names a PostgreSQL transaction (see `commit.rs`).
const PG_COMMIT_TOKEN: &str = "postgres-xact:";

/// The libpq-style variables the PostgreSQL driver reads from the process's environment into every connection
/// that does not set them itself: a password, client certificates and key, server options. byob connects to
/// hosts its tenants name, so any of these would be sent to them; host, port, user, database and TLS mode are
/// always set by byob and so are harmless.
const LEAKING_PG_VARIABLES: [&str; 6] =
    ["PGPASSWORD", "PGSSLCERT", "PGSSLKEY", "PGSSLROOTCERT", "PGOPTIONS", "PGAPPNAME"];

/// Which of [`LEAKING_PG_VARIABLES`] are set in this process's environment: `byob serve` refuses to start with
/// any, since it cannot unset them safely once threads run and the driver offers no way to ignore them.
#[must_use]
pub fn operator_settings_in_environment() -> Vec<&'static str> {
    LEAKING_PG_VARIABLES.into_iter().filter(|v| std::env::var_os(v).is_some()).collect()
}

/// Bytes gathered before each `CopyData` message.
const COPY_CHUNK: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub struct PostgresWarehouse {
    settings: ServerSettings,
    /// Whether the session asks for `extra_float_digits` at start-up (Amazon Redshift refuses the setting).
    float_digits: bool,
}

fn type_name(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Integer => "BIGINT",
        ColumnType::Decimal => "NUMERIC",
        ColumnType::Boolean => "BOOLEAN",
        ColumnType::Date => "DATE",
        ColumnType::Timestamp => "TIMESTAMP",
        ColumnType::TimestampTz => "TIMESTAMPTZ",
        ColumnType::Text => "TEXT",
    }
}

pub(super) fn column_type(data_type: &str) -> ColumnType {
    match data_type {
        "smallint" | "integer" | "bigint" => ColumnType::Integer,
        "numeric" | "real" | "double precision" | "money" => ColumnType::Decimal,
        "boolean" => ColumnType::Boolean,
        "date" => ColumnType::Date,
        "timestamp without time zone" => ColumnType::Timestamp,
        "timestamp with time zone" => ColumnType::TimestampTz,
        _ => ColumnType::Text,
    }
}

/// Appends `text` escaped for COPY's text format; most values have nothing to escape and are copied whole.
fn push_text(out: &mut String, text: &str) {
    let needs_escape = memchr::memchr3(b'\\', b'\t', b'\n', text.as_bytes()).is_some() || text.contains('\r');
    if !needs_escape {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            other => out.push(other),
        }
    }
}

fn push_cell(out: &mut String, cell: &Cell, batch: &Batch) {
    // Writing to a String cannot fail.
    let _ = match cell {
        Cell::Null => {
            out.push_str("\\N");
            Ok(())
        }
        Cell::Integer(v) => write!(out, "{v}"),
        Cell::Float(v) => write!(out, "{v}"),
        Cell::Decimal(v) => {
            out.push_str(batch.str(*v));
            Ok(())
        }
        Cell::Boolean(v) => {
            out.push(if *v { 't' } else { 'f' });
            Ok(())
        }
        Cell::Date(d) => {
            push_date(out, *d);
            Ok(())
        }
        Cell::Timestamp(t) => {
            push_datetime(out, *t, ' ');
            Ok(())
        }
        Cell::TimestampTz(t) => {
            push_datetime(out, t.naive_utc(), ' ');
            out.push_str("+00");
            Ok(())
        }
        Cell::Text(v) => {
            push_text(out, batch.str(*v));
            Ok(())
        }
    };
}

impl PostgresWarehouse {
    #[must_use]
    pub fn new(settings: ServerSettings) -> Self {
        Self { settings, float_digits: true }
    }

    /// A PostgreSQL-wire session for Amazon Redshift, which refuses `extra_float_digits` at start-up.
    pub(super) fn redshift_wire(settings: ServerSettings) -> Self {
        Self { settings, float_digits: false }
    }

    pub(super) async fn connect(&self) -> Result<PgConnection, WarehouseError> {
        let s = &self.settings;
        let ssl = match s.tls {
            TlsMode::Disable => PgSslMode::Disable,
            TlsMode::Prefer => PgSslMode::Prefer,
            TlsMode::Require => PgSslMode::Require,
            TlsMode::VerifyCa => PgSslMode::VerifyCa,
            TlsMode::VerifyFull => PgSslMode::VerifyFull,
        };
        // The driver connects to the address byob checked (or to the route's local forward) — except with
        // `verify-full` on a direct route, which needs the name for the certificate check: there a rebound name
        // would also need a certificate for it on the internal host, so the name is kept. Through a bastion or a
        // proxy the driver would see only the forward's address, so `verify-full` is refused when the
        // connection is made, and the report's `tls-name-matches` checks the name along the route.
        let address = if s.tls == TlsMode::VerifyFull && s.route.is_direct() {
            s.network.resolve(&s.host, s.port).await?;
            super::server::DriverAddress { host: s.host.clone(), port: s.port, _forward: None }
        } else {
            s.driver_address().await?
        };
        let host = address.host.clone();
        let mut options =
            // Never ~/.pgpass: the operator's passwords are not for the hosts tenants name. The PG* variables the
            // driver would still read are refused at start-up (`operator_settings_in_environment`).
            PgConnectOptions::new_without_pgpass().host(&host).port(address.port).database(&s.database).username(&s.user).ssl_mode(ssl);
        if let Some(password) = &s.password {
            options = options.password(password.expose());
        }
        if !self.float_digits {
            options = options.extra_float_digits(None);
        }
        let connect = PgConnection::connect_with(&options);
        match tokio::time::timeout(std::time::Duration::from_secs(15), connect).await {
            Ok(Ok(mut conn)) => {
                self.bound(&mut conn).await?;
                Ok(conn)
            }
            Ok(Err(sqlx::Error::Database(db))) => Err(WarehouseError::Connect(db.message().to_string())),
            Ok(Err(e)) => Err(WarehouseError::Connect(e.to_string())),
            Err(_) => Err(WarehouseError::Connect(format!("{}:{} did not answer within 15 s", s.host, s.port))),
        }
    }

    /// Bounds the session: `statement_timeout`, and (PostgreSQL 14 and later) a check every few seconds that
    /// byob is still connected, so a query byob abandoned (a cancelled job's) stops at once rather than at its
    /// timeout. Servers or poolers that refuse the second setting keep the first.
    async fn bound(&self, conn: &mut PgConnection) -> Result<(), WarehouseError> {
        let ms = self.settings.statement_timeout.as_millis().clamp(1, i32::MAX as u128);
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET statement_timeout = {ms}"))).execute(&mut *conn).await?;
        if sqlx::raw_sql("SET client_connection_check_interval = 2000").execute(&mut *conn).await.is_err() {
            tracing::debug!("the server does not check for abandoned sessions (before PostgreSQL 14)");
        }
        Ok(())
    }

    pub(super) fn schema_of<'a>(&'a self, table: &'a TableName) -> &'a str {
        table.schema.as_deref().unwrap_or(&self.settings.schema)
    }

    pub(super) fn qualified(&self, table: &TableName) -> String {
        qualified(table, Some(&self.settings.schema))
    }
}

/// Whether every column the rows carry has exactly the PostgreSQL type byob writes for its type, so binary COPY
/// applies.
async fn exact_types(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
    columns: &[Column],
) -> Result<bool, WarehouseError> {
    let rows = sqlx::query(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
    )
    .bind(schema)
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let exact = |c: &Column| {
        let wanted = match c.column_type {
            ColumnType::Integer => "bigint",
            ColumnType::Decimal => "numeric",
            ColumnType::Boolean => "boolean",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp without time zone",
            ColumnType::TimestampTz => "timestamp with time zone",
            ColumnType::Text => "text",
        };
        rows.iter().any(|r| {
            r.try_get::<String, _>("column_name").is_ok_and(|n| n == c.name)
                && r.try_get::<String, _>("data_type").is_ok_and(|t| t == wanted)
        })
    };
    Ok(columns.iter().all(exact))
}

pub(super) async fn table_exists(conn: &mut PgConnection, schema: &str, name: &str) -> Result<bool, WarehouseError> {
    let row =
        sqlx::query("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2")
            .bind(schema)
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

#[async_trait]
impl Warehouse for PostgresWarehouse {
    fn platform(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<(), WarehouseError> {
        let mut conn = self.connect().await?;
        sqlx::query("SELECT 1").execute(&mut conn).await?;
        let schema = sqlx::query("SELECT count(*) AS n FROM information_schema.schemata WHERE schema_name = $1")
            .bind(&self.settings.schema)
            .fetch_one(&mut conn)
            .await?;
        if schema.try_get::<i64, _>("n")? == 0 {
            return Err(WarehouseError::Rejected(format!(
                "schema `{}` does not exist in database `{}`",
                self.settings.schema, self.settings.database
            )));
        }
        Ok(())
    }

    async fn tables(&self) -> Result<Vec<TableName>, WarehouseError> {
        let mut conn = self.connect().await?;
        let rows = sqlx::query(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN \
             ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE' ORDER BY 1, 2",
        )
        .fetch_all(&mut conn)
        .await?;
        rows.iter()
            .map(|r| Ok(TableName { schema: Some(r.try_get("table_schema")?), name: r.try_get("table_name")? }))
            .collect()
    }

    async fn columns(&self, table: &TableName) -> Result<Option<Vec<Column>>, WarehouseError> {
        let mut conn = self.connect().await?;
        let rows = sqlx::query(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = $1 \
             AND table_name = $2 ORDER BY ordinal_position",
        )
        .bind(self.schema_of(table))
        .bind(&table.name)
        .fetch_all(&mut conn)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let columns = rows
            .iter()
            .map(|r| {
                Ok(Column {
                    name: r.try_get("column_name")?,
                    column_type: column_type(&r.try_get::<String, _>("data_type")?),
                    nullable: r.try_get::<String, _>("is_nullable")? == "YES",
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Some(columns))
    }

    async fn query(&self, query: &ExportQuery, rows: mpsc::Sender<QueryItem>) -> Result<u64, WarehouseError> {
        self.export_rows(query, rows).await
    }

    async fn load(&self, target: &LoadTarget, mut rows: mpsc::Receiver<LoadItem>) -> Result<u64, WarehouseError> {
        let mut conn = self.connect().await?;
        let schema = self.schema_of(&target.table).to_string();
        let final_name = self.qualified(&target.table);
        let mut tx = conn.begin().await?;
        let exists = table_exists(&mut tx, &schema, &target.table.name).await?;
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
                let staging = format!("{}.{}", quote(&schema), quote(&staging_name(&target.table)));
                sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS {staging}"))).execute(&mut *tx).await?;
                sqlx::query(AssertSqlSafe(create_table(&staging, &target.columns, type_name)))
                    .execute(&mut *tx)
                    .await?;
                staging
            }
        };
        // Binary when the columns are byob's own types (always so for a table byob creates); text otherwise,
        // where the server converts to whatever the existing columns are.
        let binary = target.mode != LoadMode::Append
            || exact_types(&mut tx, &schema, &target.table.name, &target.columns).await?;
        let format = if binary { " (FORMAT binary)" } else { "" };
        let statement = format!("COPY {into} ({}) FROM STDIN{format}", column_list(&target.columns));
        let mut copy = tx.copy_in_raw(&statement).await?;
        let width = target.columns.len().max(1);
        let mut text = String::new();
        let mut bytes: Vec<u8> = Vec::with_capacity(COPY_CHUNK + 64 * 1024);
        if binary {
            bytes.extend_from_slice(pg_binary::HEADER);
        }
        let mut finished = false;
        let mut sent = 0u64;
        while let Some(item) = rows.recv().await {
            let batch = match item {
                LoadItem::Batch(batch) => batch,
                LoadItem::End => {
                    finished = true;
                    break;
                }
            };
            for row in batch.cells.chunks(width) {
                if binary {
                    pg_binary::push_row(&mut bytes, row, &batch);
                } else {
                    for (i, cell) in row.iter().enumerate() {
                        if i > 0 {
                            text.push('\t');
                        }
                        push_cell(&mut text, cell, &batch);
                    }
                    text.push('\n');
                }
                sent += 1;
            }
            batch.done();
            if !text.is_empty() {
                bytes.extend_from_slice(text.as_bytes());
                text.clear();
            }
            if bytes.len() >= COPY_CHUNK {
                copy.send(std::mem::replace(&mut bytes, Vec::with_capacity(COPY_CHUNK + 64 * 1024))).await?;
            }
        }
        if !finished {
            // The transaction is rolled back when dropped; the abort tells the server why.
            copy.abort("byob: the rows stopped before their end").await.ok();
            return Err(WarehouseError::Aborted);
        }
        if binary {
            bytes.extend_from_slice(pg_binary::TRAILER);
        }
        if !bytes.is_empty() {
            copy.send(bytes).await?;
        }
        let written = copy.finish().await?;
        debug_assert_eq!(written, sent);
        if target.mode == LoadMode::Replace {
            sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS {final_name}"))).execute(&mut *tx).await?;
            sqlx::query(AssertSqlSafe(format!("ALTER TABLE {into} RENAME TO {}", quote(&target.table.name))))
                .execute(&mut *tx)
                .await?;
        }
        if let Some(ledger) = &target.ledger {
            let txid: i64 = sqlx::query_scalar("SELECT txid_current()").fetch_one(&mut *tx).await?;
            ledger.committing(&format!("{PG_COMMIT_TOKEN}{txid}"), written).await?;
        }
        tx.commit().await?;
        Ok(written)
    }

    async fn commit_state(&self, token: &str) -> Result<CommitState, WarehouseError> {
        let txid = token
            .strip_prefix(PG_COMMIT_TOKEN)
            .and_then(|t| t.parse::<i64>().ok())
            .ok_or_else(|| WarehouseError::Database(format!("`{token}` is no PostgreSQL transaction")))?;
        let mut conn = self.connect().await?;
        let status: Option<String> =
            sqlx::query_scalar("SELECT txid_status($1)").bind(txid).fetch_one(&mut conn).await?;
        Ok(match status.as_deref() {
            Some("committed") => CommitState::Committed,
            Some("aborted") => CommitState::NotCommitted,
            Some("in progress") => CommitState::Pending,
            _ => CommitState::Unknown,
        })
    }
}
