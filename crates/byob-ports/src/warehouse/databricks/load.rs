//! Loads into Databricks, through a build table put in place by one statement Delta commits atomically
//! ([`crate::warehouse::staged`]). The build table is dropped however the load ends.

use async_trait::async_trait;
use byob_core::table::ColumnType;
use tokio::sync::mpsc;

use super::{
    DatabricksWarehouse,
    api::{Client, Disposition},
    quote,
};
use crate::warehouse::{
    LoadItem, LoadMode, LoadTarget, WarehouseError,
    decimal::DecimalShape,
    pull::literal,
    sql::build_name,
    staged::{Dialect, Statements, decimal_38, declared_decimals, split_part_shape},
};

/// The type a build table's column has.
fn build_type(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Integer => "BIGINT",
        ColumnType::Decimal | ColumnType::Text => "STRING",
        ColumnType::Boolean => "BOOLEAN",
        ColumnType::Date => "DATE",
        ColumnType::Timestamp => "TIMESTAMP_NTZ",
        ColumnType::TimestampTz => "TIMESTAMP",
    }
}

pub(super) const DIALECT: Dialect = Dialect {
    platform: "Databricks",
    quote,
    literal,
    table_options: " USING DELTA",
    build_type,
    timestamp: ("TIMESTAMP_NTZ '", "'"),
    instant: ("TIMESTAMP '", "+00:00'"),
    // Databricks takes statements up to 16 MiB.
    decimal_type: decimal_38,
    shape_of: split_part_shape,
    max_statement: 4 << 20,
};

#[async_trait]
impl Statements for Client {
    async fn execute(&self, sql: &str) -> Result<(), WarehouseError> {
        self.run(sql, Disposition::Inline).await.map(|_| ())
    }

    async fn first_row(&self, sql: &str) -> Result<Vec<Option<String>>, WarehouseError> {
        let mut answer = self.run(sql, Disposition::Inline).await?;
        let rows = self.next_rows(&mut answer).await?.unwrap_or_default();
        Ok(rows.into_iter().next().unwrap_or_default())
    }
}

impl DatabricksWarehouse {
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
        let kinds: Vec<_> = described.iter().map(|d| (d.name.clone(), super::kind_of(d))).collect();
        Ok(declared_decimals(&target.columns, &kinds))
    }

    /// Checks the mode against the table and makes the build table; returns its name and the declared decimals.
    pub(super) async fn begin_load(
        &self,
        client: &Client,
        target: &LoadTarget,
    ) -> Result<(String, Vec<Option<(u32, u32)>>), WarehouseError> {
        let schema = self.schema_of(&target.table).to_string();
        let exists = self.table_exists(client, &schema, &target.table.name).await?;
        target.mode.check(&target.table, exists)?;
        let declared = self.declared_decimals(client, target).await?;
        let build = self.qualified_in(&schema, &build_name(&target.table.name));
        client.execute(&DIALECT.create_build(&build, &target.columns)).await?;
        Ok((build, declared))
    }

    /// Puts the build table's rows in place, each decimal column as its rows (or the table) need.
    pub(super) async fn place(
        &self,
        client: &Client,
        target: &LoadTarget,
        build: &str,
        shapes: &[DecimalShape],
        declared: &[Option<(u32, u32)>],
    ) -> Result<(), WarehouseError> {
        let decimals = DIALECT.decimal_types(&target.columns, shapes, declared)?;
        let select = DIALECT.build_select(&target.columns, &decimals);
        let place =
            DIALECT.place_statement(&self.qualified(&target.table), build, target.mode, &target.columns, &select);
        client.execute(&place).await
    }

    pub(super) async fn load_rows(
        &self,
        target: &LoadTarget,
        rows: mpsc::Receiver<LoadItem>,
    ) -> Result<u64, WarehouseError> {
        let client = self.client().await?;
        let (build, declared) = self.begin_load(&client, target).await?;
        DIALECT.load_through(&client, &build, &self.qualified(&target.table), target, &declared, rows).await
    }
}

#[cfg(test)]
mod tests {
    use byob_core::table::Column;

    use super::*;

    fn columns() -> Vec<Column> {
        vec![
            Column { name: "id".into(), column_type: ColumnType::Integer, nullable: false },
            Column { name: "amount".into(), column_type: ColumnType::Decimal, nullable: true },
        ]
    }

    #[test]
    fn rows_are_put_in_place_by_one_statement_per_mode() {
        let select = DIALECT.build_select(&columns(), &[None, Some("DECIMAL(22,2)".to_string())]);
        let place = |mode| DIALECT.place_statement("`main`.`s`.`t`", "`main`.`s`.`b`", mode, &columns(), &select);
        let from = "SELECT `id`, CAST(`amount` AS DECIMAL(22,2)) AS `amount` FROM `main`.`s`.`b`";
        assert_eq!(place(LoadMode::Create), format!("CREATE TABLE `main`.`s`.`t` USING DELTA AS {from}"));
        assert_eq!(place(LoadMode::Replace), format!("CREATE OR REPLACE TABLE `main`.`s`.`t` USING DELTA AS {from}"));
        assert_eq!(place(LoadMode::Append), format!("INSERT INTO `main`.`s`.`t` (`id`, `amount`) {from}"));
        assert_eq!(
            DIALECT.create_build("`main`.`s`.`b`", &columns()),
            "CREATE TABLE `main`.`s`.`b` (`id` BIGINT, `amount` STRING) USING DELTA"
        );
    }
}
