//! Databricks SQL, over the Statement Execution API ([`api`]): a SQL warehouse named by the connection's
//! `http_path`, a personal access token (or a service principal's) as the password, Unity Catalog's
//! `catalog.schema.table` names. Databricks has no multi-statement transactions, so a load fills a table of its
//! own and puts it in place with one statement that Delta commits atomically ([`load`]); a load Databricks pulls
//! is `COPY INTO` that table from the one staged object ([`pull`]).

mod api;
mod load;
mod pull;

use async_trait::async_trait;
use byob_core::table::{Column, TableName};
use tokio::sync::mpsc;

use self::api::{Client, ColumnInfo, Disposition};
use super::{
    ExportQuery, Field, FieldKind, LoadItem, LoadTarget, PullSource, QueryItem, ServerSettings, Warehouse,
    WarehouseError,
    postgres_query::export_statement,
    pull::literal,
    sql::BUILD_MARK,
    text_cells::{self, RowSink},
};

/// Where a Databricks connection goes: the server settings (host, token as password, catalog as database,
/// schema) and the SQL warehouse statements run on.
#[derive(Debug, Clone)]
pub struct DatabricksSettings {
    pub server: ServerSettings,
    pub warehouse_id: String,
}

#[derive(Debug, Clone)]
pub struct DatabricksWarehouse {
    settings: DatabricksSettings,
}

/// `` `name` `` with inner backticks doubled.
pub(super) fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// byob's kind for a result column Databricks describes.
fn kind_of(c: &ColumnInfo) -> FieldKind {
    match c.type_name.as_str() {
        "BYTE" | "SHORT" => FieldKind::Int16,
        "INT" => FieldKind::Int32,
        "LONG" => FieldKind::Int64,
        "FLOAT" => FieldKind::Float32,
        "DOUBLE" => FieldKind::Float64,
        "DECIMAL" => FieldKind::Decimal { precision: c.type_precision, scale: c.type_scale },
        "BOOLEAN" => FieldKind::Boolean,
        "DATE" => FieldKind::Date,
        "TIMESTAMP_NTZ" => FieldKind::Timestamp,
        // Databricks' TIMESTAMP is an instant (shown in the session's zone, UTC unless set).
        "TIMESTAMP" => FieldKind::TimestampTz,
        _ => FieldKind::Text,
    }
}

impl DatabricksWarehouse {
    #[must_use]
    pub fn new(settings: DatabricksSettings) -> Self {
        Self { settings }
    }

    async fn client(&self) -> Result<Client, WarehouseError> {
        Client::new(&self.settings).await
    }

    fn schema_of<'a>(&'a self, table: &'a TableName) -> &'a str {
        table.schema.as_deref().unwrap_or(&self.settings.server.schema)
    }

    /// `catalog`.`schema`.`table`
    fn qualified_in(&self, schema: &str, name: &str) -> String {
        format!("{}.{}.{}", quote(&self.settings.server.database), quote(schema), quote(name))
    }

    fn qualified(&self, table: &TableName) -> String {
        self.qualified_in(self.schema_of(table), &table.name)
    }

    /// The rows of a small result, as text.
    async fn text_rows(&self, client: &Client, sql: &str) -> Result<Vec<Vec<Option<String>>>, WarehouseError> {
        let mut answer = client.run(sql, Disposition::Inline).await?;
        let mut rows = Vec::new();
        while let Some(chunk) = client.next_rows(&mut answer).await? {
            rows.extend(chunk);
        }
        Ok(rows)
    }

    async fn table_exists(&self, client: &Client, schema: &str, name: &str) -> Result<bool, WarehouseError> {
        let catalog = quote(&self.settings.server.database);
        let sql = format!(
            "SELECT table_name FROM {catalog}.information_schema.tables WHERE table_schema = {} AND table_name = {}",
            literal(schema),
            literal(name)
        );
        Ok(!self.text_rows(client, &sql).await?.is_empty())
    }

    /// The columns of a table as Databricks types them (`None`: no such table).
    async fn described(&self, client: &Client, table: &TableName) -> Result<Option<Vec<ColumnInfo>>, WarehouseError> {
        if !self.table_exists(client, self.schema_of(table), &table.name).await? {
            return Ok(None);
        }
        let answer =
            client.run(&format!("SELECT * FROM {} LIMIT 0", self.qualified(table)), Disposition::Inline).await?;
        Ok(Some(answer.columns))
    }
}

#[async_trait]
impl Warehouse for DatabricksWarehouse {
    fn platform(&self) -> &'static str {
        "databricks"
    }

    async fn ping(&self) -> Result<(), WarehouseError> {
        let client = self.client().await?;
        self.text_rows(&client, "SELECT 1").await?;
        let catalog = quote(&self.settings.server.database);
        let schema = &self.settings.server.schema;
        let found = self
            .text_rows(
                &client,
                &format!(
                    "SELECT schema_name FROM {catalog}.information_schema.schemata WHERE schema_name = {}",
                    literal(schema)
                ),
            )
            .await?;
        if found.is_empty() {
            return Err(WarehouseError::Rejected(format!(
                "schema `{schema}` does not exist in catalog `{}`",
                self.settings.server.database
            )));
        }
        Ok(())
    }

    async fn tables(&self) -> Result<Vec<TableName>, WarehouseError> {
        let client = self.client().await?;
        let catalog = quote(&self.settings.server.database);
        let rows = self
            .text_rows(
                &client,
                &format!(
                    "SELECT table_schema, table_name FROM {catalog}.information_schema.tables WHERE table_schema <> \
                     'information_schema' AND table_type <> 'VIEW' ORDER BY 1, 2"
                ),
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let mut r = r.into_iter();
                Some(TableName { schema: r.next().flatten(), name: r.next().flatten()? })
            })
            .filter(|t| !t.name.contains(BUILD_MARK))
            .collect())
    }

    async fn columns(&self, table: &TableName) -> Result<Option<Vec<Column>>, WarehouseError> {
        let client = self.client().await?;
        Ok(self.described(&client, table).await?.map(|columns| {
            columns
                .iter()
                .map(|c| Column { name: c.name.clone(), column_type: kind_of(c).column_type(), nullable: true })
                .collect()
        }))
    }

    async fn load(&self, target: &LoadTarget, rows: mpsc::Receiver<LoadItem>) -> Result<u64, WarehouseError> {
        self.load_rows(target, rows).await
    }

    async fn drop_probe(&self, table: &TableName) -> Result<(), WarehouseError> {
        use super::staged::Statements;
        self.client().await?.execute(&format!("DROP TABLE IF EXISTS {}", self.qualified(table))).await
    }

    async fn pull(&self, target: &LoadTarget, source: &PullSource) -> Result<u64, WarehouseError> {
        self.pull_object(target, source).await
    }

    async fn query(&self, query: &ExportQuery, rows: mpsc::Sender<QueryItem>) -> Result<u64, WarehouseError> {
        let sql = export_statement(query, |t| self.qualified(t))?;
        let client = self.client().await?;
        let mut answer = client.run(&sql, Disposition::ExternalLinks).await?;
        let fields: Vec<Field> =
            answer.columns.iter().map(|c| Field { name: c.name.clone(), kind: kind_of(c) }).collect();
        let mut sink = RowSink::start(&rows, fields, "Databricks").await?;
        while let Some(chunk) = client.next_rows(&mut answer).await? {
            for row in chunk {
                sink.push(&row, |kind, value, text| match value.and_then(Option::as_deref) {
                    None => Ok(super::Cell::Null),
                    Some(value) => text_cells::cell(kind, value, text),
                })
                .await?;
            }
        }
        sink.finish().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_backticks() {
        assert_eq!(quote("order `id`"), "`order ``id```");
    }
}
