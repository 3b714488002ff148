//! Loads into platforms with no transaction across statements (Databricks, Trino): every load fills a table of
//! its own — `{table}__byob_{random}`, decimals as text while byob tracks each column's widest value — with
//! multi-row `INSERT … VALUES` statements of literals, then puts the rows in place with **one** statement the
//! platform commits atomically: `CREATE TABLE … AS SELECT` (`create`), `CREATE OR REPLACE TABLE … AS SELECT`
//! (`replace`), `INSERT INTO … SELECT` (`append`), decimals cast to the precision and scale their rows need (or
//! the existing column's, refusing a value it would round). What differs per platform is its [`Dialect`].

use std::fmt::Write as _;

use async_trait::async_trait;
use byob_core::table::{Column, ColumnType};
use tokio::sync::mpsc;

use super::{
    Batch, Cell, LoadItem, LoadMode, LoadTarget, WarehouseError,
    decimal::DecimalShape,
    next_batch,
    text::{push_date, push_datetime},
};

/// How a platform that loads through a build table writes SQL.
#[derive(Debug)]
pub(super) struct Dialect {
    /// As messages name it: `Databricks`.
    pub platform: &'static str,
    pub quote: fn(&str) -> String,
    /// A string literal.
    pub literal: fn(&str) -> String,
    /// What follows a new table's name (Databricks: ` USING DELTA`).
    pub table_options: &'static str,
    /// The type of a build table's column (decimals as text).
    pub build_type: fn(ColumnType) -> &'static str,
    /// What goes before and after a local timestamp's text (`YYYY-MM-DD HH:MM:SS[.f]`) to make its literal.
    pub timestamp: (&'static str, &'static str),
    /// The same for an instant, its text in UTC without a zone.
    pub instant: (&'static str, &'static str),
    /// The text of one `INSERT` before it is sent.
    pub max_statement: usize,
    /// The decimal type that holds a column's values as written, or why the platform has none.
    pub decimal_type: fn(&str, &str, DecimalShape) -> Result<String, WarehouseError>,
    /// The digits before and after the point of a decimal's text `v`, as two expressions.
    pub shape_of: fn(&str) -> [String; 2],
}

/// [`Dialect::shape_of`] with `SPLIT_PART` and `POSITION` (Databricks, Trino).
pub(super) fn split_part_shape(v: &str) -> [String; 2] {
    [
        format!("LENGTH(SPLIT_PART(REPLACE(REPLACE({v}, '-', ''), '+', ''), '.', 1))"),
        format!("CASE WHEN POSITION('.' IN {v}) > 0 THEN LENGTH(SPLIT_PART({v}, '.', 2)) ELSE 0 END"),
    ]
}

/// `DECIMAL(p,s)` up to 38 digits (Databricks, Trino).
pub(super) fn decimal_38(platform: &str, column: &str, shape: DecimalShape) -> Result<String, WarehouseError> {
    shape.sql_type(platform, column)
}

/// The declared `DECIMAL(p,s)` of each column an append writes, from the table's columns and kinds (`None` for
/// columns that are not decimals).
pub(super) fn declared_decimals(columns: &[Column], table: &[(String, super::FieldKind)]) -> Vec<Option<(u32, u32)>> {
    columns
        .iter()
        .map(|c| table.iter().find(|(name, _)| *name == c.name).and_then(|(_, kind)| kind.declared_decimal()))
        .collect()
}

/// Statements run on the platform.
#[async_trait]
pub(super) trait Statements: Send + Sync {
    /// Runs one statement to its end.
    async fn execute(&self, sql: &str) -> Result<(), WarehouseError>;
    /// The first row of a small query, as text.
    async fn first_row(&self, sql: &str) -> Result<Vec<Option<String>>, WarehouseError>;
}

impl Dialect {
    pub(super) fn column_list(&self, columns: &[Column]) -> String {
        columns.iter().map(|c| (self.quote)(&c.name)).collect::<Vec<_>>().join(", ")
    }

    pub(super) fn create_build(&self, build: &str, columns: &[Column]) -> String {
        let defs: Vec<String> =
            columns.iter().map(|c| format!("{} {}", (self.quote)(&c.name), (self.build_type)(c.column_type))).collect();
        format!("CREATE TABLE {build} ({}){}", defs.join(", "), self.table_options)
    }

    /// The build table's columns as the table receives them: decimals cast to their type.
    pub(super) fn build_select(&self, columns: &[Column], decimals: &[Option<String>]) -> Vec<String> {
        columns
            .iter()
            .zip(decimals)
            .map(|(c, decimal)| {
                let name = (self.quote)(&c.name);
                match decimal {
                    Some(t) => format!("CAST({name} AS {t}) AS {name}"),
                    None => name,
                }
            })
            .collect()
    }

    /// The one statement that puts `select` (from `source`) in place.
    pub(super) fn place_statement(
        &self,
        final_name: &str,
        source: &str,
        mode: LoadMode,
        columns: &[Column],
        select: &[String],
    ) -> String {
        let select = format!("SELECT {} FROM {source}", select.join(", "));
        let options = self.table_options;
        match mode {
            LoadMode::Create => format!("CREATE TABLE {final_name}{options} AS {select}"),
            LoadMode::Replace => format!("CREATE OR REPLACE TABLE {final_name}{options} AS {select}"),
            LoadMode::Append => format!("INSERT INTO {final_name} ({}) {select}", self.column_list(columns)),
        }
    }

    /// Each decimal column's type: the table's own for `append` (refusing values it would round), else what
    /// its rows need.
    pub(super) fn decimal_types(
        &self,
        columns: &[Column],
        shapes: &[DecimalShape],
        declared: &[Option<(u32, u32)>],
    ) -> Result<Vec<Option<String>>, WarehouseError> {
        let mut decimals = Vec::with_capacity(columns.len());
        for ((c, shape), declared) in columns.iter().zip(shapes).zip(declared) {
            decimals.push(match (c.column_type, declared) {
                (ColumnType::Decimal, Some((p, s))) if shape.fits(*p, *s) => {
                    let declared = DecimalShape { integer: p.saturating_sub(*s), scale: *s };
                    Some((self.decimal_type)(self.platform, &c.name, declared)?)
                }
                (ColumnType::Decimal, Some((p, s))) => {
                    return Err(WarehouseError::Rejected(format!(
                        "column `{}` is DECIMAL({p},{s}) and the rows hold values with {} digits before and {} after \
                         the point; {} would round them",
                        c.name, shape.integer, shape.scale, self.platform
                    )));
                }
                (ColumnType::Decimal, None) => Some((self.decimal_type)(self.platform, &c.name, *shape)?),
                _ => None,
            });
        }
        Ok(decimals)
    }

    /// A cell as a literal.
    fn push_literal(&self, out: &mut String, cell: &Cell, batch: &Batch) {
        // Writing to a String cannot fail.
        let _ = match cell {
            Cell::Null => write!(out, "NULL"),
            Cell::Integer(v) => write!(out, "{v}"),
            Cell::Float(v) => write!(out, "{v}"),
            Cell::Decimal(s) | Cell::Text(s) => write!(out, "{}", (self.literal)(batch.str(*s))),
            Cell::Boolean(v) => write!(out, "{}", if *v { "TRUE" } else { "FALSE" }),
            Cell::Date(d) => {
                out.push_str("DATE '");
                push_date(out, *d);
                write!(out, "'")
            }
            Cell::Timestamp(t) => {
                out.push_str(self.timestamp.0);
                push_datetime(out, *t, ' ');
                write!(out, "{}", self.timestamp.1)
            }
            Cell::TimestampTz(t) => {
                out.push_str(self.instant.0);
                push_datetime(out, t.naive_utc(), ' ');
                write!(out, "{}", self.instant.1)
            }
        };
    }

    /// The widest decimal of each decimal column of `table` (text), as the platform reads it.
    pub(super) async fn shapes_in(
        &self,
        db: &dyn Statements,
        table: &str,
        columns: &[Column],
    ) -> Result<Vec<DecimalShape>, WarehouseError> {
        let mut select = Vec::new();
        for c in columns.iter().filter(|c| c.column_type == ColumnType::Decimal) {
            let v = format!("TRIM({})", (self.quote)(&c.name));
            let [integer, scale] = (self.shape_of)(&v);
            select.push(format!("COALESCE(MAX({integer}), 0)"));
            select.push(format!("COALESCE(MAX({scale}), 0)"));
        }
        let numbers = if select.is_empty() {
            Vec::new()
        } else {
            db.first_row(&format!("SELECT {} FROM {table}", select.join(", "))).await?
        };
        let number = |i: usize| numbers.get(i).cloned().flatten().and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
        Ok(DecimalShape::per_column(columns, number))
    }

    /// Writes every row received into `build`; returns the rows written and each column's decimal shape.
    pub(super) async fn fill(
        &self,
        db: &dyn Statements,
        build: &str,
        columns: &[Column],
        mut rows: mpsc::Receiver<LoadItem>,
    ) -> Result<(u64, Vec<DecimalShape>), WarehouseError> {
        let width = columns.len().max(1);
        let head = format!("INSERT INTO {build} ({}) VALUES ", self.column_list(columns));
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
                    self.push_literal(&mut sql, cell, &batch);
                }
                sql.push(')');
                pending += 1;
                written += 1;
                if sql.len() >= self.max_statement {
                    db.execute(&sql).await?;
                    sql.truncate(head.len());
                    pending = 0;
                }
            }
            batch.done();
        }
        if pending > 0 {
            db.execute(&sql).await?;
        }
        Ok((written, shapes))
    }

    /// A whole streamed load: fills `build` (already created), puts its rows in place as `final_name`, and drops
    /// it however that ended; returns the rows written.
    pub(super) async fn load_through(
        &self,
        db: &dyn Statements,
        build: &str,
        final_name: &str,
        target: &LoadTarget,
        declared: &[Option<(u32, u32)>],
        rows: mpsc::Receiver<LoadItem>,
    ) -> Result<u64, WarehouseError> {
        let loaded = async {
            let (written, shapes) = self.fill(db, build, &target.columns, rows).await?;
            let decimals = self.decimal_types(&target.columns, &shapes, declared)?;
            let select = self.build_select(&target.columns, &decimals);
            db.execute(&self.place_statement(final_name, build, target.mode, &target.columns, &select)).await?;
            Ok(written)
        }
        .await;
        // The build table goes however the load ended (its rows were copied into place on success).
        if let Err(e) = db.execute(&format!("DROP TABLE IF EXISTS {build}")).await {
            tracing::warn!(platform = self.platform, error = %e, "a build table could not be dropped");
        }
        loaded
    }
}
