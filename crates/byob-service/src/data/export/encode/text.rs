//! Values as text, the same whatever platform they came from: integers and decimals in plain notation (no
//! exponent), floats in the shortest form that reads back to the same number, `true`/`false`, ISO-8601 dates,
//! timestamps with `T`, and `Z` for UTC.

use byob_ports::warehouse::{Batch, Cell, FieldKind, push_date, push_datetime};

/// `NaN`, `Infinity` and `-Infinity` as PostgreSQL writes them; otherwise Rust's shortest round-trip decimal,
/// which never uses an exponent.
pub(super) fn push_float(out: &mut String, value: f64, kind: FieldKind) {
    use std::fmt::Write as _;
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "Infinity" } else { "-Infinity" });
    } else if kind == FieldKind::Float32 {
        #[allow(clippy::cast_possible_truncation)]
        let _ = write!(out, "{}", value as f32);
    } else {
        let _ = write!(out, "{value}");
    }
}

pub(super) fn push_integer(out: &mut String, value: i64) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// A non-null, non-text value's text (text is quoted or escaped by the format).
pub(super) fn push_plain(out: &mut String, cell: &Cell, batch: &Batch, kind: FieldKind) {
    match cell {
        Cell::Null => {}
        Cell::Integer(v) => push_integer(out, *v),
        Cell::Float(v) => push_float(out, *v, kind),
        Cell::Decimal(span) | Cell::Text(span) => out.push_str(batch.str(*span)),
        Cell::Boolean(v) => out.push_str(if *v { "true" } else { "false" }),
        Cell::Date(d) => push_date(out, *d),
        Cell::Timestamp(t) => push_datetime(out, *t, 'T'),
        Cell::TimestampTz(t) => {
            push_datetime(out, t.naive_utc(), 'T');
            out.push('Z');
        }
    }
}
