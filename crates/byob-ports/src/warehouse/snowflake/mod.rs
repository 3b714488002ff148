//! Snowflake over its REST protocol (login, statements, Arrow results with their chunks). Loads stream rows in
//! as array-bound `INSERT`s (text values Snowflake converts to each column's type); exports read one `SELECT`,
//! checked as one before it runs (`describeOnly`), and decode its Arrow rowsets into byob's typed cells.
//!
//! Snowflake's DDL commits by itself, so `create` and `replace` build the table under a name of their own and
//! rename (or `SWAP`) it into place only when every row is in; `append` runs in a transaction.

mod arrow;
mod ipc;
mod key_pair;
mod load;
mod pull;
mod session;

use async_trait::async_trait;
use byob_core::table::{Column, ColumnType, TableName};
use serde_json::json;
use tokio::sync::mpsc;

pub use self::key_pair::KeyPair;
use self::session::{QueryData, Session};
use super::{
    Batch, Cell, ExportQuery, LoadItem, LoadTarget, PullSource, QUERY_BATCH_ROWS, QUERY_BATCH_TEXT, QueryItem,
    ServerSettings, Warehouse, WarehouseError,
    postgres_query::{export_statement, send},
    sql::qualified,
};

/// Snowflake's statement type id of a `SELECT`: the only statement an export runs.
const SELECT_STATEMENT: u64 = 0x1000;

/// What a Snowflake connection needs beyond a server's fields.
#[derive(Debug, Clone)]
pub struct SnowflakeSettings {
    /// `host` and `port` are the account's (`{account}.snowflakecomputing.com:443`, or a private-link host);
    /// `tls: disable` means plain http, for a local stand-in only.
    pub server: ServerSettings,
    /// The account identifier (`xy12345.us-east-1`, `myorg-myaccount`).
    pub account: String,
    pub warehouse: Option<String>,
    pub role: Option<String>,
    /// The customer's storage integration, through which Snowflake reads their bucket for pulled loads.
    pub storage_integration: Option<String>,
    /// The connection's secret (`server.password`) is an RSA private key in PEM: byob signs in with a JWT
    /// signed by it (key-pair authentication), not with a password.
    pub key_pair: bool,
}

#[derive(Debug, Clone)]
pub struct SnowflakeWarehouse {
    settings: SnowflakeSettings,
}

/// byob's type for a column of `information_schema.columns`.
fn column_type(data_type: &str, scale: Option<i64>) -> ColumnType {
    match data_type {
        "NUMBER" | "DECIMAL" | "NUMERIC" | "INT" | "INTEGER" | "BIGINT" if scale.unwrap_or(0) == 0 => {
            ColumnType::Integer
        }
        "NUMBER" | "DECIMAL" | "NUMERIC" | "FLOAT" | "DOUBLE" | "REAL" => ColumnType::Decimal,
        "BOOLEAN" => ColumnType::Boolean,
        "DATE" => ColumnType::Date,
        "TIMESTAMP_NTZ" | "DATETIME" => ColumnType::Timestamp,
        "TIMESTAMP_TZ" | "TIMESTAMP_LTZ" => ColumnType::TimestampTz,
        _ => ColumnType::Text,
    }
}

/// A name as Snowflake resolves it unquoted: a plain identifier (`sales`, `order_id`) is upper case (`SALES`),
/// so the tables byob makes are the ones `SELECT * FROM sales` finds; any other name is kept as written (and
/// always quoted).
pub(super) fn canonical(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if plain { name.to_ascii_uppercase() } else { name.to_string() }
}

fn canonical_table(table: &TableName) -> TableName {
    TableName { schema: table.schema.as_deref().map(canonical), name: canonical(&table.name) }
}

/// Positional bindings of text values (`{"1": {"type": "TEXT", "value": …}, …}`).
fn text_bindings(values: &[&str]) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> =
        values.iter().enumerate().map(|(i, v)| ((i + 1).to_string(), json!({ "type": "TEXT", "value": v }))).collect();
    serde_json::Value::Object(map)
}

impl SnowflakeWarehouse {
    #[must_use]
    pub fn new(settings: SnowflakeSettings) -> Self {
        Self { settings }
    }

    fn schema_of<'a>(&'a self, table: &'a TableName) -> &'a str {
        table.schema.as_deref().unwrap_or(&self.settings.server.schema)
    }

    fn qualified(&self, table: &TableName) -> String {
        qualified(table, Some(&self.settings.server.schema))
    }

    async fn session(&self) -> Result<Session, WarehouseError> {
        Session::login(&self.settings).await
    }

    /// Every row of a small metadata result, as text (`None` for NULL).
    async fn text_rows(
        session: &mut Session,
        sql: &str,
        values: &[&str],
    ) -> Result<Vec<Vec<Option<String>>>, WarehouseError> {
        let data = session.query(sql, Some(text_bindings(values)), false).await?;
        let fields = arrow::fields(&data.rowtype);
        let kinds: Vec<_> = fields.iter().map(|f| f.kind).collect();
        let width = kinds.len().max(1);
        let mut batch = Batch { width, ..Batch::default() };
        decode(session, &data, &kinds, &mut batch, &mut Sink { rows: None, sent: 0 }).await?;
        Ok(batch
            .cells
            .chunks(width)
            .map(|row| {
                row.iter()
                    .map(|c| match c {
                        Cell::Null => None,
                        Cell::Integer(v) => Some(v.to_string()),
                        Cell::Text(s) | Cell::Decimal(s) => Some(batch.str(*s).to_string()),
                        other => Some(format!("{other:?}")),
                    })
                    .collect()
            })
            .collect())
    }

    async fn table_exists(&self, session: &mut Session, schema: &str, name: &str) -> Result<bool, WarehouseError> {
        let rows = Self::text_rows(
            session,
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            &[schema, name],
        )
        .await?;
        Ok(rows.first().and_then(|r| r.first()).cloned().flatten().is_some_and(|n| n != "0"))
    }

    /// The declared scale of each decimal column of a table (for refusing values Snowflake would round).
    async fn scales(
        &self,
        session: &mut Session,
        table: &TableName,
    ) -> Result<std::collections::HashMap<String, (u32, u32)>, WarehouseError> {
        let rows = Self::text_rows(
            session,
            "SELECT column_name, numeric_precision, numeric_scale FROM information_schema.columns WHERE \
             table_schema = ? AND table_name = ? AND numeric_scale IS NOT NULL",
            &[self.schema_of(table), &table.name],
        )
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let name = r.first()?.clone()?;
                let precision = r.get(1)?.as_deref()?.parse().ok()?;
                let scale = r.get(2)?.as_deref()?.parse().ok()?;
                Some((name, (precision, scale)))
            })
            .collect())
    }
}

/// Where decoded rows go: kept in the batch (a small metadata result), or sent on whenever a batch is full.
struct Sink<'a> {
    rows: Option<&'a mpsc::Sender<QueryItem>>,
    sent: u64,
}

impl Sink<'_> {
    async fn offer(&mut self, batch: &mut Batch) -> Result<(), WarehouseError> {
        let full = batch.cells.len() / batch.width.max(1) >= QUERY_BATCH_ROWS || batch.text.len() >= QUERY_BATCH_TEXT;
        if let (true, Some(rows)) = (full, self.rows) {
            self.sent += send(rows, batch, batch.width).await?;
        }
        Ok(())
    }
}

/// Decodes a result's rows (inline Arrow or JSON rowset, then each further chunk, one at a time) into
/// `batch`, offering it to `sink` as it fills.
async fn decode(
    session: &Session,
    data: &QueryData,
    kinds: &[super::FieldKind],
    batch: &mut Batch,
    sink: &mut Sink<'_>,
) -> Result<(), WarehouseError> {
    if data.query_result_format.as_deref() == Some("json") {
        for rows in data.rowset.chunks(QUERY_BATCH_ROWS) {
            arrow::append_json(rows, &data.rowtype, kinds, batch)?;
            sink.offer(batch).await?;
        }
        return Ok(());
    }
    let first = match data.rowset_base64.as_deref() {
        Some(b64) if !b64.is_empty() => Some(
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64)
                .map_err(|e| WarehouseError::Database(format!("Snowflake's rowset is not base64: {e}")))?,
        ),
        _ => None,
    };
    let mut pieces = first.into_iter().map(Ok).collect::<Vec<Result<Vec<u8>, WarehouseError>>>();
    let mut chunks = data.chunks.iter();
    loop {
        let bytes = match pieces.pop() {
            Some(bytes) => bytes?,
            None => match chunks.next() {
                Some(chunk) => session.chunk(data, chunk).await?,
                None => return Ok(()),
            },
        };
        for record in ipc::Batches::new(bytes) {
            let record = record?;
            let mut start = 0;
            while start < record.num_rows() {
                let take =
                    (QUERY_BATCH_ROWS - batch.cells.len() / batch.width.max(1)).clamp(1, record.num_rows() - start);
                arrow::append(&record.slice(start, take), &data.rowtype, kinds, batch)?;
                start += take;
                sink.offer(batch).await?;
            }
        }
    }
}

#[async_trait]
impl Warehouse for SnowflakeWarehouse {
    fn platform(&self) -> &'static str {
        "snowflake"
    }

    async fn ping(&self) -> Result<(), WarehouseError> {
        let mut session = self.session().await?;
        let outcome = session.query("SELECT 1", None, false).await.map(|_| ());
        session.close().await;
        outcome
    }

    async fn tables(&self) -> Result<Vec<TableName>, WarehouseError> {
        let mut session = self.session().await?;
        let rows = Self::text_rows(
            &mut session,
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND \
             table_schema <> 'INFORMATION_SCHEMA' ORDER BY 1, 2",
            &[],
        )
        .await;
        session.close().await;
        Ok(rows?
            .into_iter()
            .filter_map(|r| Some(TableName { schema: r.first()?.clone(), name: r.get(1)?.clone()? }))
            .filter(|t| !t.name.contains(super::sql::BUILD_MARK))
            .collect())
    }

    async fn columns(&self, table: &TableName) -> Result<Option<Vec<Column>>, WarehouseError> {
        let table = &canonical_table(table);
        let mut session = self.session().await?;
        let rows = Self::text_rows(
            &mut session,
            "SELECT column_name, data_type, is_nullable, numeric_scale FROM information_schema.columns WHERE \
             table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            &[self.schema_of(table), &table.name],
        )
        .await;
        session.close().await;
        let rows = rows?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            rows.into_iter()
                .filter_map(|r| {
                    let scale = r.get(3).cloned().flatten().and_then(|s| s.parse().ok());
                    Some(Column {
                        name: r.first()?.clone()?,
                        column_type: column_type(r.get(1)?.as_deref()?, scale),
                        nullable: r.get(2)?.as_deref() == Some("YES"),
                    })
                })
                .collect(),
        ))
    }

    async fn load(&self, target: &LoadTarget, rows: mpsc::Receiver<LoadItem>) -> Result<u64, WarehouseError> {
        let target = LoadTarget {
            table: canonical_table(&target.table),
            mode: target.mode,
            columns: target.columns.iter().map(|c| Column { name: canonical(&c.name), ..c.clone() }).collect(),
            // Snowflake gives no commit token (see `commit.rs`).
            ledger: None,
        };
        self.load_rows(&target, load::Fill::Rows(rows)).await
    }

    fn pull_integration(&self) -> Option<String> {
        self.settings.storage_integration.clone()
    }

    async fn drop_probe(&self, table: &TableName) -> Result<(), WarehouseError> {
        let mut session = self.session().await?;
        session.query(&format!("DROP TABLE IF EXISTS {}", self.qualified(table)), None, false).await.map(|_| ())
    }

    async fn pull(&self, target: &LoadTarget, source: &PullSource) -> Result<u64, WarehouseError> {
        if target.mode == super::LoadMode::Append && target.columns.iter().any(|c| c.column_type == ColumnType::Decimal)
        {
            return Err(WarehouseError::Unsupported(
                "appending decimals is streamed, so byob can refuse a value Snowflake would round".into(),
            ));
        }
        let target = LoadTarget {
            table: canonical_table(&target.table),
            mode: target.mode,
            columns: target.columns.iter().map(|c| Column { name: canonical(&c.name), ..c.clone() }).collect(),
            // Snowflake gives no commit token (see `commit.rs`).
            ledger: None,
        };
        self.load_rows(&target, load::Fill::Pull(source)).await
    }

    async fn query(&self, query: &ExportQuery, rows: mpsc::Sender<QueryItem>) -> Result<u64, WarehouseError> {
        let sql = export_statement(query, |t| self.qualified(&canonical_table(t)))?;
        let mut session = self.session().await?;
        let outcome = async {
            let described = session.query(&sql, None, true).await?;
            if described.statement_type_id.is_some_and(|t| t != SELECT_STATEMENT) {
                return Err(WarehouseError::Unsupported("exports only read: write one SELECT".into()));
            }
            let data = session.query(&sql, None, false).await?;
            let fields = arrow::fields(&data.rowtype);
            if fields.is_empty() {
                return Err(WarehouseError::Unsupported("the query returns no columns".into()));
            }
            let kinds: Vec<_> = fields.iter().map(|f| f.kind).collect();
            let width = kinds.len();
            rows.send(QueryItem::Schema(fields)).await.map_err(|_| WarehouseError::Aborted)?;
            let mut batch = Batch { width, ..Batch::default() };
            let mut sink = Sink { rows: Some(&rows), sent: 0 };
            decode(&session, &data, &kinds, &mut batch, &mut sink).await?;
            Ok(sink.sent + send(&rows, &mut batch, width).await?)
        }
        .await;
        session.close().await;
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::sql::quote;

    #[test]
    fn information_schema_types_map_to_byobs() {
        assert_eq!(column_type("NUMBER", Some(0)), ColumnType::Integer);
        assert_eq!(column_type("NUMBER", Some(2)), ColumnType::Decimal);
        assert_eq!(column_type("TIMESTAMP_TZ", None), ColumnType::TimestampTz);
        assert_eq!(column_type("TEXT", None), ColumnType::Text);
    }

    #[test]
    fn plain_names_are_upper_case_as_snowflake_resolves_them() {
        assert_eq!(canonical("sales_2024"), "SALES_2024");
        assert_eq!(canonical("Mixed Case"), "Mixed Case");
        assert_eq!(canonical("1st"), "1st");
        assert_eq!(canonical("é"), "é");
    }

    #[test]
    fn identifiers_are_quoted_as_written() {
        assert_eq!(quote("Mixed \"case\""), "\"Mixed \"\"case\"\"\"");
    }
}
