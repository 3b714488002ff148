//! Loads into Trino. Streamed rows go through a build table put in place by one statement
//! ([`crate::warehouse::staged`]). A load Trino pulls reads the staged object where it lies: byob declares an
//! external table over the object's folder in the customer's Hive catalog (`external_catalog`; Trino reads the
//! bucket with that catalog's own credentials, so byob vends none), puts its rows in place with one
//! `CREATE TABLE … AS SELECT` / `CREATE OR REPLACE TABLE … AS SELECT` / `INSERT INTO … SELECT` that converts each
//! column from the CSV's text, and drops the external table (the object stays).

use byob_core::table::{Column, ColumnType};
use tokio::sync::mpsc;

use super::{TrinoWarehouse, api::Client};
use crate::warehouse::{
    LoadItem, LoadMode, LoadTarget, PullCredentials, PullSource, WarehouseError,
    sql::{build_name, quote, string_literal},
    staged::{Dialect, Statements, decimal_38, declared_decimals, split_part_shape},
};

fn build_type(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Integer => "BIGINT",
        ColumnType::Decimal | ColumnType::Text => "VARCHAR",
        ColumnType::Boolean => "BOOLEAN",
        ColumnType::Date => "DATE",
        ColumnType::Timestamp => "TIMESTAMP(6)",
        ColumnType::TimestampTz => "TIMESTAMP(6) WITH TIME ZONE",
    }
}

pub(super) const DIALECT: Dialect = Dialect {
    platform: "Trino",
    quote,
    literal: string_literal,
    table_options: "",
    build_type,
    timestamp: ("TIMESTAMP '", "'"),
    instant: ("CAST('", " UTC' AS TIMESTAMP(6) WITH TIME ZONE)"),
    // Trino refuses statements longer than `query.max-length`, 1,000,000 characters unless raised; a row may
    // end a little past this.
    decimal_type: decimal_38,
    shape_of: split_part_shape,
    max_statement: 900_000,
};

#[async_trait::async_trait]
impl Statements for Client {
    async fn execute(&self, sql: &str) -> Result<(), WarehouseError> {
        Client::execute(self, sql).await.map(|_| ())
    }

    async fn first_row(&self, sql: &str) -> Result<Vec<Option<String>>, WarehouseError> {
        let mut answer = self.start(sql).await?;
        let mut first = None;
        while let Some(page) = self.next_rows(&mut answer).await? {
            if first.is_none() {
                first = page.into_iter().next();
            }
        }
        let text = |v: serde_json::Value| match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s),
            other => Some(other.to_string()),
        };
        Ok(first.unwrap_or_default().into_iter().map(text).collect())
    }
}

/// The external table over the staged object's folder: every column text, the CSV as byob inspected it.
pub(super) fn external_table(name: &str, columns: &[Column], source: &PullSource) -> Result<String, WarehouseError> {
    // Trino's Hive connector names Azure blobs as Hadoop does (`abfss://container@account.dfs…/key`).
    let url = crate::warehouse::pull::abfss_url(&source.url).unwrap_or_else(|| source.url.clone());
    let Some((folder, _)) = url.rsplit_once('/') else {
        return Err(WarehouseError::Unsupported(format!("`{}` is not an object URL", source.url)));
    };
    let defs: Vec<String> = columns.iter().map(|c| format!("{} VARCHAR", quote(&c.name))).collect();
    let format = &source.format;
    Ok(format!(
        "CREATE TABLE {name} ({}) WITH (external_location = {}, format = 'CSV', skip_header_line_count = {}, \
         csv_separator = {}, csv_quote = '\"', csv_escape = '\"')",
        defs.join(", "),
        string_literal(&format!("{folder}/")),
        u8::from(format.header),
        string_literal(&char::from(format.delimiter).to_string()),
    ))
}

/// Each column of the external table converted from the CSV's text: the load's NULL strings are NULL.
pub(super) fn converted(columns: &[Column], decimals: &[Option<String>], null_tokens: &[String]) -> Vec<String> {
    let nulls: Vec<String> = null_tokens.iter().map(|t| string_literal(t)).collect();
    columns
        .iter()
        .zip(decimals)
        .map(|(c, decimal)| {
            let v = quote(&c.name);
            let value = match (c.column_type, decimal) {
                (ColumnType::Decimal, Some(t)) => format!("CAST(TRIM({v}) AS {t})"),
                (ColumnType::TimestampTz, _) => {
                    format!("CAST(from_iso8601_timestamp_nanos(TRIM({v})) AS TIMESTAMP(6) WITH TIME ZONE)")
                }
                (ColumnType::Text, _) => v.clone(),
                (other, _) => format!("CAST(TRIM({v}) AS {})", build_type(other)),
            };
            if nulls.is_empty() {
                format!("{value} AS {v}")
            } else {
                format!("CASE WHEN {v} IN ({}) THEN NULL ELSE {value} END AS {v}", nulls.join(", "))
            }
        })
        .collect()
}

impl TrinoWarehouse {
    /// The declared `DECIMAL(p,s)` of each column an append writes (`None` for other columns).
    async fn declared_decimals(
        &self,
        client: &Client,
        target: &LoadTarget,
    ) -> Result<Vec<Option<(u32, u32)>>, WarehouseError> {
        if target.mode != LoadMode::Append {
            return Ok(vec![None; target.columns.len()]);
        }
        let described = self
            .described(client, &target.table)
            .await?
            .ok_or_else(|| WarehouseError::TableMissing(target.table.to_string()))?;
        let kinds: Vec<_> = described.iter().map(|d| (d.name.clone(), super::kind_of(&d.type_name))).collect();
        Ok(declared_decimals(&target.columns, &kinds))
    }

    async fn begin(&self, client: &Client, target: &LoadTarget) -> Result<Vec<Option<(u32, u32)>>, WarehouseError> {
        let exists = self.table_exists(client, self.schema_of(&target.table), &target.table.name).await?;
        target.mode.check(&target.table, exists)?;
        self.declared_decimals(client, target).await
    }

    pub(super) async fn load_rows(
        &self,
        target: &LoadTarget,
        rows: mpsc::Receiver<LoadItem>,
    ) -> Result<u64, WarehouseError> {
        let client = self.client().await?;
        let declared = self.begin(&client, target).await?;
        let schema = self.schema_of(&target.table);
        let build = self.qualified_in(&self.settings.server.database, schema, &build_name(&target.table.name));
        Statements::execute(&client, &DIALECT.create_build(&build, &target.columns)).await?;
        DIALECT.load_through(&client, &build, &self.qualified(&target.table), target, &declared, rows).await
    }

    pub(super) async fn pull_object(&self, target: &LoadTarget, source: &PullSource) -> Result<u64, WarehouseError> {
        let (Some(catalog), PullCredentials::Integration(_)) = (&self.settings.external_catalog, &source.credentials)
        else {
            return Err(WarehouseError::Unsupported(
                "Trino reads the bucket through the connection's `external_catalog`, and it names none".into(),
            ));
        };
        let client = self.client().await?;
        let declared = self.begin(&client, target).await?;
        let external = self.qualified_in(catalog, self.schema_of(&target.table), &build_name(&target.table.name));
        Statements::execute(&client, &external_table(&external, &target.columns, source)?).await?;
        let loaded = async {
            let shapes = DIALECT.shapes_in(&client, &external, &target.columns).await?;
            let decimals = DIALECT.decimal_types(&target.columns, &shapes, &declared)?;
            let select = converted(&target.columns, &decimals, &source.format.null_tokens);
            let place = DIALECT.place_statement(
                &self.qualified(&target.table),
                &external,
                target.mode,
                &target.columns,
                &select,
            );
            Ok(client.execute(&place).await?.unwrap_or(0))
        }
        .await;
        // Dropping an external table leaves its files: the staged object stays where it is.
        Statements::execute(&client, &format!("DROP TABLE IF EXISTS {external}")).await.ok();
        loaded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::PullFormat;

    fn columns() -> Vec<Column> {
        vec![
            Column { name: "id".into(), column_type: ColumnType::Integer, nullable: false },
            Column { name: "amount".into(), column_type: ColumnType::Decimal, nullable: true },
            Column { name: "at".into(), column_type: ColumnType::TimestampTz, nullable: true },
        ]
    }

    #[test]
    fn a_pulled_load_is_exactly_an_external_table_and_one_statement() {
        let source = PullSource {
            url: "s3://acme-data/tenants/acme/uploads/upl_1/it's.csv".into(),
            region: None,
            credentials: PullCredentials::Integration("hive".into()),
            format: PullFormat { delimiter: b';', header: true, null_tokens: vec![String::new(), "NA".into()] },
        };
        assert_eq!(
            external_table("\"hive\".\"s\".\"t__byob_1\"", &columns(), &source).ok().as_deref(),
            Some(
                "CREATE TABLE \"hive\".\"s\".\"t__byob_1\" (\"id\" VARCHAR, \"amount\" VARCHAR, \"at\" VARCHAR) WITH \
                 (external_location = 's3://acme-data/tenants/acme/uploads/upl_1/', format = 'CSV', \
                 skip_header_line_count = 1, csv_separator = ';', csv_quote = '\"', csv_escape = '\"')"
            )
        );
        let select = converted(&columns(), &[None, Some("DECIMAL(12,2)".into()), None], &source.format.null_tokens);
        assert_eq!(
            DIALECT.place_statement(
                "\"iceberg\".\"s\".\"t\"",
                "\"hive\".\"s\".\"t__byob_1\"",
                LoadMode::Create,
                &columns(),
                &select
            ),
            "CREATE TABLE \"iceberg\".\"s\".\"t\" AS SELECT CASE WHEN \"id\" IN ('', 'NA') THEN NULL ELSE CAST(TRIM(\"id\") AS \
             BIGINT) END AS \"id\", CASE WHEN \"amount\" IN ('', 'NA') THEN NULL ELSE CAST(TRIM(\"amount\") AS DECIMAL(12,2)) \
             END AS \"amount\", CASE WHEN \"at\" IN ('', 'NA') THEN NULL ELSE CAST(from_iso8601_timestamp_nanos(TRIM(\"at\")) AS \
             TIMESTAMP(6) WITH TIME ZONE) END AS \"at\" FROM \"hive\".\"s\".\"t__byob_1\""
        );
    }

    #[test]
    fn a_blob_on_azure_is_read_through_its_abfss_folder() {
        let source = PullSource {
            url: "azure://acme.blob.core.windows.net/data/tenants/acme/upl_1/t.csv".into(),
            region: None,
            credentials: PullCredentials::Integration("hive".into()),
            format: PullFormat { delimiter: b',', header: false, null_tokens: vec![String::new()] },
        };
        let table = external_table("\"hive\".\"s\".\"b\"", &columns(), &source).unwrap_or_default();
        assert!(
            table.contains("external_location = 'abfss://data@acme.dfs.core.windows.net/tenants/acme/upl_1/'"),
            "{table}"
        );
    }

    #[test]
    fn streamed_rows_are_trino_literals() {
        assert_eq!(
            DIALECT.create_build("\"c\".\"s\".\"b\"", &columns()),
            "CREATE TABLE \"c\".\"s\".\"b\" (\"id\" BIGINT, \"amount\" VARCHAR, \"at\" TIMESTAMP(6) WITH TIME ZONE)"
        );
    }
}
