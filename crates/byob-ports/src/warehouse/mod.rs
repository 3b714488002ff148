//! Data platforms where uploads are loaded and exports are queried: one implementation per platform behind
//! [`Warehouse`] (`sqlite*`, `postgres*`, `mysql*`, `snowflake/`, `redshift*`, `databricks/`, `trino/`, `bigquery/`,
//! `sqlserver/`).
//! The embedded SQLite warehouse, the connection named `local`, is always there.
//!
//! A load receives converted rows in batches over a bounded channel and writes them in one transaction: the
//! table is exactly as before unless the whole load succeeds; `replace` swaps the new table in at commit.

mod bigquery;
mod commit;
mod databricks;
mod decimal;
mod error;
mod mysql;
mod mysql_encode;
mod mysql_load;
mod mysql_query;
mod pg_binary;
mod pg_copy_out;
mod postgres;
mod postgres_query;
mod pull;
mod redshift;
mod redshift_load;
mod redshift_query;
mod server;
mod snowflake;
mod sql;
mod sqlite;
mod sqlite_bulk;
mod sqlite_query;
mod sqlserver;
mod staged;
mod text;
mod text_cells;
mod trino;

use async_trait::async_trait;
use byob_core::table::{Column, TableName};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use tokio::sync::mpsc;

pub use bigquery::{BigQuerySettings, BigQueryWarehouse};
pub use commit::{CommitLedger, CommitState};
pub use databricks::{DatabricksSettings, DatabricksWarehouse};
pub use error::WarehouseError;
pub use mysql::MysqlWarehouse;
pub use postgres::{PostgresWarehouse, operator_settings_in_environment};
pub use pull::{PullCredentials, PullFormat, PullSource};
pub use redshift::RedshiftWarehouse;
pub use server::ServerSettings;
pub use snowflake::{KeyPair as SnowflakeKeyPair, SnowflakeSettings, SnowflakeWarehouse};
pub use sqlite::{LOCAL_CONNECTION, LocalWarehouses, SqliteWarehouse};
pub use sqlserver::SqlServerWarehouse;
pub use text::{push_date, push_datetime};
pub use trino::{TrinoSettings, TrinoWarehouse};

/// Where a text value lives in its batch's text buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

/// One converted value. Text and decimals point into their batch's buffer, so a row costs no allocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Integer(i64),
    /// Binary floating point (read from a platform's `real`/`double precision`; loads never produce it).
    Float(f64),
    /// A decimal in canonical text (`-12.50`, no exponent), kept exact.
    Decimal(Span),
    Boolean(bool),
    Date(NaiveDate),
    Timestamp(NaiveDateTime),
    TimestampTz(DateTime<Utc>),
    Text(Span),
}

/// Rows in column order, `width` cells each, and the text their spans point into.
#[derive(Debug, Default)]
pub struct Batch {
    pub width: usize,
    pub cells: Vec<Cell>,
    pub text: String,
    /// Where the emptied buffers go back to the producer, which reuses them instead of allocating.
    pub recycle: Option<std::sync::mpsc::Sender<Batch>>,
}

impl Batch {
    /// The text of a span of this batch (empty for a span that is not).
    #[must_use]
    pub fn str(&self, span: Span) -> &str {
        self.text.get(span.start as usize..span.end as usize).unwrap_or_default()
    }

    /// Hands the emptied buffers back to the producer, once the rows are written.
    pub fn done(mut self) {
        if let Some(back) = self.recycle.take() {
            self.cells.clear();
            self.text.clear();
            let _ = back.send(self);
        }
    }
}

/// Appends `text` to a batch's buffer and returns its span (buffers stay far below 4 GiB: batches are flushed
/// at a few MiB and a record is at most 64 MiB).
pub fn push_span(buffer: &mut String, text: &str) -> Span {
    let start = u32::try_from(buffer.len()).unwrap_or(u32::MAX);
    buffer.push_str(text);
    Span { start, end: u32::try_from(buffer.len()).unwrap_or(u32::MAX) }
}

/// What the producer sends: batches, then `End` once every row was read and converted. A channel that closes
/// without `End` means the producer failed, and the load is rolled back.
#[derive(Debug)]
pub enum LoadItem {
    Batch(Batch),
    End,
}

/// The next batch of a load, `None` once every row came, or `Aborted` when the rows stopped before their end.
pub(crate) async fn next_batch(rows: &mut mpsc::Receiver<LoadItem>) -> Result<Option<Batch>, WarehouseError> {
    match rows.recv().await {
        Some(LoadItem::Batch(batch)) => Ok(Some(batch)),
        Some(LoadItem::End) => Ok(None),
        None => Err(WarehouseError::Aborted),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    /// A new table; fails if it exists.
    Create,
    /// Into an existing table.
    Append,
    /// A new table with these columns takes the old one's place at commit.
    Replace,
}

impl LoadMode {
    /// Refuses the mode when the table's existence contradicts it (`create` of an existing table, `append` to a
    /// missing one).
    pub(crate) fn check(self, table: &TableName, exists: bool) -> Result<(), WarehouseError> {
        match self {
            Self::Create if exists => Err(WarehouseError::TableExists(table.to_string())),
            Self::Append if !exists => Err(WarehouseError::TableMissing(table.to_string())),
            _ => Ok(()),
        }
    }
}

/// Where rows go: the table, how, and the columns the rows carry (in order; for append, a subset of the
/// table's columns, by name).
#[derive(Debug, Clone)]
pub struct LoadTarget {
    pub table: TableName,
    pub mode: LoadMode,
    pub columns: Vec<Column>,
    /// Told the platform's commit token just before the load commits, where the platform has one
    /// ([`Warehouse::commit_state`]).
    pub ledger: Option<std::sync::Arc<dyn CommitLedger>>,
}

/// The type of a column an export reads, as precise as the platform tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// Precision and scale when the column declares them.
    Decimal {
        precision: Option<u16>,
        scale: Option<u16>,
    },
    Boolean,
    Date,
    Timestamp,
    TimestampTz,
    Text,
}

impl FieldKind {
    /// byob's column type for a column of this kind (floats are decimals: loads never write binary floats).
    #[must_use]
    pub fn column_type(self) -> byob_core::table::ColumnType {
        use byob_core::table::ColumnType;
        match self {
            Self::Int16 | Self::Int32 | Self::Int64 => ColumnType::Integer,
            Self::Float32 | Self::Float64 | Self::Decimal { .. } => ColumnType::Decimal,
            Self::Boolean => ColumnType::Boolean,
            Self::Date => ColumnType::Date,
            Self::Timestamp => ColumnType::Timestamp,
            Self::TimestampTz => ColumnType::TimestampTz,
            Self::Text => ColumnType::Text,
        }
    }

    /// A decimal's declared precision and scale.
    #[must_use]
    pub fn declared_decimal(self) -> Option<(u32, u32)> {
        match self {
            Self::Decimal { precision: Some(p), scale: Some(s) } => Some((u32::from(p), u32::from(s))),
            _ => None,
        }
    }
}

/// A column of a query's result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Field {
    pub name: String,
    #[serde(flatten)]
    pub kind: FieldKind,
}

/// What an export reads: a whole table, or one read-only statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportQuery {
    Table(TableName),
    Sql(String),
}

/// What a query sends: its columns first, then batches of rows. A channel that closes without the columns
/// means the query failed before any row.
#[derive(Debug)]
pub enum QueryItem {
    Schema(Vec<Field>),
    Batch(Batch),
}

/// Rows per batch a query sends, and the text a batch may hold before it is sent anyway.
pub const QUERY_BATCH_ROWS: usize = 4096;
pub const QUERY_BATCH_TEXT: usize = 4 << 20;

#[async_trait]
pub trait Warehouse: Send + Sync + std::fmt::Debug {
    /// `sqlite`, `postgres`, `mysql`, `snowflake`, `redshift`, `databricks`, `trino`, `bigquery` or `sqlserver`.
    fn platform(&self) -> &'static str;
    /// Connects and runs a trivial query.
    async fn ping(&self) -> Result<(), WarehouseError>;
    /// Tables the connection can see (user tables only).
    async fn tables(&self) -> Result<Vec<TableName>, WarehouseError>;
    /// The table's columns, or `None` when it does not exist.
    async fn columns(&self, table: &TableName) -> Result<Option<Vec<Column>>, WarehouseError>;
    /// Writes every row received, all or nothing; returns the number of rows written.
    async fn load(&self, target: &LoadTarget, rows: mpsc::Receiver<LoadItem>) -> Result<u64, WarehouseError>;
    /// Whether the load that gave its ledger `token` committed. Only platforms that give tokens are asked.
    async fn commit_state(&self, token: &str) -> Result<CommitState, WarehouseError> {
        Err(WarehouseError::Unsupported(format!("{} gives no commit tokens (asked about `{token}`)", self.platform())))
    }
    /// Runs a read-only query and sends its schema, then its rows; returns the number of rows sent. A statement
    /// that could write is refused.
    async fn query(&self, query: &ExportQuery, rows: mpsc::Sender<QueryItem>) -> Result<u64, WarehouseError>;
    /// The storage integration through which the platform reads the customer's bucket itself, when it has one
    /// (then byob vends no credentials for a pulled load).
    fn pull_integration(&self) -> Option<String> {
        None
    }
    /// Drops a table byob made for a check (the probe of a pulled load). Platforms without pulled loads have none.
    async fn drop_probe(&self, table: &TableName) -> Result<(), WarehouseError> {
        Err(WarehouseError::Unsupported(format!("{} has no probe table {table} to drop", self.platform())))
    }

    /// Has the platform read the object itself into the target, all or nothing; returns the rows written.
    /// Platforms that cannot are `Unsupported`, and the load is streamed instead.
    async fn pull(&self, target: &LoadTarget, source: &PullSource) -> Result<u64, WarehouseError> {
        let _ = (target, source);
        Err(WarehouseError::Unsupported(format!("{} does not read buckets itself", self.platform())))
    }
}
