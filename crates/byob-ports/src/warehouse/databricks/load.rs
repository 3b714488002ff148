//! Loads into Databricks. With no transaction across statements, every load fills a table of its own —
//! `{table}__byob_{random}`, decimals as `STRING` while byob tracks each column's widest value — with
//! multi-row `INSERT … VALUES` statements of literals, then puts the rows in place with one statement Delta
//! commits atomically: `CREATE TABLE … AS SELECT` (`create`), `CREATE OR REPLACE TABLE … AS SELECT`
//! (`replace`), `INSERT INTO … SELECT` (`append`), decimals cast to the precision and scale their rows need (or
//! the existing column's, refusing a value it would round). The build table is dropped however the load ends.

use std::fmt::Write as _;

use byob_core::table::{Column, ColumnType};
use tokio::sync::mpsc;

use super::{
    DatabricksWarehouse,
    api::{Client, Disposition},
    quote,
};
use crate::warehouse::{
    Batch, Cell, LoadItem, LoadMode, LoadTarget, WarehouseError,
    decimal::DecimalShape,
    next_batch,
    pull::literal,
    sql::build_name,
    text::{push_date, push_datetime},
};

/// The text of one `INSERT` before it is sent (Databricks takes statements up to 16 MiB).
const MAX_STATEMENT: usize = 4 << 20;

/// The type a build table's column has.
pub(super) fn build_type(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Integer => "BIGINT",
        ColumnType::Decimal | ColumnType::Text => "STRING",
        ColumnType::Boolean => "BOOLEAN",
        ColumnType::Date => "DATE",
        ColumnType::Timestamp => "TIMESTAMP_NTZ",
        ColumnType::TimestampTz => "TIMESTAMP",
    }
}

pub(super) fn create_build(build: &str, columns: &[Column]) -> String {
    let defs: Vec<String> =
        columns.iter().map(|c| format!("{} {}", quote(&c.name), build_type(c.column_type))).collect();
    format!("CREATE TABLE {build} ({}) USING DELTA", defs.join(", "))
}

pub(super) fn column_list(columns: &[Column]) -> String {
    columns.iter().map(|c| quote(&c.name)).collect::<Vec<_>>().join(", ")
}

/// A cell as a Databricks SQL literal.
fn push_literal(out: &mut String, cell: &Cell, batch: &Batch) {
    // Writing to a String cannot fail.
    let _ = match cell {
        Cell::Null => write!(out, "NULL"),
        Cell::Integer(v) => write!(out, "{v}"),
        Cell::Float(v) => write!(out, "{v}"),
        Cell::Decimal(s) | Cell::Text(s) => write!(out, "{}", literal(batch.str(*s))),
        Cell::Boolean(v) => write!(out, "{}", if *v { "TRUE" } else { "FALSE" }),
        Cell::Date(d) => {
            out.push_str("DATE '");
            push_date(out, *d);
            write!(out, "'")
        }
        Cell::Timestamp(t) => {
            out.push_str("TIMESTAMP_NTZ '");
            push_datetime(out, *t, ' ');
            write!(out, "'")
        }
        Cell::TimestampTz(t) => {
            out.push_str("TIMESTAMP '");
            push_datetime(out, t.naive_utc(), ' ');
            write!(out, "+00:00'")
        }
    };
}

/// The statement that puts the build table's rows in place, with each decimal column's type.
pub(super) fn place_statement(
    final_name: &str,
    build: &str,
    mode: LoadMode,
    columns: &[Column],
    decimals: &[Option<String>],
) -> String {
    let select: Vec<String> = columns
        .iter()
        .zip(decimals)
        .map(|(c, decimal)| match decimal {
            Some(t) => format!("CAST({} AS {t}) AS {}", quote(&c.name), quote(&c.name)),
            None => quote(&c.name),
        })
        .collect();
    let select = format!("SELECT {} FROM {build}", select.join(", "));
    match mode {
        LoadMode::Create => format!("CREATE TABLE {final_name} USING DELTA AS {select}"),
        LoadMode::Replace => format!("CREATE OR REPLACE TABLE {final_name} USING DELTA AS {select}"),
        LoadMode::Append => format!("INSERT INTO {final_name} ({}) {select}", column_list(columns)),
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
        Ok(target
            .columns
            .iter()
            .map(|c| {
                let declared = described.iter().find(|d| d.name == c.name && d.type_name == "DECIMAL")?;
                Some((u32::from(declared.type_precision?), u32::from(declared.type_scale?)))
            })
            .collect())
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
        client.run(&create_build(&build, &target.columns), Disposition::Inline).await?;
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
        let mut decimals = Vec::with_capacity(target.columns.len());
        for ((c, shape), declared) in target.columns.iter().zip(shapes).zip(declared) {
            decimals.push(match (c.column_type, declared) {
                (ColumnType::Decimal, Some((p, s))) if shape.fits(*p, *s) => Some(format!("DECIMAL({p},{s})")),
                (ColumnType::Decimal, Some((p, s))) => {
                    return Err(WarehouseError::Rejected(format!(
                        "column `{}` is DECIMAL({p},{s}) and the rows hold values with {} digits after the point; \
                         Databricks would round them",
                        c.name, shape.scale
                    )));
                }
                (ColumnType::Decimal, None) => Some(shape.sql_type("Databricks", &c.name)?),
                _ => None,
            });
        }
        let final_name = self.qualified(&target.table);
        client
            .run(&place_statement(&final_name, build, target.mode, &target.columns, &decimals), Disposition::Inline)
            .await?;
        Ok(())
    }

    pub(super) async fn load_rows(
        &self,
        target: &LoadTarget,
        rows: mpsc::Receiver<LoadItem>,
    ) -> Result<u64, WarehouseError> {
        let client = self.client()?;
        let (build, declared) = self.begin_load(&client, target).await?;
        let loaded = self.fill_and_place(&client, target, &build, &declared, rows).await;
        // The build table goes however the load ended (its rows were copied into place on success).
        let dropped = client.run(&format!("DROP TABLE IF EXISTS {build}"), Disposition::Inline).await;
        if let (Ok(_), Err(e)) = (&loaded, dropped) {
            tracing::warn!(error = %e, "a Databricks build table could not be dropped");
        }
        loaded
    }

    async fn fill_and_place(
        &self,
        client: &Client,
        target: &LoadTarget,
        build: &str,
        declared: &[Option<(u32, u32)>],
        mut rows: mpsc::Receiver<LoadItem>,
    ) -> Result<u64, WarehouseError> {
        let width = target.columns.len().max(1);
        let head = format!("INSERT INTO {build} ({}) VALUES ", column_list(&target.columns));
        let mut sql = head.clone();
        let mut pending = 0usize;
        let mut written = 0u64;
        let mut shapes = vec![DecimalShape::default(); width];
        while let Some(batch) = next_batch(&mut rows).await? {
            for row in batch.cells.chunks(width) {
                sql.push_str(if pending == 0 { "(" } else { ", (" });
                for (i, cell) in row.iter().enumerate() {
                    if let Cell::Decimal(span) = cell {
                        shapes[i].fit(batch.str(*span));
                    }
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    push_literal(&mut sql, cell, &batch);
                }
                sql.push(')');
                pending += 1;
                written += 1;
                if sql.len() >= MAX_STATEMENT {
                    client.run(&sql, Disposition::Inline).await?;
                    sql.truncate(head.len());
                    pending = 0;
                }
            }
            batch.done();
        }
        if pending > 0 {
            client.run(&sql, Disposition::Inline).await?;
        }
        self.place(client, target, build, &shapes, declared).await?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Vec<Column> {
        vec![
            Column { name: "id".into(), column_type: ColumnType::Integer, nullable: false },
            Column { name: "amount".into(), column_type: ColumnType::Decimal, nullable: true },
        ]
    }

    #[test]
    fn rows_are_put_in_place_by_one_statement_per_mode() {
        let decimals = [None, Some("DECIMAL(22,2)".to_string())];
        let place = |mode| place_statement("`main`.`s`.`t`", "`main`.`s`.`b`", mode, &columns(), &decimals);
        let select = "SELECT `id`, CAST(`amount` AS DECIMAL(22,2)) AS `amount` FROM `main`.`s`.`b`";
        assert_eq!(place(LoadMode::Create), format!("CREATE TABLE `main`.`s`.`t` USING DELTA AS {select}"));
        assert_eq!(place(LoadMode::Replace), format!("CREATE OR REPLACE TABLE `main`.`s`.`t` USING DELTA AS {select}"));
        assert_eq!(place(LoadMode::Append), format!("INSERT INTO `main`.`s`.`t` (`id`, `amount`) {select}"));
        assert_eq!(
            create_build("`main`.`s`.`b`", &columns()),
            "CREATE TABLE `main`.`s`.`b` (`id` BIGINT, `amount` STRING) USING DELTA"
        );
    }
}
