//! Loads into Snowflake, streamed: rows go as array-bound `INSERT … VALUES (?, …)` statements of at most
//! Snowflake's inline binding threshold (65,280 values) or 4 MiB of text, every value bound as text and
//! converted by Snowflake to its column's type. Decimal columns of a new table are filled as text and cast to
//! `NUMBER(38, s)` (s: the data's own scale) once every row is in, so values read back as written; into an
//! existing table, a value finer than its column's scale is refused rather than rounded.

use std::collections::HashMap;

use byob_core::table::{Column, ColumnType};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{SnowflakeWarehouse, session::Session};
use crate::warehouse::{
    Batch, Cell, LoadItem, LoadMode, LoadTarget, PullSource, WarehouseError,
    decimal::DecimalShape,
    sql::{build_name, column_list, create_table, quote},
    text::{push_date, push_datetime},
};

/// Snowflake's default threshold of bound values above which its drivers stage rows instead.
const MAX_VALUES: usize = 65_280;
/// Text bound in one statement before it is sent anyway.
const MAX_TEXT: usize = 4 << 20;
/// Snowflake's widest number.
const MAX_PRECISION: u32 = 38;

fn type_name(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Integer => "NUMBER(38,0)",
        // Text until the data's scale is known (see `shape`).
        ColumnType::Decimal | ColumnType::Text => "VARCHAR",
        ColumnType::Boolean => "BOOLEAN",
        ColumnType::Date => "DATE",
        ColumnType::Timestamp => "TIMESTAMP_NTZ(9)",
        ColumnType::TimestampTz => "TIMESTAMP_TZ(9)",
    }
}

/// A value as the text Snowflake converts to the column's type; `None` for NULL.
fn text_of(cell: &Cell, batch: &Batch, out: &mut String) -> bool {
    out.clear();
    match cell {
        Cell::Null => return false,
        Cell::Integer(v) => out.push_str(itoa::Buffer::new().format(*v)),
        Cell::Float(v) => out.push_str(&v.to_string()),
        Cell::Decimal(s) | Cell::Text(s) => out.push_str(batch.str(*s)),
        Cell::Boolean(v) => out.push_str(if *v { "true" } else { "false" }),
        Cell::Date(d) => push_date(out, *d),
        Cell::Timestamp(t) => push_datetime(out, *t, ' '),
        Cell::TimestampTz(t) => {
            push_datetime(out, t.naive_utc(), ' ');
            out.push_str("+00:00");
        }
    }
    true
}

/// Rows gathered for one `INSERT`: a column of values per placeholder.
struct Pending {
    columns: Vec<Vec<Value>>,
    rows: usize,
    text: usize,
}

impl Pending {
    fn new(width: usize) -> Self {
        Self { columns: vec![Vec::new(); width], rows: 0, text: 0 }
    }

    fn bindings(&mut self) -> Value {
        let map: serde_json::Map<String, Value> = self
            .columns
            .iter_mut()
            .enumerate()
            .map(|(i, values)| ((i + 1).to_string(), json!({ "type": "TEXT", "value": std::mem::take(values) })))
            .collect();
        self.rows = 0;
        self.text = 0;
        Value::Object(map)
    }
}

/// What the rows were: how many, and the shape of each decimal column's values.
pub(super) struct Inserted {
    rows: u64,
    shapes: Vec<(usize, DecimalShape)>,
}

/// Inserts every row received into `table`; refuses a decimal finer than `limits` (an existing table's
/// declared precision and scale, by column name).
async fn insert_all(
    session: &mut Session,
    table: &str,
    columns: &[Column],
    mut rows: mpsc::Receiver<LoadItem>,
    limits: &HashMap<String, (u32, u32)>,
) -> Result<Inserted, WarehouseError> {
    let width = columns.len().max(1);
    let placeholders = vec!["?"; width].join(", ");
    let statement = format!("INSERT INTO {table} ({}) VALUES ({placeholders})", column_list(columns));
    let mut shapes: Vec<(usize, DecimalShape)> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.column_type == ColumnType::Decimal)
        .map(|(i, _)| (i, DecimalShape::default()))
        .collect();
    let mut pending = Pending::new(width);
    let mut text = String::new();
    let (mut sent, mut confirmed) = (0u64, 0u64);
    let rows_per_statement = (MAX_VALUES / width).max(1);
    let mut finished = false;
    while let Some(item) = rows.recv().await {
        let batch = match item {
            LoadItem::Batch(batch) => batch,
            LoadItem::End => {
                finished = true;
                break;
            }
        };
        for row in batch.cells.chunks(width) {
            for (i, cell) in row.iter().enumerate() {
                let value = if text_of(cell, &batch, &mut text) {
                    pending.text += text.len();
                    Value::String(text.clone())
                } else {
                    Value::Null
                };
                pending.columns[i].push(value);
            }
            for (i, shape) in &mut shapes {
                if let Some(Cell::Decimal(span)) = row.get(*i) {
                    let mut one = DecimalShape::default();
                    one.fit(batch.str(*span));
                    let name = &columns[*i].name;
                    if let Some((precision, scale)) = limits.get(name)
                        && !one.fits(*precision, *scale)
                    {
                        return Err(WarehouseError::Rejected(format!(
                            "column `{name}` is NUMBER({precision},{scale}); `{}` does not fit without rounding, so \
                             nothing was loaded",
                            batch.str(*span)
                        )));
                    }
                    shape.fit(batch.str(*span));
                }
            }
            pending.rows += 1;
            sent += 1;
            if pending.rows >= rows_per_statement || pending.text >= MAX_TEXT {
                confirmed += insert(session, &statement, pending.bindings()).await?;
            }
        }
        batch.done();
    }
    if !finished {
        return Err(WarehouseError::Aborted);
    }
    if pending.rows > 0 {
        confirmed += insert(session, &statement, pending.bindings()).await?;
    }
    if confirmed != sent {
        return Err(WarehouseError::Rejected(format!("Snowflake took {confirmed} of {sent} rows")));
    }
    Ok(Inserted { rows: sent, shapes })
}

async fn insert(session: &mut Session, statement: &str, bindings: Value) -> Result<u64, WarehouseError> {
    let data = session.query(statement, Some(bindings), false).await?;
    Ok(data.rowset.first().and_then(|r| r.first()).cloned().flatten().and_then(|n| n.parse().ok()).unwrap_or(0))
}

/// Where a load's rows come from: byob's stream, or the bucket, read by Snowflake itself.
pub(super) enum Fill<'a> {
    Rows(mpsc::Receiver<LoadItem>),
    Pull(&'a PullSource),
}

impl Fill<'_> {
    async fn into(
        self,
        session: &mut Session,
        table: &str,
        columns: &[Column],
        limits: &HashMap<String, (u32, u32)>,
    ) -> Result<Inserted, WarehouseError> {
        match self {
            Fill::Rows(rows) => insert_all(session, table, columns, rows, limits).await,
            Fill::Pull(source) => {
                let rows = super::pull::copy_into(session, table, columns, source).await?;
                let shapes = super::pull::shapes(session, table, columns).await?;
                Ok(Inserted { rows, shapes })
            }
        }
    }
}

impl SnowflakeWarehouse {
    pub(super) async fn load_rows(&self, target: &LoadTarget, fill: Fill<'_>) -> Result<u64, WarehouseError> {
        let mut session = self.session().await?;
        let outcome = self.load_in(&mut session, target, fill).await;
        session.close().await;
        outcome
    }

    async fn load_in(&self, session: &mut Session, target: &LoadTarget, fill: Fill<'_>) -> Result<u64, WarehouseError> {
        let schema = self.schema_of(&target.table).to_string();
        let exists = self.table_exists(session, &schema, &target.table.name).await?;
        target.mode.check(&target.table, exists)?;
        let final_name = self.qualified(&target.table);
        if target.mode == LoadMode::Append {
            let limits = self.scales(session, &target.table).await?;
            session.query("BEGIN", None, false).await?;
            return match fill.into(session, &final_name, &target.columns, &limits).await {
                Ok(done) => {
                    session.query("COMMIT", None, false).await?;
                    Ok(done.rows)
                }
                Err(e) => {
                    session.query("ROLLBACK", None, false).await.ok();
                    Err(e)
                }
            };
        }
        let in_schema = |name: &str| format!("{}.{}", quote(&schema), quote(name));
        let build = in_schema(&build_name(&target.table.name));
        session.query(&create_table(&build, &target.columns, type_name), None, false).await?;
        let mut built = vec![build.clone()];
        let placed = async {
            let done = fill.into(session, &build, &target.columns, &HashMap::new()).await?;
            let shaped = if done.shapes.is_empty() {
                build.clone()
            } else {
                let shaped = in_schema(&build_name(&target.table.name));
                built.push(shaped.clone());
                shape(session, &build, &shaped, &target.columns, &done.shapes).await?;
                shaped
            };
            self.put_in_place(session, &shaped, &final_name, &schema, target).await?;
            Ok(done.rows)
        }
        .await;
        if placed.is_err() {
            for table in built {
                session.query(&format!("DROP TABLE IF EXISTS {table}"), None, false).await.ok();
            }
        } else {
            session.query(&format!("DROP TABLE IF EXISTS {build}"), None, false).await.ok();
        }
        placed
    }

    /// Renames the built table to the table's name; for `replace`, `SWAP WITH` exchanges both at once (an
    /// engine without `SWAP` gets a drop and a rename).
    async fn put_in_place(
        &self,
        session: &mut Session,
        built: &str,
        final_name: &str,
        schema: &str,
        target: &LoadTarget,
    ) -> Result<(), WarehouseError> {
        let exists = self.table_exists(session, schema, &target.table.name).await?;
        if target.mode == LoadMode::Create || !exists {
            return session
                .query(&format!("ALTER TABLE {built} RENAME TO {final_name}"), None, false)
                .await
                .map(|_| ());
        }
        match session.query(&format!("ALTER TABLE {final_name} SWAP WITH {built}"), None, false).await {
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, "SWAP WITH refused; replacing by drop and rename");
                session.query(&format!("DROP TABLE {final_name}"), None, false).await?;
                session.query(&format!("ALTER TABLE {built} RENAME TO {final_name}"), None, false).await?;
                return Ok(());
            }
        }
        session.query(&format!("DROP TABLE {built}"), None, false).await.map(|_| ())
    }
}

/// Makes `shaped` from `build` with each decimal column cast to `NUMBER(38, s)` at its data's scale.
async fn shape(
    session: &mut Session,
    build: &str,
    shaped: &str,
    columns: &[Column],
    shapes: &[(usize, DecimalShape)],
) -> Result<(), WarehouseError> {
    let mut select = Vec::with_capacity(columns.len());
    for (i, c) in columns.iter().enumerate() {
        let name = quote(&c.name);
        match shapes.iter().find(|(at, _)| *at == i) {
            Some((_, shape)) => {
                if shape.integer + shape.scale > MAX_PRECISION {
                    return Err(WarehouseError::Rejected(format!(
                        "column `{}` holds a value of {} digits; Snowflake's numbers have at most {MAX_PRECISION}",
                        c.name,
                        shape.integer + shape.scale
                    )));
                }
                select.push(format!("CAST({name} AS NUMBER({MAX_PRECISION},{})) AS {name}", shape.scale));
            }
            None => select.push(name),
        }
    }
    session.query(&format!("CREATE TABLE {shaped} AS SELECT {} FROM {build}", select.join(", ")), None, false).await?;
    // A table made by `AS SELECT` has nullable columns.
    for c in columns.iter().filter(|c| !c.nullable) {
        session
            .query(&format!("ALTER TABLE {shaped} ALTER COLUMN {} SET NOT NULL", quote(&c.name)), None, false)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_tables_take_text_for_decimals_until_their_scale_is_known() {
        let columns = vec![
            Column { name: "id".into(), column_type: ColumnType::Integer, nullable: false },
            Column { name: "amount".into(), column_type: ColumnType::Decimal, nullable: true },
            Column { name: "at".into(), column_type: ColumnType::TimestampTz, nullable: true },
        ];
        assert_eq!(
            create_table("\"S\".\"t\"", &columns, type_name),
            "CREATE TABLE \"S\".\"t\" (\"id\" NUMBER(38,0) NOT NULL, \"amount\" VARCHAR, \"at\" TIMESTAMP_TZ(9))"
        );
    }
}
