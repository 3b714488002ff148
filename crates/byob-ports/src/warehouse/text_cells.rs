//! Values that platforms send as text (Databricks' `JSON_ARRAY` results, Trino's JSON rows), read into cells by
//! the kind of their column: dates and timestamps in ISO 8601 with `T` or a space, instants with `Z`, an offset
//! or Trino's ` UTC`, decimals kept as written.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use tokio::sync::mpsc;

use super::{
    Batch, Cell, Field, FieldKind, QUERY_BATCH_ROWS, QUERY_BATCH_TEXT, QueryItem, WarehouseError, postgres_query::send,
    push_span,
};

/// A query's rows, decoded value by value into batches that are sent on as they fill (platforms whose results
/// come as JSON: Databricks, Trino).
pub(super) struct RowSink<'a> {
    rows: &'a mpsc::Sender<QueryItem>,
    kinds: Vec<FieldKind>,
    names: Vec<String>,
    platform: &'static str,
    batch: Batch,
    sent: u64,
}

impl<'a> RowSink<'a> {
    /// Sends the query's columns, which it must have.
    pub(super) async fn start(
        rows: &'a mpsc::Sender<QueryItem>,
        fields: Vec<Field>,
        platform: &'static str,
    ) -> Result<Self, WarehouseError> {
        if fields.is_empty() {
            return Err(WarehouseError::Unsupported("the query returns no columns".into()));
        }
        let kinds = fields.iter().map(|f| f.kind).collect();
        let names = fields.iter().map(|f| f.name.clone()).collect();
        let width = fields.len();
        rows.send(QueryItem::Schema(fields)).await.map_err(|_| WarehouseError::Aborted)?;
        Ok(Self { rows, kinds, names, platform, batch: Batch { width, ..Batch::default() }, sent: 0 })
    }

    /// Adds one row, each value read by its column's kind.
    pub(super) async fn push<T>(
        &mut self,
        row: &[T],
        decode: impl Fn(FieldKind, Option<&T>, &mut String) -> Result<Cell, String>,
    ) -> Result<(), WarehouseError> {
        for (i, kind) in self.kinds.iter().enumerate() {
            let cell = decode(*kind, row.get(i), &mut self.batch.text).map_err(|why| {
                WarehouseError::Database(format!("column `{}` from {}: {why}", self.names[i], self.platform))
            })?;
            self.batch.cells.push(cell);
        }
        let width = self.kinds.len();
        if self.batch.cells.len() / width >= QUERY_BATCH_ROWS || self.batch.text.len() >= QUERY_BATCH_TEXT {
            self.sent += send(self.rows, &mut self.batch, width).await?;
        }
        Ok(())
    }

    /// Sends what is left; returns the rows sent.
    pub(super) async fn finish(mut self) -> Result<u64, WarehouseError> {
        let width = self.kinds.len();
        Ok(self.sent + send(self.rows, &mut self.batch, width).await?)
    }
}

/// A timestamp without a zone: `2024-01-02T03:04:05.123456` or with a space for the `T`.
pub(super) fn parse_timestamp(value: &str) -> Option<NaiveDateTime> {
    let value = value.trim();
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"].iter().find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
}

/// An instant: ISO 8601 with `Z` or an offset, or Trino's `… UTC` / `… Etc/UTC`.
pub(super) fn parse_instant(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(value, f) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let local = value.strip_suffix(" UTC").or_else(|| value.strip_suffix(" Etc/UTC"))?;
    parse_timestamp(local).map(|t| t.and_utc())
}

/// The cell `value` is for a column of `kind`, its text kept in `text`; `Err` says what the value is not.
pub(super) fn cell(kind: FieldKind, value: &str, text: &mut String) -> Result<Cell, String> {
    Ok(match kind {
        FieldKind::Int16 | FieldKind::Int32 | FieldKind::Int64 => {
            Cell::Integer(value.parse().map_err(|_| format!("`{value}` is not an integer"))?)
        }
        FieldKind::Float32 | FieldKind::Float64 => {
            Cell::Float(value.parse().map_err(|_| format!("`{value}` is not a number"))?)
        }
        FieldKind::Decimal { .. } => Cell::Decimal(push_span(text, value)),
        FieldKind::Boolean => match value {
            "true" | "TRUE" | "1" => Cell::Boolean(true),
            "false" | "FALSE" | "0" => Cell::Boolean(false),
            other => return Err(format!("`{other}` is not a boolean")),
        },
        FieldKind::Date => Cell::Date(
            NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| format!("`{value}` is not a date"))?,
        ),
        FieldKind::Timestamp => {
            Cell::Timestamp(parse_timestamp(value).ok_or_else(|| format!("`{value}` is not a timestamp"))?)
        }
        FieldKind::TimestampTz => {
            Cell::TimestampTz(parse_instant(value).ok_or_else(|| format!("`{value}` is not an instant"))?)
        }
        FieldKind::Text => Cell::Text(push_span(text, value)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_in_every_form_platforms_send() {
        for form in [
            "2024-06-30T18:29:59.123456Z",
            "2024-06-30T23:59:59.123456+05:30",
            "2024-06-30 18:29:59.123456 UTC",
            "2024-06-30 18:29:59.123456+00:00",
        ] {
            let at = parse_instant(form).map(|t| t.to_rfc3339());
            assert_eq!(at.as_deref(), Some("2024-06-30T18:29:59.123456+00:00"), "{form}");
        }
        assert!(parse_instant("2024-06-30 18:29:59").is_none(), "a timestamp without a zone is not an instant");
        assert_eq!(
            parse_timestamp("2024-01-02 03:04:05").map(|t| t.to_string()).as_deref(),
            Some("2024-01-02 03:04:05")
        );
    }
}
