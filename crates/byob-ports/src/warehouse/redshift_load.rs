//! Streamed loads into Redshift, which has no `COPY … FROM STDIN`: multi-row `INSERT`s whose values are bound
//! as text and cast by the server to each column's type, inside one transaction. `create` and `replace` build
//! their table first with decimal columns as text, track the widest decimal of each as the rows pass, and give
//! the final table the `DECIMAL(p,s)` that holds every value as written (Redshift's `DECIMAL` without a
//! precision is `DECIMAL(18,0)`, which would round).

use std::fmt::Write as _;

use byob_core::table::{Column, ColumnType};
use sqlx::{AssertSqlSafe, Connection as _, PgConnection, Row as _};
use tokio::sync::mpsc;

use super::{
    Batch, Cell, LoadItem, LoadMode, LoadTarget, WarehouseError,
    decimal::DecimalShape,
    next_batch,
    postgres::table_exists,
    redshift::{RedshiftWarehouse, type_name},
    sql::{build_name, column_list, create_table, quote},
    text::{push_date, push_datetime},
};

/// Values bound per `INSERT` (PostgreSQL takes 65,535; kept well below for Redshift's leader node), and the text
/// they may hold.
const MAX_VALUES: usize = 16_384;
const MAX_TEXT: usize = 4 << 20;

/// How a bound value becomes its column's type: cast to this, or taken as text.
#[derive(Debug, Clone)]
struct Cast {
    to: Option<String>,
    /// A decimal column's declared precision and scale: a value they cannot hold is refused, not rounded.
    holds: Option<(u32, u32)>,
}

/// The casts for the columns of a table byob builds (decimals stay text until the end).
fn build_casts(columns: &[Column]) -> Vec<Cast> {
    columns
        .iter()
        .map(|c| Cast {
            to: match c.column_type {
                ColumnType::Decimal | ColumnType::Text => None,
                other => Some(type_name(other).to_string()),
            },
            holds: None,
        })
        .collect()
}

/// The casts into an existing table's columns, from their declared types.
async fn table_casts(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
    columns: &[Column],
) -> Result<Vec<Cast>, WarehouseError> {
    let rows = sqlx::query(
        "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns \
         WHERE table_schema = $1 AND table_name = $2",
    )
    .bind(schema)
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let mut casts = Vec::with_capacity(columns.len());
    for column in columns {
        let declared = rows.iter().find(|r| r.try_get::<String, _>("column_name").is_ok_and(|n| n == column.name));
        let Some(declared) = declared else {
            return Err(WarehouseError::Rejected(format!("table {table} has no column `{}`", column.name)));
        };
        let data_type: String = declared.try_get("data_type")?;
        let number =
            |name: &str| declared.try_get::<Option<i32>, _>(name).ok().flatten().and_then(|n| u32::try_from(n).ok());
        let cast = match data_type.as_str() {
            "numeric" => match (number("numeric_precision"), number("numeric_scale")) {
                (Some(p), Some(s)) => Cast { to: Some(format!("DECIMAL({p},{s})")), holds: Some((p, s)) },
                _ => Cast { to: Some("NUMERIC".into()), holds: None },
            },
            "smallint" | "integer" | "bigint" => Cast { to: Some("BIGINT".into()), holds: None },
            "real" | "double precision" => Cast { to: Some("DOUBLE PRECISION".into()), holds: None },
            "boolean" => Cast { to: Some("BOOLEAN".into()), holds: None },
            "date" => Cast { to: Some("DATE".into()), holds: None },
            "timestamp without time zone" => Cast { to: Some("TIMESTAMP".into()), holds: None },
            "timestamp with time zone" => Cast { to: Some("TIMESTAMPTZ".into()), holds: None },
            // Text into character columns: the server's assignment refuses what is too long, where a cast
            // would cut it.
            _ => Cast { to: None, holds: None },
        };
        casts.push(cast);
    }
    Ok(casts)
}

/// `INSERT INTO into (columns) VALUES (…), …` for `rows` rows, values numbered from `$1`.
fn insert_statement(into: &str, columns: &[Column], casts: &[Cast], rows: usize) -> String {
    let mut sql = format!("INSERT INTO {into} ({}) VALUES ", column_list(columns));
    let mut n = 0usize;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for (i, cast) in casts.iter().enumerate() {
            n += 1;
            if i > 0 {
                sql.push_str(", ");
            }
            // Writing to a String cannot fail.
            let _ = match &cast.to {
                Some(to) => write!(sql, "CAST(${n} AS {to})"),
                None => write!(sql, "${n}"),
            };
        }
        sql.push(')');
    }
    sql
}

/// A cell as the text Redshift casts from.
fn value_text(cell: &Cell, batch: &Batch) -> Option<String> {
    let mut out = String::new();
    match cell {
        Cell::Null => return None,
        Cell::Integer(v) => out = v.to_string(),
        Cell::Float(v) => out = v.to_string(),
        Cell::Decimal(s) | Cell::Text(s) => out.push_str(batch.str(*s)),
        Cell::Boolean(v) => out.push_str(if *v { "true" } else { "false" }),
        Cell::Date(d) => push_date(&mut out, *d),
        Cell::Timestamp(t) => push_datetime(&mut out, *t, ' '),
        Cell::TimestampTz(t) => {
            push_datetime(&mut out, t.naive_utc(), ' ');
            out.push_str("+00");
        }
    }
    Some(out)
}

/// Rows waiting for their `INSERT`.
struct Pending<'a> {
    into: &'a str,
    columns: &'a [Column],
    casts: &'a [Cast],
    values: Vec<Option<String>>,
    text: usize,
    /// The statement for a full set of rows, built once.
    full: Option<String>,
}

impl Pending<'_> {
    fn rows_per_statement(&self) -> usize {
        (MAX_VALUES / self.columns.len().max(1)).max(1)
    }

    fn is_full(&self) -> bool {
        self.values.len() / self.columns.len().max(1) >= self.rows_per_statement() || self.text >= MAX_TEXT
    }

    async fn flush(&mut self, conn: &mut PgConnection) -> Result<(), WarehouseError> {
        let rows = self.values.len() / self.columns.len().max(1);
        if rows == 0 {
            return Ok(());
        }
        let sql = if rows == self.rows_per_statement() {
            self.full.get_or_insert_with(|| insert_statement(self.into, self.columns, self.casts, rows)).clone()
        } else {
            insert_statement(self.into, self.columns, self.casts, rows)
        };
        let mut insert = sqlx::query(AssertSqlSafe(sql));
        for value in self.values.drain(..) {
            insert = insert.bind(value);
        }
        insert.execute(&mut *conn).await?;
        self.text = 0;
        Ok(())
    }
}

impl RedshiftWarehouse {
    /// The table `create` and `replace` fill before it takes the table's place (`None` for `append`, which
    /// writes to the table itself).
    pub(super) async fn build_for(
        &self,
        conn: &mut PgConnection,
        target: &LoadTarget,
        schema: &str,
    ) -> Result<Option<String>, WarehouseError> {
        if target.mode == LoadMode::Append {
            return Ok(None);
        }
        let build = format!("{}.{}", quote(schema), quote(&build_name(&target.table.name)));
        sqlx::raw_sql(AssertSqlSafe(create_table(&build, &target.columns, type_name))).execute(&mut *conn).await?;
        Ok(Some(build))
    }

    /// The widest decimal of each decimal column of a built table, as Redshift reads the text.
    pub(super) async fn shapes_in(
        &self,
        conn: &mut PgConnection,
        build: &str,
        columns: &[Column],
    ) -> Result<Vec<DecimalShape>, WarehouseError> {
        let decimals: Vec<&Column> = columns.iter().filter(|c| c.column_type == ColumnType::Decimal).collect();
        if decimals.is_empty() {
            return Ok(vec![DecimalShape::default(); columns.len()]);
        }
        let mut select = Vec::new();
        for c in &decimals {
            let v = format!("TRIM({})", quote(&c.name));
            select.push(format!("COALESCE(MAX(LENGTH(LTRIM(SPLIT_PART(LTRIM({v}, '-+'), '.', 1), '0'))), 0)"));
            select.push(format!(
                "COALESCE(MAX(CASE WHEN POSITION('.' IN {v}) > 0 THEN LENGTH(SPLIT_PART({v}, '.', 2)) ELSE 0 END), 0)"
            ));
        }
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {} FROM {build}", select.join(", "))))
            .fetch_one(&mut *conn)
            .await?;
        let number = |i: usize| row.try_get::<i32, _>(i).ok().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        Ok(DecimalShape::per_column(columns, number))
    }

    /// Puts a built table in the table's place: renamed when it has no decimals, copied into a table with the
    /// decimals its rows need otherwise (inside the load's transaction either way).
    pub(super) async fn finish_build(
        &self,
        conn: &mut PgConnection,
        target: &LoadTarget,
        build: &str,
        shapes: &[DecimalShape],
    ) -> Result<(), WarehouseError> {
        let final_name = self.pg.qualified(&target.table);
        if target.mode == LoadMode::Replace {
            sqlx::raw_sql(AssertSqlSafe(format!("DROP TABLE IF EXISTS {final_name}"))).execute(&mut *conn).await?;
        }
        if target.columns.iter().all(|c| c.column_type != ColumnType::Decimal) {
            let rename = format!("ALTER TABLE {build} RENAME TO {}", quote(&target.table.name));
            sqlx::raw_sql(AssertSqlSafe(rename)).execute(&mut *conn).await?;
            return Ok(());
        }
        let mut defs = Vec::new();
        let mut select = Vec::new();
        for (c, shape) in target.columns.iter().zip(shapes) {
            let name = quote(&c.name);
            let sql_type = match c.column_type {
                ColumnType::Decimal => {
                    let decimal = shape.sql_type("Redshift", &c.name)?;
                    select.push(format!("CAST(TRIM({name}) AS {decimal})"));
                    decimal
                }
                other => {
                    select.push(name.clone());
                    type_name(other).to_string()
                }
            };
            defs.push(format!("{name} {sql_type}{}", if c.nullable { "" } else { " NOT NULL" }));
        }
        for statement in [
            format!("CREATE TABLE {final_name} ({})", defs.join(", ")),
            format!(
                "INSERT INTO {final_name} ({}) SELECT {} FROM {build}",
                column_list(&target.columns),
                select.join(", ")
            ),
            format!("DROP TABLE {build}"),
        ] {
            sqlx::raw_sql(AssertSqlSafe(statement)).execute(&mut *conn).await?;
        }
        Ok(())
    }

    pub(super) async fn load_rows(
        &self,
        target: &LoadTarget,
        mut rows: mpsc::Receiver<LoadItem>,
    ) -> Result<u64, WarehouseError> {
        let mut conn = self.pg.connect().await?;
        let schema = self.pg.schema_of(&target.table).to_string();
        let mut tx = conn.begin().await?;
        let exists = table_exists(&mut tx, &schema, &target.table.name).await?;
        target.mode.check(&target.table, exists)?;
        let build = self.build_for(&mut tx, target, &schema).await?;
        let casts = match build {
            Some(_) => build_casts(&target.columns),
            None => table_casts(&mut tx, &schema, &target.table.name, &target.columns).await?,
        };
        let into = build.clone().unwrap_or_else(|| self.pg.qualified(&target.table));
        let width = target.columns.len().max(1);
        let mut shapes = vec![DecimalShape::default(); width];
        let mut pending =
            Pending { into: &into, columns: &target.columns, casts: &casts, values: Vec::new(), text: 0, full: None };
        let mut written = 0u64;
        while let Some(batch) = next_batch(&mut rows).await? {
            for row in batch.cells.chunks(width) {
                for (i, cell) in row.iter().enumerate() {
                    if let Cell::Decimal(span) = cell {
                        let text = batch.str(*span);
                        shapes[i].fit(text);
                        if let Some((p, s)) = casts.get(i).and_then(|c| c.holds) {
                            let mut one = DecimalShape::default();
                            one.fit(text);
                            if !one.fits(p, s) {
                                return Err(WarehouseError::Rejected(format!(
                                    "{text} does not fit column `{}`, DECIMAL({p},{s}); Redshift would round it",
                                    target.columns[i].name
                                )));
                            }
                        }
                    }
                    let value = value_text(cell, &batch);
                    pending.text += value.as_ref().map_or(0, String::len);
                    pending.values.push(value);
                }
                written += 1;
                if pending.is_full() {
                    pending.flush(&mut tx).await?;
                }
            }
            batch.done();
        }
        pending.flush(&mut tx).await?;
        if let Some(build) = &build {
            self.finish_build(&mut tx, target, build, &shapes).await?;
        }
        tx.commit().await?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_cast_each_bound_value_to_its_column() {
        let columns = vec![
            Column { name: "id".into(), column_type: ColumnType::Integer, nullable: false },
            Column { name: "amount".into(), column_type: ColumnType::Decimal, nullable: true },
            Column { name: "at".into(), column_type: ColumnType::TimestampTz, nullable: true },
        ];
        assert_eq!(
            insert_statement("\"public\".\"t\"", &columns, &build_casts(&columns), 2),
            "INSERT INTO \"public\".\"t\" (\"id\", \"amount\", \"at\") VALUES (CAST($1 AS BIGINT), $2, CAST($3 AS \
             TIMESTAMPTZ)), (CAST($4 AS BIGINT), $5, CAST($6 AS TIMESTAMPTZ))"
        );
    }
}
