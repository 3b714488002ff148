//! Snowflake's result rows in Arrow, as byob's typed cells. Snowflake sends `NUMBER(p,s)` as scaled integers
//! (or 128-bit decimals), timestamps as `{epoch, fraction[, timezone]}` structs (or scaled 64-bit integers),
//! dates as days, text as UTF-8; the result's row type says which Snowflake type each column is.

use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int8Array, Int16Array,
    Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray, StructArray,
};
use chrono::{DateTime, NaiveDate, Utc};

use super::session::RowType;
use crate::warehouse::{Batch, Cell, Field, FieldKind, WarehouseError, decimal::scaled, push_span};

/// byob's kind for a Snowflake column.
pub(super) fn kind_of(t: &RowType) -> FieldKind {
    match t.kind.as_str() {
        "fixed" if t.scale.unwrap_or(0) == 0 && t.precision.unwrap_or(38) <= 18 => FieldKind::Int64,
        // NUMBER(38,0), Snowflake's INTEGER: byob's integers, as long as each value fits (checked per value).
        "fixed" if t.scale.unwrap_or(0) == 0 => FieldKind::Int64,
        "fixed" => FieldKind::Decimal {
            precision: t.precision.and_then(|p| u16::try_from(p).ok()),
            scale: t.scale.and_then(|s| u16::try_from(s).ok()),
        },
        "real" => FieldKind::Float64,
        "boolean" => FieldKind::Boolean,
        "date" => FieldKind::Date,
        "timestamp_ntz" => FieldKind::Timestamp,
        "timestamp_ltz" | "timestamp_tz" => FieldKind::TimestampTz,
        _ => FieldKind::Text,
    }
}

pub(super) fn fields(rowtype: &[RowType]) -> Vec<Field> {
    rowtype.iter().map(|t| Field { name: t.name.clone(), kind: kind_of(t) }).collect()
}

fn unreadable(column: &str, what: &str) -> WarehouseError {
    WarehouseError::Unsupported(format!("column `{column}`: {what}; cast it in the query"))
}

/// The integer at `row` of an integer or decimal column, unscaled.
fn integer_at(array: &ArrayRef, row: usize) -> Option<i128> {
    let a = array.as_any();
    if let Some(v) = a.downcast_ref::<Int64Array>() {
        return Some(i128::from(v.value(row)));
    }
    if let Some(v) = a.downcast_ref::<Int32Array>() {
        return Some(i128::from(v.value(row)));
    }
    if let Some(v) = a.downcast_ref::<Int16Array>() {
        return Some(i128::from(v.value(row)));
    }
    if let Some(v) = a.downcast_ref::<Int8Array>() {
        return Some(i128::from(v.value(row)));
    }
    a.downcast_ref::<Decimal128Array>().map(|v| v.value(row))
}

/// The instant at `row` of a timestamp column: a struct `{epoch, fraction[, timezone]}` (seconds and
/// nanoseconds), a struct `{epoch, timezone}` (epoch scaled by `scale`), or a scaled integer.
fn instant_at(array: &ArrayRef, row: usize, scale: u32) -> Option<DateTime<Utc>> {
    let from_scaled = |v: i64| {
        let unit = 10i64.pow(scale.min(9));
        let nanos = u32::try_from(v.rem_euclid(unit) * 10i64.pow(9 - scale.min(9))).ok()?;
        DateTime::from_timestamp(v.div_euclid(unit), nanos)
    };
    if let Some(s) = array.as_any().downcast_ref::<StructArray>() {
        let epoch = s.column_by_name("epoch")?.as_any().downcast_ref::<Int64Array>()?;
        if epoch.is_null(row) {
            return None;
        }
        return match s.column_by_name("fraction").and_then(|f| f.as_any().downcast_ref::<Int32Array>().cloned()) {
            Some(fraction) => {
                DateTime::from_timestamp(epoch.value(row), u32::try_from(fraction.value(row)).unwrap_or(0))
            }
            None => from_scaled(epoch.value(row)),
        };
    }
    array.as_any().downcast_ref::<Int64Array>().and_then(|v| from_scaled(v.value(row)))
}

fn text_at(array: &ArrayRef, row: usize) -> Option<&str> {
    let a = array.as_any();
    if let Some(v) = a.downcast_ref::<StringArray>() {
        return Some(v.value(row));
    }
    a.downcast_ref::<LargeStringArray>().map(|v| v.value(row))
}

/// Appends a record batch's rows to `out` as cells of the result's kinds.
pub(super) fn append(
    batch: &RecordBatch,
    rowtype: &[RowType],
    kinds: &[FieldKind],
    out: &mut Batch,
) -> Result<(), WarehouseError> {
    for row in 0..batch.num_rows() {
        for (i, (t, kind)) in rowtype.iter().zip(kinds).enumerate() {
            let array = batch.column(i);
            // A timestamp struct may be valid with null children: its epoch says.
            if array.is_null(row) {
                out.cells.push(Cell::Null);
                continue;
            }
            let scale = t.scale.unwrap_or(0);
            let cell = match kind {
                FieldKind::Int64 | FieldKind::Int32 | FieldKind::Int16 => {
                    let v =
                        integer_at(array, row).ok_or_else(|| unreadable(&t.name, "an integer Snowflake sent oddly"))?;
                    Cell::Integer(
                        i64::try_from(v).map_err(|_| unreadable(&t.name, &format!("{v} is outside 64 bits")))?,
                    )
                }
                FieldKind::Decimal { .. } => {
                    let v =
                        integer_at(array, row).ok_or_else(|| unreadable(&t.name, "a number Snowflake sent oddly"))?;
                    Cell::Decimal(push_span(&mut out.text, &scaled(v, scale)))
                }
                FieldKind::Float64 | FieldKind::Float32 => {
                    let a = array.as_any();
                    let v = a
                        .downcast_ref::<Float64Array>()
                        .map(|v| v.value(row))
                        .or_else(|| a.downcast_ref::<Float32Array>().map(|v| f64::from(v.value(row))))
                        .ok_or_else(|| unreadable(&t.name, "a float Snowflake sent oddly"))?;
                    Cell::Float(v)
                }
                FieldKind::Boolean => Cell::Boolean(
                    array
                        .as_any()
                        .downcast_ref::<BooleanArray>()
                        .ok_or_else(|| unreadable(&t.name, "a boolean Snowflake sent oddly"))?
                        .value(row),
                ),
                FieldKind::Date => {
                    let days = array
                        .as_any()
                        .downcast_ref::<Date32Array>()
                        .ok_or_else(|| unreadable(&t.name, "a date Snowflake sent oddly"))?
                        .value(row);
                    NaiveDate::from_num_days_from_ce_opt(days + 719_163).map_or(Cell::Null, Cell::Date)
                }
                FieldKind::Timestamp => {
                    instant_at(array, row, scale).map_or(Cell::Null, |t| Cell::Timestamp(t.naive_utc()))
                }
                FieldKind::TimestampTz => instant_at(array, row, scale).map_or(Cell::Null, Cell::TimestampTz),
                FieldKind::Text => match text_at(array, row) {
                    Some(text) => Cell::Text(push_span(&mut out.text, text)),
                    None => {
                        return Err(unreadable(
                            &t.name,
                            &format!("Snowflake's type `{}` has no text form here", t.kind),
                        ));
                    }
                },
            };
            out.cells.push(cell);
        }
    }
    Ok(())
}

/// The rows of a JSON rowset (Snowflake's answer to statements that are not queries, and some results): text,
/// converted by kind.
pub(super) fn append_json(
    rows: &[Vec<Option<String>>],
    rowtype: &[RowType],
    kinds: &[FieldKind],
    out: &mut Batch,
) -> Result<(), WarehouseError> {
    for row in rows {
        for ((value, t), kind) in row.iter().zip(rowtype).zip(kinds) {
            let Some(value) = value else {
                out.cells.push(Cell::Null);
                continue;
            };
            let cell = match kind {
                FieldKind::Int64 | FieldKind::Int32 | FieldKind::Int16 => Cell::Integer(
                    value.parse().map_err(|_| unreadable(&t.name, &format!("`{value}` is not an integer")))?,
                ),
                FieldKind::Float64 | FieldKind::Float32 => {
                    Cell::Float(value.parse().map_err(|_| unreadable(&t.name, &format!("`{value}` is not a number")))?)
                }
                FieldKind::Boolean => Cell::Boolean(value == "1" || value.eq_ignore_ascii_case("true")),
                FieldKind::Decimal { .. } => Cell::Decimal(push_span(&mut out.text, value)),
                _ => Cell::Text(push_span(&mut out.text, value)),
            };
            out.cells.push(cell);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_integers_print_as_decimals() {
        assert_eq!(scaled(-1234, 2), "-12.34");
        assert_eq!(scaled(5, 3), "0.005");
        assert_eq!(scaled(1250, 2), "12.50");
        assert_eq!(scaled(7, 0), "7");
    }

    #[test]
    fn scaled_timestamps_keep_their_fraction() {
        let array: ArrayRef = std::sync::Arc::new(Int64Array::from(vec![1_704_164_645_123_456]));
        let at = instant_at(&array, 0, 6).map(|t| t.to_rfc3339());
        assert_eq!(at.as_deref(), Some("2024-01-02T03:04:05.123456+00:00"));
    }
}
