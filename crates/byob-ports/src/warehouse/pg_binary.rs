//! PostgreSQL's binary COPY format for the types byob creates: the server stores these values without parsing
//! text (integers, numerics, dates and timestamps cost it nothing to read), and byob writes them without
//! formatting digits. Layout: <https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4>; numeric
//! and timestamp wire forms as in PostgreSQL's `numeric_send` and `timestamp_send`.

use chrono::{NaiveDate, NaiveDateTime};

use super::{Batch, Cell};

/// Signature, flags (no OIDs), header extension length.
pub(super) const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// A tuple of -1 fields ends the data.
pub(super) const TRAILER: &[u8] = &[0xff, 0xff];

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;

fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default()
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&i32::try_from(bytes.len()).unwrap_or(i32::MAX).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Microseconds since 2000-01-01: whole days, plus the time of day with its nanoseconds rounded half to even
/// (PostgreSQL keeps microseconds and rounds the fraction of the time of day).
fn micros(t: NaiveDateTime) -> i64 {
    use chrono::Timelike;
    let days = (t.date() - epoch().date()).num_days();
    let time = t.time();
    let nanos = i64::from(time.nanosecond().min(999_999_999));
    let (mut us, rest) = (nanos / 1000, nanos % 1000);
    if rest > 500 || (rest == 500 && us % 2 != 0) {
        us += 1;
    }
    days * 86_400_000_000 + i64::from(time.num_seconds_from_midnight()) * 1_000_000 + us
}

/// A canonical decimal (`-12.50`) as PostgreSQL's binary numeric: base-10000 digits around the point.
fn numeric(out: &mut Vec<u8>, text: &str) {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    let whole = whole.trim_start_matches('0');
    let dscale = u16::try_from(fraction.len()).unwrap_or(u16::MAX);
    let mut digits: Vec<i16> = Vec::with_capacity((whole.len() + fraction.len()) / 4 + 2);
    // Whole part: groups of four from the point leftwards.
    let lead = whole.len() % 4;
    let group = |s: &str| s.bytes().fold(0i16, |n, b| n * 10 + i16::from(b - b'0'));
    if lead > 0 {
        digits.push(group(&whole[..lead]));
    }
    for chunk in whole.as_bytes()[lead..].chunks(4) {
        digits.push(chunk.iter().fold(0i16, |n, b| n * 10 + i16::from(b - b'0')));
    }
    let mut weight = i16::try_from(digits.len()).unwrap_or(i16::MAX) - 1;
    // Fraction: groups of four from the point rightwards, the last padded with zeros.
    for chunk in fraction.as_bytes().chunks(4) {
        let mut n = chunk.iter().fold(0i16, |n, b| n * 10 + i16::from(b - b'0'));
        for _ in chunk.len()..4 {
            n *= 10;
        }
        digits.push(n);
    }
    // No leading or trailing zero groups (the scale keeps the written form).
    let first = digits.iter().position(|d| *d != 0);
    let Some(first) = first else {
        let mut value = Vec::with_capacity(8);
        value.extend_from_slice(&0i16.to_be_bytes());
        value.extend_from_slice(&0i16.to_be_bytes());
        value.extend_from_slice(&NUMERIC_POS.to_be_bytes());
        value.extend_from_slice(&dscale.to_be_bytes());
        field(out, &value);
        return;
    };
    weight -= i16::try_from(first).unwrap_or(0);
    let last = digits.iter().rposition(|d| *d != 0).unwrap_or(first);
    let kept = &digits[first..=last];
    out.extend_from_slice(&i32::try_from(8 + 2 * kept.len()).unwrap_or(i32::MAX).to_be_bytes());
    out.extend_from_slice(&i16::try_from(kept.len()).unwrap_or(i16::MAX).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&(if negative { NUMERIC_NEG } else { NUMERIC_POS }).to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
    for d in kept {
        out.extend_from_slice(&d.to_be_bytes());
    }
}

/// Appends one tuple.
pub(super) fn push_row(out: &mut Vec<u8>, row: &[Cell], batch: &Batch) {
    out.extend_from_slice(&i16::try_from(row.len()).unwrap_or(i16::MAX).to_be_bytes());
    for cell in row {
        match cell {
            Cell::Null => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Cell::Integer(v) => field(out, &v.to_be_bytes()),
            Cell::Float(v) => field(out, &v.to_be_bytes()),
            Cell::Boolean(v) => field(out, &[u8::from(*v)]),
            Cell::Decimal(span) => numeric(out, batch.str(*span)),
            Cell::Date(d) => {
                let days = (*d - epoch().date()).num_days();
                field(out, &i32::try_from(days).unwrap_or(i32::MAX).to_be_bytes());
            }
            Cell::Timestamp(t) => field(out, &micros(*t).to_be_bytes()),
            Cell::TimestampTz(t) => field(out, &micros(t.naive_utc()).to_be_bytes()),
            Cell::Text(span) => field(out, batch.str(*span).as_bytes()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn encoded(text: &str) -> Vec<i16> {
        let mut out = Vec::new();
        numeric(&mut out, text);
        out[4..].chunks(2).map(|c| i16::from_be_bytes([c[0], c[1]])).collect()
    }

    #[test]
    fn numerics_as_postgres_sends_them() {
        // ndigits, weight, sign, dscale, digits…
        assert_eq!(encoded("123.45"), [2, 0, 0, 2, 123, 4500]);
        assert_eq!(encoded("-12345678.9"), [3, 1, 0x4000, 1, 1234, 5678, 9000]);
        assert_eq!(encoded("0.0001"), [1, -1, 0, 4, 1]);
        assert_eq!(encoded("10000"), [1, 1, 0, 0, 1]);
        assert_eq!(encoded("-0.00"), [0, 0, 0, 2]);
        assert_eq!(encoded("0"), [0, 0, 0, 0]);
        assert_eq!(encoded("370.10"), [2, 0, 0, 2, 370, 1000]);
    }

    #[test]
    fn timestamps_round_like_the_text_input() {
        let t = |nanos| NaiveDate::from_ymd_opt(2000, 1, 1).unwrap().and_hms_nano_opt(0, 0, 1, nanos).unwrap();
        assert_eq!(micros(t(0)), 1_000_000);
        assert_eq!(micros(t(1_500)), 1_000_002, "half to even");
        assert_eq!(micros(t(2_500)), 1_000_002);
        assert_eq!(micros(t(2_501)), 1_000_003);
        let before = NaiveDate::from_ymd_opt(1999, 12, 31).unwrap().and_hms_opt(23, 59, 59).unwrap();
        assert_eq!(micros(before), -1_000_000);
    }
}
