//! Exports from SQL Server: the statement's columns come from `sp_describe_first_result_set` (declared types,
//! decimals with their precision and scale), then its rows stream in and are decoded value by value. An
//! export's own SQL is checked to read only ([`byob_core::tsql`]) and runs in a transaction that is always
//! rolled back.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use futures::TryStreamExt as _;
use tiberius::{ColumnData, FromSql};
use tokio::sync::mpsc;

use super::{
    SqlServerWarehouse,
    client::{self, Session, batch},
};
use crate::warehouse::{
    Cell, ExportQuery, Field, FieldKind, QueryItem, WarehouseError, decimal::scaled, push_span, text_cells::RowSink,
};

/// byob's kind for a type as `sp_describe_first_result_set` names it (`decimal(12,2)`, `datetime2(6)`, …).
pub(super) fn kind_of(system_type_name: &str) -> FieldKind {
    let t = system_type_name.to_ascii_lowercase();
    let base = t.split('(').next().unwrap_or_default().trim();
    match base {
        "bigint" => FieldKind::Int64,
        "int" => FieldKind::Int32,
        "smallint" | "tinyint" => FieldKind::Int16,
        "float" => FieldKind::Float64,
        "real" => FieldKind::Float32,
        "decimal" | "numeric" => {
            let inner = t.trim_start_matches(base).trim_start_matches('(').trim_end_matches(')');
            let mut parts = inner.split(',').map(|p| p.trim().parse::<u16>().ok());
            FieldKind::Decimal { precision: parts.next().flatten(), scale: parts.next().flatten() }
        }
        "money" => FieldKind::Decimal { precision: Some(19), scale: Some(4) },
        "smallmoney" => FieldKind::Decimal { precision: Some(10), scale: Some(4) },
        "bit" => FieldKind::Boolean,
        "date" => FieldKind::Date,
        "datetime" | "datetime2" | "smalldatetime" => FieldKind::Timestamp,
        "datetimeoffset" => FieldKind::TimestampTz,
        _ => FieldKind::Text,
    }
}

/// The cell a value is, read by its column's kind; `Err` says what the value is not.
fn cell(kind: FieldKind, value: Option<&ColumnData<'static>>, text: &mut String) -> Result<Cell, String> {
    let Some(value) = value else { return Ok(Cell::Null) };
    let unreadable = |e: tiberius::error::Error| e.to_string();
    Ok(match value {
        ColumnData::U8(v) => v.map_or(Cell::Null, |v| Cell::Integer(i64::from(v))),
        ColumnData::I16(v) => v.map_or(Cell::Null, |v| Cell::Integer(i64::from(v))),
        ColumnData::I32(v) => v.map_or(Cell::Null, |v| Cell::Integer(i64::from(v))),
        ColumnData::I64(v) => v.map_or(Cell::Null, Cell::Integer),
        // `money` arrives as a binary float; its four decimal places are what it holds.
        ColumnData::F64(Some(v)) if matches!(kind, FieldKind::Decimal { .. }) => {
            Cell::Decimal(push_span(text, &format!("{v:.4}")))
        }
        ColumnData::F32(v) => v.map_or(Cell::Null, |v| Cell::Float(f64::from(v))),
        ColumnData::F64(v) => v.map_or(Cell::Null, Cell::Float),
        ColumnData::Bit(v) => v.map_or(Cell::Null, Cell::Boolean),
        ColumnData::Numeric(v) => {
            v.map_or(Cell::Null, |n| Cell::Decimal(push_span(text, &scaled(n.value(), u32::from(n.scale())))))
        }
        ColumnData::String(v) => v.as_ref().map_or(Cell::Null, |s| Cell::Text(push_span(text, s))),
        ColumnData::Guid(v) => v.map_or(Cell::Null, |g| Cell::Text(push_span(text, &g.to_string().to_uppercase()))),
        ColumnData::Binary(v) => {
            v.as_ref().map_or(Cell::Null, |b| Cell::Text(push_span(text, &format!("0x{}", hex::encode_upper(b)))))
        }
        ColumnData::Xml(v) => v.as_ref().map_or(Cell::Null, |x| Cell::Text(push_span(text, &x.to_string()))),
        ColumnData::Date(_) => NaiveDate::from_sql(value).map_err(unreadable)?.map_or(Cell::Null, Cell::Date),
        ColumnData::DateTime(_) | ColumnData::SmallDateTime(_) | ColumnData::DateTime2(_) => {
            NaiveDateTime::from_sql(value).map_err(unreadable)?.map_or(Cell::Null, Cell::Timestamp)
        }
        ColumnData::DateTimeOffset(_) => {
            DateTime::<Utc>::from_sql(value).map_err(unreadable)?.map_or(Cell::Null, Cell::TimestampTz)
        }
        ColumnData::Time(_) => NaiveTime::from_sql(value)
            .map_err(unreadable)?
            .map_or(Cell::Null, |t| Cell::Text(push_span(text, &t.format("%H:%M:%S%.f").to_string()))),
    })
}

/// The statement's columns, as SQL Server declares them (hidden columns left out).
async fn describe(session: &mut Session, sql: &str) -> Result<Vec<Field>, WarehouseError> {
    let rows = session
        .query("EXEC sp_describe_first_result_set @tsql = @P1", &[&sql])
        .await
        .map_err(client::error)?
        .into_first_result()
        .await
        .map_err(client::error)?;
    let mut fields = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        if row.get::<bool, _>("is_hidden").unwrap_or(false) {
            continue;
        }
        let name = row.get::<&str, _>("name").map_or_else(|| format!("column{}", i + 1), str::to_string);
        let kind = kind_of(row.get::<&str, _>("system_type_name").unwrap_or_default());
        fields.push(Field { name, kind });
    }
    Ok(fields)
}

impl SqlServerWarehouse {
    pub(super) async fn export_rows(
        &self,
        query: &ExportQuery,
        rows: mpsc::Sender<QueryItem>,
    ) -> Result<u64, WarehouseError> {
        let sql = match query {
            ExportQuery::Table(table) => format!("SELECT * FROM {}", self.qualified(table)),
            ExportQuery::Sql(sql) => {
                byob_core::tsql::check_read_only("query", sql).map_err(|e| WarehouseError::Unsupported(e.message))?;
                sql.clone()
            }
        };
        let mut session = client::connect(&self.settings).await?;
        let fields = describe(&mut session, &sql).await?;
        batch(&mut session, "BEGIN TRANSACTION").await?;
        let mut sink = RowSink::start(&rows, fields, "SQL Server").await?;
        {
            let mut stream = session.simple_query(sql.as_str()).await.map_err(client::error)?.into_row_stream();
            while let Some(row) = stream.try_next().await.map_err(client::error)? {
                if row.result_index() > 0 {
                    return Err(WarehouseError::Unsupported(
                        "the query returns more than one result set; send one SELECT".into(),
                    ));
                }
                let values: Vec<ColumnData<'static>> = row.into_iter().collect();
                sink.push(&values, cell).await?;
            }
        }
        // Whatever the statement did is undone (a failure above ends the session, which rolls back as well).
        batch(&mut session, "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION").await?;
        sink.finish().await
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    #[test]
    fn declared_types_map_to_kinds_with_decimal_precision() {
        assert_eq!(kind_of("decimal(12,2)"), FieldKind::Decimal { precision: Some(12), scale: Some(2) });
        assert_eq!(kind_of("numeric(38, 0)"), FieldKind::Decimal { precision: Some(38), scale: Some(0) });
        assert_eq!(kind_of("money"), FieldKind::Decimal { precision: Some(19), scale: Some(4) });
        assert_eq!(kind_of("int"), FieldKind::Int32);
        assert_eq!(kind_of("bigint"), FieldKind::Int64);
        assert_eq!(kind_of("datetime2(6)"), FieldKind::Timestamp);
        assert_eq!(kind_of("datetimeoffset(7)"), FieldKind::TimestampTz);
        assert_eq!(kind_of("nvarchar(max)"), FieldKind::Text);
        assert_eq!(kind_of("uniqueidentifier"), FieldKind::Text);
    }

    #[test]
    fn decimals_are_written_as_they_are_held() {
        assert_eq!(scaled(-1250, 2), "-12.50");
        assert_eq!(scaled(5, 3), "0.005");
        assert_eq!(scaled(-5, 3), "-0.005");
        assert_eq!(scaled(42, 0), "42");
        assert_eq!(scaled(0, 2), "0.00");
    }

    #[test]
    fn values_become_cells_by_their_type() {
        let mut text = String::new();
        let decimal = FieldKind::Decimal { precision: Some(19), scale: Some(4) };
        let numeric = ColumnData::Numeric(Some(tiberius::numeric::Numeric::new_with_scale(-1250, 2)));
        let Ok(Cell::Decimal(span)) = cell(decimal, Some(&numeric), &mut text) else { panic!("a decimal") };
        assert_eq!(&text[span.start as usize..span.end as usize], "-12.50");
        let Ok(Cell::Decimal(span)) = cell(decimal, Some(&ColumnData::F64(Some(12.5))), &mut text) else {
            panic!("money is a decimal")
        };
        assert_eq!(&text[span.start as usize..span.end as usize], "12.5000");
        assert_eq!(cell(FieldKind::Int16, Some(&ColumnData::U8(Some(7))), &mut text), Ok(Cell::Integer(7)));
        assert_eq!(cell(FieldKind::Boolean, Some(&ColumnData::Bit(Some(true))), &mut text), Ok(Cell::Boolean(true)));
        assert_eq!(cell(FieldKind::Text, Some(&ColumnData::String(None)), &mut text), Ok(Cell::Null));
        let name = ColumnData::String(Some(Cow::Borrowed("Zoë")));
        let Ok(Cell::Text(span)) = cell(FieldKind::Text, Some(&name), &mut text) else { panic!("text") };
        assert_eq!(&text[span.start as usize..span.end as usize], "Zoë");
        let day = tiberius::IntoSql::into_sql(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default());
        assert_eq!(
            cell(FieldKind::Date, Some(&day), &mut text),
            Ok(Cell::Date(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default()))
        );
    }
}
