//! Google BigQuery, over its REST API ([`api`]): a project, a dataset where tables are loaded, a service
//! account key. Loads go through a build table put in place by one statement BigQuery commits atomically
//! ([`crate::warehouse::staged`]); decimals become `NUMERIC(p,s)` or, past its 9 decimal places and 29 integer
//! digits, `BIGNUMERIC(p,s)`.

mod api;
mod pull;

use async_trait::async_trait;
use byob_core::table::{Column, ColumnType, TableName};
use chrono::DateTime;
use serde_json::Value;
use tokio::sync::mpsc;

use self::api::{Client, FieldSchema};
use super::{
    Cell, ExportQuery, Field, FieldKind, LoadItem, LoadMode, LoadTarget, PullSource, QueryItem, ServerSettings,
    Warehouse, WarehouseError,
    decimal::DecimalShape,
    postgres_query::export_statement,
    push_span,
    sql::{BUILD_MARK, build_name},
    staged::{Dialect, Statements, declared_decimals},
    text_cells::{self, RowSink},
};

/// Where a BigQuery connection goes: the server settings (the project as database, the dataset as schema, the
/// service account key as password) and the location jobs run in.
#[derive(Debug, Clone)]
pub struct BigQuerySettings {
    pub server: ServerSettings,
    pub location: Option<String>,
}

#[derive(Debug, Clone)]
pub struct BigQueryWarehouse {
    settings: BigQuerySettings,
}

/// `` `name` ``, backticks and backslashes escaped (GoogleSQL's quoted identifiers read escapes).
fn quote(name: &str) -> String {
    format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`"))
}

/// A GoogleSQL string literal: quotes and backslashes escaped, and control characters (a single-quoted string
/// may hold no newline) as `\n`, `\r`, `\t` or `\xHH`.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn build_type(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Integer => "INT64",
        ColumnType::Decimal | ColumnType::Text => "STRING",
        ColumnType::Boolean => "BOOL",
        ColumnType::Date => "DATE",
        ColumnType::Timestamp => "DATETIME",
        ColumnType::TimestampTz => "TIMESTAMP",
    }
}

/// `NUMERIC(p,s)` (at most 9 decimal places and 29 integer digits), else `BIGNUMERIC(p,s)` (38 and 38).
fn decimal_type(_: &str, column: &str, shape: DecimalShape) -> Result<String, WarehouseError> {
    let precision = (shape.integer + shape.scale).max(1);
    if shape.scale <= 9 && shape.integer <= 29 {
        return Ok(format!("NUMERIC({precision},{})", shape.scale));
    }
    if shape.scale <= 38 && shape.integer <= 38 {
        return Ok(format!("BIGNUMERIC({precision},{})", shape.scale));
    }
    Err(WarehouseError::Rejected(format!(
        "column `{column}` has values with {} digits before and {} after the point; BigQuery's BIGNUMERIC holds 38 \
         and 38: load it as text",
        shape.integer, shape.scale
    )))
}

const DIALECT: Dialect = Dialect {
    platform: "BigQuery",
    quote,
    literal,
    table_options: "",
    build_type,
    timestamp: ("DATETIME '", "'"),
    instant: ("TIMESTAMP '", "+00'"),
    // BigQuery's queries are at most 1,024K characters.
    max_statement: 900_000,
    decimal_type,
    shape_of,
};

/// [`Dialect::shape_of`] in GoogleSQL, which has `SPLIT` and `STRPOS`.
fn shape_of(v: &str) -> [String; 2] {
    [
        format!("LENGTH(SPLIT(REPLACE(REPLACE({v}, '-', ''), '+', ''), '.')[SAFE_OFFSET(0)])"),
        format!("IF(STRPOS({v}, '.') > 0, LENGTH(SPLIT({v}, '.')[SAFE_OFFSET(1)]), 0)"),
    ]
}

/// byob's kind for a column BigQuery describes.
fn kind_of(f: &FieldSchema) -> FieldKind {
    if f.mode.as_deref() == Some("REPEATED") {
        return FieldKind::Text;
    }
    let number = |v: &Option<String>| v.as_deref().and_then(|n| n.parse::<u16>().ok());
    match f.type_name.as_str() {
        "INTEGER" | "INT64" => FieldKind::Int64,
        "FLOAT" | "FLOAT64" => FieldKind::Float64,
        // Unparameterized, NUMERIC is (38,9) and BIGNUMERIC (76,38).
        "NUMERIC" | "DECIMAL" => FieldKind::Decimal {
            precision: number(&f.precision).or(Some(38)),
            scale: number(&f.scale).or(if f.precision.is_none() { Some(9) } else { Some(0) }),
        },
        "BIGNUMERIC" | "BIGDECIMAL" => FieldKind::Decimal {
            precision: number(&f.precision).or(Some(76)),
            scale: number(&f.scale).or(if f.precision.is_none() { Some(38) } else { Some(0) }),
        },
        "BOOLEAN" | "BOOL" => FieldKind::Boolean,
        "DATE" => FieldKind::Date,
        "DATETIME" => FieldKind::Timestamp,
        "TIMESTAMP" => FieldKind::TimestampTz,
        _ => FieldKind::Text,
    }
}

/// A value of BigQuery's JSON rows: text (a TIMESTAMP as 64-bit microseconds), or a record's or array's JSON.
fn cell(kind: FieldKind, value: &Value, text: &mut String) -> Result<Cell, String> {
    match (value, kind) {
        (Value::Null, _) => Ok(Cell::Null),
        (Value::String(s), FieldKind::TimestampTz) => match s.parse::<i64>() {
            Ok(micros) => DateTime::from_timestamp_micros(micros)
                .map(Cell::TimestampTz)
                .ok_or_else(|| format!("`{s}` is out of range")),
            Err(_) => text_cells::cell(kind, s, text),
        },
        (Value::String(s), _) => text_cells::cell(kind, s, text),
        (other, _) => Ok(Cell::Text(push_span(text, &other.to_string()))),
    }
}

#[async_trait]
impl Statements for Client {
    async fn execute(&self, sql: &str) -> Result<(), WarehouseError> {
        self.run(sql).await.map(|_| ())
    }

    async fn first_row(&self, sql: &str) -> Result<Vec<Option<String>>, WarehouseError> {
        let mut answer = self.run(sql).await?;
        let row = self.next_rows(&mut answer).await?.and_then(|rows| rows.into_iter().next()).unwrap_or_default();
        Ok(row.into_iter().map(|v| v.as_str().map(str::to_string)).collect())
    }
}

impl BigQueryWarehouse {
    #[must_use]
    pub fn new(settings: BigQuerySettings) -> Self {
        Self { settings }
    }

    async fn client(&self) -> Result<Client, WarehouseError> {
        Client::new(&self.settings).await
    }

    fn dataset_of<'a>(&'a self, table: &'a TableName) -> &'a str {
        table.schema.as_deref().unwrap_or(&self.settings.server.schema)
    }

    fn qualified_in(&self, client: &Client, dataset: &str, name: &str) -> String {
        format!("{}.{}.{}", quote(client.project()), quote(dataset), quote(name))
    }

    fn qualified(&self, client: &Client, table: &TableName) -> String {
        self.qualified_in(client, self.dataset_of(table), &table.name)
    }

    async fn rows_of(&self, client: &Client, sql: &str) -> Result<Vec<Vec<Value>>, WarehouseError> {
        let mut answer = client.run(sql).await?;
        let mut rows = Vec::new();
        while let Some(page) = client.next_rows(&mut answer).await? {
            rows.extend(page);
        }
        Ok(rows)
    }

    /// The dataset's base tables.
    async fn table_names(&self, client: &Client, dataset: &str) -> Result<Vec<String>, WarehouseError> {
        let sql = format!(
            "SELECT table_name FROM {}.{}.INFORMATION_SCHEMA.TABLES WHERE table_type = 'BASE TABLE' ORDER BY 1",
            quote(client.project()),
            quote(dataset)
        );
        let rows = self.rows_of(client, &sql).await?;
        Ok(rows.iter().filter_map(|r| r.first().and_then(Value::as_str).map(str::to_string)).collect())
    }

    /// The declared decimals of an existing table's columns a load writes.
    fn declared(&self, fields: &[FieldSchema], columns: &[Column]) -> Vec<Option<(u32, u32)>> {
        let kinds: Vec<_> = fields.iter().map(|f| (f.name.clone(), kind_of(f))).collect();
        declared_decimals(columns, &kinds)
    }

    async fn described(&self, client: &Client, table: &TableName) -> Result<Option<Vec<FieldSchema>>, WarehouseError> {
        if !self.table_names(client, self.dataset_of(table)).await?.contains(&table.name) {
            return Ok(None);
        }
        let answer = client.run(&format!("SELECT * FROM {} LIMIT 0", self.qualified(client, table))).await?;
        Ok(Some(answer.fields))
    }
}

#[async_trait]
impl Warehouse for BigQueryWarehouse {
    fn platform(&self) -> &'static str {
        "bigquery"
    }

    async fn ping(&self) -> Result<(), WarehouseError> {
        let client = self.client().await?;
        self.rows_of(&client, "SELECT 1").await?;
        self.table_names(&client, &self.settings.server.schema).await.map_err(|e| {
            WarehouseError::Rejected(format!("dataset `{}` cannot be read: {e}", self.settings.server.schema))
        })?;
        Ok(())
    }

    async fn tables(&self) -> Result<Vec<TableName>, WarehouseError> {
        let client = self.client().await?;
        let dataset = &self.settings.server.schema;
        Ok(self
            .table_names(&client, dataset)
            .await?
            .into_iter()
            .filter(|name| !name.contains(BUILD_MARK))
            .map(|name| TableName { schema: Some(dataset.clone()), name })
            .collect())
    }

    async fn columns(&self, table: &TableName) -> Result<Option<Vec<Column>>, WarehouseError> {
        let client = self.client().await?;
        Ok(self.described(&client, table).await?.map(|fields| {
            fields
                .iter()
                .map(|f| Column {
                    name: f.name.clone(),
                    column_type: kind_of(f).column_type(),
                    nullable: f.mode.as_deref() != Some("REQUIRED"),
                })
                .collect()
        }))
    }

    async fn load(&self, target: &LoadTarget, rows: mpsc::Receiver<LoadItem>) -> Result<u64, WarehouseError> {
        let client = self.client().await?;
        let existing = self.described(&client, &target.table).await?;
        target.mode.check(&target.table, existing.is_some())?;
        let declared = match (&existing, target.mode) {
            (Some(fields), LoadMode::Append) => self.declared(fields, &target.columns),
            _ => vec![None; target.columns.len()],
        };
        let build = self.qualified_in(&client, self.dataset_of(&target.table), &build_name(&target.table.name));
        client.execute(&DIALECT.create_build(&build, &target.columns)).await?;
        let final_name = self.qualified(&client, &target.table);
        DIALECT.load_through(&client, &build, &final_name, target, &declared, rows).await
    }

    /// BigQuery reads the bucket with the connection's own service account (load jobs take no credential).
    fn pull_integration(&self) -> Option<String> {
        Some(self.settings.server.user.clone())
    }

    async fn drop_probe(&self, table: &TableName) -> Result<(), WarehouseError> {
        use super::staged::Statements;
        let client = self.client().await?;
        client.execute(&format!("DROP TABLE IF EXISTS {}", self.qualified(&client, table))).await
    }

    async fn pull(&self, target: &LoadTarget, source: &PullSource) -> Result<u64, WarehouseError> {
        self.pull_object(target, source).await
    }

    async fn query(&self, query: &ExportQuery, rows: mpsc::Sender<QueryItem>) -> Result<u64, WarehouseError> {
        let client = self.client().await?;
        let sql = export_statement(query, |t| self.qualified(&client, t))?;
        let mut answer = client.run(&sql).await?;
        let fields: Vec<Field> =
            answer.fields.iter().map(|f| Field { name: f.name.clone(), kind: kind_of(f) }).collect();
        let mut sink = RowSink::start(&rows, fields, "BigQuery").await?;
        while let Some(page) = client.next_rows(&mut answer).await? {
            for row in page {
                sink.push(&row, |kind, value, text| cell(kind, value.unwrap_or(&Value::Null), text)).await?;
            }
        }
        sink.finish().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn googlesql_literals_escape_what_a_single_quoted_string_cannot_hold() {
        assert_eq!(literal("it's a \\ line\nbreak\u{1}"), "'it\\'s a \\\\ line\\nbreak\\x01'");
        assert_eq!(quote("a`b"), "`a\\`b`");
    }

    #[test]
    fn decimals_are_numeric_until_they_need_bignumeric() {
        let t = |integer, scale| decimal_type("BigQuery", "a", DecimalShape { integer, scale }).ok();
        assert_eq!(t(20, 2).as_deref(), Some("NUMERIC(22,2)"));
        assert_eq!(t(20, 18).as_deref(), Some("BIGNUMERIC(38,18)"));
        assert_eq!(t(30, 0).as_deref(), Some("BIGNUMERIC(30,0)"));
        assert!(t(39, 0).is_none());
    }
}
