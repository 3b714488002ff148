//! Starburst / Trino, over Trino's client protocol ([`api`]): a catalog and schema where tables are loaded
//! (Iceberg, Delta Lake or Hive), the user byob runs as, a password over TLS when the cluster asks for one.
//! Trino has no transaction across statements for these connectors, so loads go through a build table put in
//! place by one statement ([`crate::warehouse::staged`]); a load Trino pulls reads the staged object through an
//! external table of the customer's Hive catalog ([`load`]).

mod api;
mod load;

use async_trait::async_trait;
use byob_core::table::{Column, TableName};
use serde_json::Value;
use tokio::sync::mpsc;

use self::api::{Client, TrinoColumn};
use super::{
    Cell, ExportQuery, Field, FieldKind, LoadItem, LoadTarget, PullSource, QueryItem, ServerSettings, Warehouse,
    WarehouseError,
    postgres_query::export_statement,
    push_span,
    sql::{BUILD_MARK, quote, string_literal},
    text_cells::{self, RowSink},
};

/// Where a Trino connection goes: the server settings (catalog as database) and, for loads Trino pulls, the
/// Hive catalog whose external tables read the customer's bucket.
#[derive(Debug, Clone)]
pub struct TrinoSettings {
    pub server: ServerSettings,
    pub external_catalog: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TrinoWarehouse {
    settings: TrinoSettings,
}

/// byob's kind for a Trino type (`decimal(12,2)`, `timestamp(6) with time zone`, `varchar(10)`, …).
fn kind_of(type_name: &str) -> FieldKind {
    let t = type_name.to_ascii_lowercase();
    let base = t.split('(').next().unwrap_or_default();
    match base {
        "bigint" => FieldKind::Int64,
        "integer" => FieldKind::Int32,
        "smallint" | "tinyint" => FieldKind::Int16,
        "double" => FieldKind::Float64,
        "real" => FieldKind::Float32,
        "decimal" => {
            let inner = t.trim_start_matches("decimal(").trim_end_matches(')');
            let mut parts = inner.split(',').map(|p| p.trim().parse::<u16>().ok());
            FieldKind::Decimal { precision: parts.next().flatten(), scale: parts.next().flatten() }
        }
        "boolean" => FieldKind::Boolean,
        "date" => FieldKind::Date,
        "timestamp" if t.ends_with("with time zone") => FieldKind::TimestampTz,
        "timestamp" => FieldKind::Timestamp,
        _ => FieldKind::Text,
    }
}

/// A value as Trino's JSON rows carry it: numbers and booleans as JSON, everything else as text (structured
/// values as their JSON).
fn cell(kind: FieldKind, value: &Value, text: &mut String) -> Result<Cell, String> {
    match (value, kind) {
        (Value::Null, _) => Ok(Cell::Null),
        (Value::String(s), _) => text_cells::cell(kind, s, text),
        (Value::Bool(b), FieldKind::Boolean) => Ok(Cell::Boolean(*b)),
        (Value::Number(n), FieldKind::Int16 | FieldKind::Int32 | FieldKind::Int64) => {
            n.as_i64().map(Cell::Integer).ok_or_else(|| format!("`{n}` is not a 64-bit integer"))
        }
        (Value::Number(n), FieldKind::Float32 | FieldKind::Float64) => {
            n.as_f64().map(Cell::Float).ok_or_else(|| format!("`{n}` is not a number"))
        }
        (Value::Number(n), FieldKind::Decimal { .. }) => Ok(Cell::Decimal(push_span(text, &n.to_string()))),
        (other, _) => Ok(Cell::Text(push_span(text, &other.to_string()))),
    }
}

impl TrinoWarehouse {
    #[must_use]
    pub fn new(settings: TrinoSettings) -> Self {
        Self { settings }
    }

    async fn client(&self) -> Result<Client, WarehouseError> {
        Client::new(&self.settings).await
    }

    fn schema_of<'a>(&'a self, table: &'a TableName) -> &'a str {
        table.schema.as_deref().unwrap_or(&self.settings.server.schema)
    }

    fn qualified_in(&self, catalog: &str, schema: &str, name: &str) -> String {
        format!("{}.{}.{}", quote(catalog), quote(schema), quote(name))
    }

    fn qualified(&self, table: &TableName) -> String {
        self.qualified_in(&self.settings.server.database, self.schema_of(table), &table.name)
    }

    /// Every row of a small result.
    async fn rows_of(&self, client: &Client, sql: &str) -> Result<Vec<Vec<Value>>, WarehouseError> {
        let mut answer = client.start(sql).await?;
        let mut rows = Vec::new();
        while let Some(page) = client.next_rows(&mut answer).await? {
            rows.extend(page);
        }
        Ok(rows)
    }

    async fn table_exists(&self, client: &Client, schema: &str, name: &str) -> Result<bool, WarehouseError> {
        let sql = format!(
            "SELECT table_name FROM {}.information_schema.tables WHERE table_schema = {} AND table_name = {}",
            quote(&self.settings.server.database),
            string_literal(schema),
            string_literal(name)
        );
        Ok(!self.rows_of(client, &sql).await?.is_empty())
    }

    /// A table's columns as Trino types them (`None`: no such table).
    async fn described(&self, client: &Client, table: &TableName) -> Result<Option<Vec<TrinoColumn>>, WarehouseError> {
        if !self.table_exists(client, self.schema_of(table), &table.name).await? {
            return Ok(None);
        }
        let mut answer = client.start(&format!("SELECT * FROM {} LIMIT 0", self.qualified(table))).await?;
        while client.next_rows(&mut answer).await?.is_some() {}
        Ok(Some(answer.columns))
    }
}

#[async_trait]
impl Warehouse for TrinoWarehouse {
    fn platform(&self) -> &'static str {
        "trino"
    }

    async fn ping(&self) -> Result<(), WarehouseError> {
        let client = self.client().await?;
        self.rows_of(&client, "SELECT 1").await?;
        let schema = &self.settings.server.schema;
        let sql = format!(
            "SELECT schema_name FROM {}.information_schema.schemata WHERE schema_name = {}",
            quote(&self.settings.server.database),
            string_literal(schema)
        );
        if self.rows_of(&client, &sql).await?.is_empty() {
            return Err(WarehouseError::Rejected(format!(
                "schema `{schema}` does not exist in catalog `{}`",
                self.settings.server.database
            )));
        }
        Ok(())
    }

    async fn tables(&self) -> Result<Vec<TableName>, WarehouseError> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT table_schema, table_name FROM {}.information_schema.tables WHERE table_schema <> \
             'information_schema' AND table_type = 'BASE TABLE' ORDER BY 1, 2",
            quote(&self.settings.server.database)
        );
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        Ok(self
            .rows_of(&client, &sql)
            .await?
            .iter()
            .filter_map(|r| Some(TableName { schema: text(r.first()), name: text(r.get(1))? }))
            .filter(|t| !t.name.contains(BUILD_MARK))
            .collect())
    }

    async fn columns(&self, table: &TableName) -> Result<Option<Vec<Column>>, WarehouseError> {
        let client = self.client().await?;
        Ok(self.described(&client, table).await?.map(|columns| {
            columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    column_type: kind_of(&c.type_name).column_type(),
                    nullable: true,
                })
                .collect()
        }))
    }

    async fn load(&self, target: &LoadTarget, rows: mpsc::Receiver<LoadItem>) -> Result<u64, WarehouseError> {
        self.load_rows(target, rows).await
    }

    fn pull_integration(&self) -> Option<String> {
        self.settings.external_catalog.clone()
    }

    async fn drop_probe(&self, table: &TableName) -> Result<(), WarehouseError> {
        self.client().await?.execute(&format!("DROP TABLE IF EXISTS {}", self.qualified(table))).await.map(|_| ())
    }

    async fn pull(&self, target: &LoadTarget, source: &PullSource) -> Result<u64, WarehouseError> {
        self.pull_object(target, source).await
    }

    async fn query(&self, query: &ExportQuery, rows: mpsc::Sender<QueryItem>) -> Result<u64, WarehouseError> {
        let sql = export_statement(query, |t| self.qualified(t))?;
        let client = self.client().await?;
        let mut answer = client.start(&sql).await?;
        let fields: Vec<Field> =
            answer.columns.iter().map(|c| Field { name: c.name.clone(), kind: kind_of(&c.type_name) }).collect();
        let mut sink = RowSink::start(&rows, fields, "Trino").await?;
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
    fn trino_types_map_to_byobs() {
        assert_eq!(kind_of("decimal(12,2)"), FieldKind::Decimal { precision: Some(12), scale: Some(2) });
        assert_eq!(kind_of("timestamp(6) with time zone"), FieldKind::TimestampTz);
        assert_eq!(kind_of("timestamp(3)"), FieldKind::Timestamp);
        assert_eq!(kind_of("varchar(10)"), FieldKind::Text);
        assert_eq!(kind_of("array(integer)"), FieldKind::Text);
        let mut text = String::new();
        assert_eq!(cell(FieldKind::Int64, &serde_json::json!(7), &mut text), Ok(Cell::Integer(7)));
        assert!(matches!(cell(FieldKind::Text, &serde_json::json!([1, 2]), &mut text), Ok(Cell::Text(_))));
        assert_eq!(text, "[1,2]");
    }
}
