//! Streamed loads into SQL Server, all in one transaction (SQL Server's DDL is transactional): the rows go by
//! TDS bulk load into a build table of their own — decimals as text while byob tracks each column's widest
//! value — and one batch then puts them in place: `CREATE TABLE` with the decimal types the rows need and
//! `INSERT … SELECT` (`create`), the same after dropping the old table (`replace`), or `INSERT … SELECT` into the
//! existing columns, refusing a decimal their scale would round (`append`). The build table is dropped in the
//! same transaction; a load that fails at any point rolls back whole (`XACT_ABORT`), and one whose session ends
//! (byob stopped, the network failed) is rolled back by the server. Readers of a replaced table wait only for
//! the last batch, not for the whole load.

use std::borrow::Cow;

use byob_core::table::{Column, ColumnType};
use tiberius::{ColumnData, IntoSql as _, TokenRow};
use tokio::sync::mpsc;

use super::{
    SqlServerWarehouse,
    client::{self, Session, batch},
    literal, quote, text_rows, type_name,
};
use crate::warehouse::{
    Batch, Cell, LoadItem, LoadMode, LoadTarget, WarehouseError,
    decimal::DecimalShape,
    next_batch,
    sql::build_name,
    staged::{Dialect, decimal_38},
};

/// How SQL Server writes the SQL byob shares with other platforms (decimal types and the casts into them).
pub(super) const DIALECT: Dialect = Dialect {
    platform: "SQL Server",
    quote,
    literal,
    table_options: "",
    build_type: type_name,
    timestamp: ("CAST('", "' AS DATETIME2(6))"),
    instant: ("CAST('", "+00:00' AS DATETIMEOFFSET(6))"),
    max_statement: 4 << 20,
    decimal_type: decimal_38,
    shape_of: charindex_shape,
};

/// The digits before and after the point of a decimal's text, with `CHARINDEX` and `LEN`.
fn charindex_shape(v: &str) -> [String; 2] {
    let unsigned = format!("REPLACE(REPLACE({v}, '-', ''), '+', '')");
    [
        format!(
            "CASE WHEN CHARINDEX('.', {unsigned}) > 0 THEN CHARINDEX('.', {unsigned}) - 1 ELSE LEN({unsigned}) END"
        ),
        format!("CASE WHEN CHARINDEX('.', {v}) > 0 THEN LEN({v}) - CHARINDEX('.', {v}) ELSE 0 END"),
    ]
}

/// The build table's `CREATE TABLE`: byob's types, decimals as text, every column nullable (the final table
/// holds the constraints).
pub(super) fn create_build(build: &str, columns: &[Column]) -> String {
    DIALECT.create_build(build, columns)
}

/// The batch that puts the build table's rows in place and drops it: `decimals` is each column's decimal type
/// (`None` for other columns).
pub(super) fn place_batch(
    final_name: &str,
    build: &str,
    mode: LoadMode,
    columns: &[Column],
    decimals: &[Option<String>],
) -> String {
    let names = DIALECT.column_list(columns);
    let select = DIALECT.build_select(columns, decimals).join(", ");
    let insert = format!("INSERT INTO {final_name} WITH (TABLOCK) ({names}) SELECT {select} FROM {build}");
    let create = || {
        let defs: Vec<String> = columns
            .iter()
            .zip(decimals)
            .map(|(c, decimal)| {
                let sql_type = decimal.as_deref().unwrap_or_else(|| type_name(c.column_type));
                format!("{} {sql_type} {}", quote(&c.name), if c.nullable { "NULL" } else { "NOT NULL" })
            })
            .collect();
        format!("CREATE TABLE {final_name} ({})", defs.join(", "))
    };
    let place = match mode {
        LoadMode::Create => format!("{}; {insert}", create()),
        LoadMode::Replace => format!("DROP TABLE {final_name}; {}; {insert}", create()),
        LoadMode::Append => insert,
    };
    format!("{place}; DROP TABLE {build}")
}

/// A cell as the bulk load sends it into a build column of type `column_type`.
fn value(cell: &Cell, column_type: ColumnType, batch: &Batch) -> ColumnData<'static> {
    let text = |s: &str| ColumnData::String(Some(Cow::Owned(s.to_owned())));
    match cell {
        Cell::Null => match column_type {
            ColumnType::Integer => ColumnData::I64(None),
            ColumnType::Boolean => ColumnData::Bit(None),
            ColumnType::Date => ColumnData::Date(None),
            ColumnType::Timestamp => ColumnData::DateTime2(None),
            ColumnType::TimestampTz => ColumnData::DateTimeOffset(None),
            ColumnType::Decimal | ColumnType::Text => ColumnData::String(None),
        },
        Cell::Integer(v) => ColumnData::I64(Some(*v)),
        Cell::Float(v) => text(&v.to_string()),
        Cell::Decimal(s) | Cell::Text(s) => text(batch.str(*s)),
        Cell::Boolean(v) => ColumnData::Bit(Some(*v)),
        Cell::Date(d) => d.into_sql(),
        Cell::Timestamp(t) => t.into_sql(),
        Cell::TimestampTz(t) => t.fixed_offset().into_sql(),
    }
}

/// One row as the bulk load sends it; widens each decimal column's shape, refusing one no `DECIMAL` holds.
pub(super) fn token_row(
    row: &[Cell],
    columns: &[Column],
    batch: &Batch,
    shapes: &mut [DecimalShape],
) -> Result<TokenRow<'static>, WarehouseError> {
    let mut token = TokenRow::with_capacity(columns.len());
    for ((cell, column), shape) in row.iter().zip(columns).zip(shapes.iter_mut()) {
        if let Cell::Decimal(span) = cell {
            shape.fit(batch.str(*span));
            // Refused as soon as it shows, before the rest of the file is sent.
            shape.sql_type(DIALECT.platform, &column.name)?;
        }
        token.push(value(cell, column.column_type, batch));
    }
    Ok(token)
}

/// The declared precision and scale of each decimal column an append writes (`None` for other columns), and
/// a refusal for a column the table does not have.
async fn declared_decimals(
    session: &mut Session,
    schema: &str,
    table: &str,
    columns: &[Column],
) -> Result<Vec<Option<(u32, u32)>>, WarehouseError> {
    let rows = text_rows(
        session,
        "SELECT COLUMN_NAME, DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE FROM INFORMATION_SCHEMA.COLUMNS \
         WHERE TABLE_SCHEMA = @P1 AND TABLE_NAME = @P2",
        &[schema, table],
    )
    .await?;
    let number = |v: &Option<String>| v.as_deref().and_then(|n| n.parse::<u32>().ok());
    columns
        .iter()
        .map(|c| {
            let Some(row) = rows.iter().find(|r| r.first().is_some_and(|n| n.as_deref() == Some(&c.name))) else {
                return Err(WarehouseError::Rejected(format!("table {table} has no column `{}`", c.name)));
            };
            let data_type = row.get(1).cloned().flatten().unwrap_or_default().to_ascii_lowercase();
            Ok(match data_type.as_str() {
                "decimal" | "numeric" | "money" | "smallmoney" => {
                    number(row.get(2).unwrap_or(&None)).zip(number(row.get(3).unwrap_or(&None)))
                }
                _ => None,
            })
        })
        .collect()
}

impl SqlServerWarehouse {
    pub(super) async fn load_rows(
        &self,
        target: &LoadTarget,
        rows: mpsc::Receiver<LoadItem>,
    ) -> Result<u64, WarehouseError> {
        let mut session = client::connect(&self.settings).await?;
        // On any error the session is dropped with the transaction open: the server rolls it back whole.
        self.load_in(&mut session, target, rows).await
    }

    async fn load_in(
        &self,
        session: &mut Session,
        target: &LoadTarget,
        mut rows: mpsc::Receiver<LoadItem>,
    ) -> Result<u64, WarehouseError> {
        let schema = self.schema_of(&target.table).to_string();
        let columns = &target.columns;
        batch(session, "BEGIN TRANSACTION").await?;
        let exists = text_rows(
            session,
            "SELECT COUNT(*) FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = @P1 AND TABLE_NAME = @P2",
            &[&schema, &target.table.name],
        )
        .await?
        .first()
        .and_then(|row| row.first().cloned().flatten())
        .is_some_and(|n| n != "0");
        target.mode.check(&target.table, exists)?;
        let declared = match target.mode {
            LoadMode::Append => declared_decimals(session, &schema, &target.table.name, columns).await?,
            LoadMode::Create | LoadMode::Replace => vec![None; columns.len()],
        };
        let build = format!("{}.{}", quote(&schema), quote(&build_name(&target.table.name)));
        batch(session, &create_build(&build, columns)).await?;

        let width = columns.len().max(1);
        let mut shapes = vec![DecimalShape::default(); width];
        let mut written = 0u64;
        let mut bulk = session.bulk_insert(&build).await.map_err(client::error)?;
        while let Some(rows_batch) = next_batch(&mut rows).await? {
            for row in rows_batch.cells.chunks(width) {
                let token = token_row(row, columns, &rows_batch, &mut shapes)?;
                bulk.send(token).await.map_err(client::error)?;
                written += 1;
            }
            rows_batch.done();
        }
        bulk.finalize().await.map_err(client::error)?;

        let decimals = DIALECT.decimal_types(columns, &shapes, &declared)?;
        let final_name = self.qualified(&target.table);
        batch(session, &place_batch(&final_name, &build, target.mode, columns, &decimals)).await?;
        batch(session, "COMMIT TRANSACTION").await?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone as _, Utc};

    use super::*;
    use crate::warehouse::push_span;

    fn columns() -> Vec<Column> {
        vec![
            Column { name: "id".into(), column_type: ColumnType::Integer, nullable: false },
            Column { name: "amount".into(), column_type: ColumnType::Decimal, nullable: true },
            Column { name: "na]me".into(), column_type: ColumnType::Text, nullable: true },
        ]
    }

    #[test]
    fn build_tables_hold_decimals_as_text() {
        assert_eq!(
            create_build("[dbo].[sales__byob_1a2b3c4d]", &columns()),
            "CREATE TABLE [dbo].[sales__byob_1a2b3c4d] ([id] BIGINT, [amount] NVARCHAR(48), [na]]me] NVARCHAR(MAX))"
        );
    }

    #[test]
    fn a_create_declares_the_decimal_its_rows_need_and_drops_the_build_table() {
        let decimals = [None, Some("DECIMAL(12,2)".to_string()), None];
        assert_eq!(
            place_batch("[dbo].[sales]", "[dbo].[b]", LoadMode::Create, &columns(), &decimals),
            "CREATE TABLE [dbo].[sales] ([id] BIGINT NOT NULL, [amount] DECIMAL(12,2) NULL, [na]]me] NVARCHAR(MAX) \
             NULL); INSERT INTO [dbo].[sales] WITH (TABLOCK) ([id], [amount], [na]]me]) SELECT [id], \
             CAST([amount] AS DECIMAL(12,2)) AS [amount], [na]]me] FROM [dbo].[b]; DROP TABLE [dbo].[b]"
        );
    }

    #[test]
    fn a_replace_drops_the_old_table_in_the_same_transaction() {
        let decimals = [None, Some("DECIMAL(1,0)".to_string()), None];
        let sql = place_batch("[s].[t]", "[s].[b]", LoadMode::Replace, &columns(), &decimals);
        assert!(sql.starts_with("DROP TABLE [s].[t]; CREATE TABLE [s].[t] ("), "{sql}");
        assert!(sql.ends_with("FROM [s].[b]; DROP TABLE [s].[b]"), "{sql}");
    }

    #[test]
    fn an_append_inserts_into_the_named_columns_only() {
        let decimals = [None, Some("DECIMAL(10,4)".to_string()), None];
        assert_eq!(
            place_batch("[dbo].[sales]", "[dbo].[b]", LoadMode::Append, &columns(), &decimals),
            "INSERT INTO [dbo].[sales] WITH (TABLOCK) ([id], [amount], [na]]me]) SELECT [id], CAST([amount] AS \
             DECIMAL(10,4)) AS [amount], [na]]me] FROM [dbo].[b]; DROP TABLE [dbo].[b]"
        );
    }

    #[test]
    fn an_append_refuses_a_decimal_the_column_would_round() {
        let shapes = [DecimalShape::default(), DecimalShape { integer: 3, scale: 3 }, DecimalShape::default()];
        let refused = DIALECT.decimal_types(&columns(), &shapes, &[None, Some((10, 2)), None]);
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("DECIMAL(10,2)") && message.contains("SQL Server would round"), "{message}");
        let fits = DIALECT.decimal_types(&columns(), &shapes, &[None, Some((10, 4)), None]);
        assert_eq!(fits.ok(), Some(vec![None, Some("DECIMAL(10,4)".to_string()), None]));
    }

    #[test]
    fn rows_go_to_the_bulk_load_as_the_build_columns_type_them() {
        let mut batch = Batch { width: 3, ..Batch::default() };
        let amount = push_span(&mut batch.text, "-12.50");
        let name = push_span(&mut batch.text, "Zoë");
        let mut shapes = vec![DecimalShape::default(); 3];
        let row = [Cell::Integer(7), Cell::Decimal(amount), Cell::Text(name)];
        let token = token_row(&row, &columns(), &batch, &mut shapes).ok().unwrap_or_default();
        let values: Vec<&ColumnData<'_>> = token.iter().collect();
        assert_eq!(values[0], &ColumnData::I64(Some(7)));
        assert_eq!(values[1], &ColumnData::String(Some("-12.50".into())));
        assert_eq!(values[2], &ColumnData::String(Some("Zoë".into())));
        assert_eq!(shapes[1], DecimalShape { integer: 2, scale: 2 });

        let nulls = [Cell::Null, Cell::Null, Cell::Null];
        let token = token_row(&nulls, &columns(), &batch, &mut shapes).ok().unwrap_or_default();
        let values: Vec<&ColumnData<'_>> = token.iter().collect();
        assert_eq!(values, [&ColumnData::I64(None), &ColumnData::String(None), &ColumnData::String(None)]);
    }

    #[test]
    fn dates_timestamps_and_instants_keep_their_type() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 10, 30, 0).single().unwrap_or_default();
        let batch = Batch::default();
        assert!(matches!(value(&Cell::Date(day), ColumnType::Date, &batch), ColumnData::Date(Some(_))));
        let naive = at.naive_utc();
        assert!(matches!(
            value(&Cell::Timestamp(naive), ColumnType::Timestamp, &batch),
            ColumnData::DateTime2(Some(_))
        ));
        let ColumnData::DateTimeOffset(Some(instant)) = value(&Cell::TimestampTz(at), ColumnType::TimestampTz, &batch)
        else {
            panic!("an instant is a DATETIMEOFFSET");
        };
        assert_eq!(instant.offset(), 0);
        assert!(matches!(value(&Cell::Null, ColumnType::TimestampTz, &batch), ColumnData::DateTimeOffset(None)));
    }

    #[test]
    fn decimal_shapes_are_measured_with_charindex_and_len() {
        assert_eq!(
            charindex_shape("[v]"),
            [
                "CASE WHEN CHARINDEX('.', REPLACE(REPLACE([v], '-', ''), '+', '')) > 0 THEN CHARINDEX('.', \
                 REPLACE(REPLACE([v], '-', ''), '+', '')) - 1 ELSE LEN(REPLACE(REPLACE([v], '-', ''), '+', '')) END"
                    .to_string(),
                "CASE WHEN CHARINDEX('.', [v]) > 0 THEN LEN([v]) - CHARINDEX('.', [v]) ELSE 0 END".to_string(),
            ]
        );
    }

    #[test]
    fn a_decimal_no_sql_server_decimal_holds_is_refused_as_it_shows() {
        let mut batch = Batch { width: 3, ..Batch::default() };
        let wide = push_span(&mut batch.text, &format!("1{}.5", "0".repeat(40)));
        let mut shapes = vec![DecimalShape::default(); 3];
        let row = [Cell::Integer(1), Cell::Decimal(wide), Cell::Null];
        let refused = token_row(&row, &columns(), &batch, &mut shapes).err().map(|e| e.to_string());
        assert!(refused.is_some_and(|m| m.contains("`amount`") && m.contains("38 digits")));
    }
}
