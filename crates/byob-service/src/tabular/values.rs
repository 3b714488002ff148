//! Field values: which type a text fits, and its conversion to that type. The accepted forms are documented
//! in docs/uploads.md; anything else is text (when inferring) or a bad value (when converting).

use byob_core::table::ColumnType;
use std::borrow::Cow;

use byob_ports::warehouse::{Cell, push_span};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};

fn integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A plain decimal (`-12.50`, `.5`, `3.`): sign, digits, one point; no exponent, no thousands separators.
/// Returns the canonical text (`0.5`, `3`, `-12.50`): a leading zero is added, a `+` and a trailing point
/// dropped, the scale kept.
fn decimal(text: &str) -> Option<Cow<'_, str>> {
    let (sign, body) = match text.as_bytes().first()? {
        b'-' => ("-", &text[1..]),
        b'+' => ("", &text[1..]),
        _ => ("", text),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if whole.len() + fraction.len() > 1000 {
        return None;
    }
    let canonical = !whole.is_empty() && !text.starts_with('+') && !text.ends_with('.');
    if canonical {
        return Some(Cow::Borrowed(text));
    }
    let whole = if whole.is_empty() { "0" } else { whole };
    Some(Cow::Owned(if fraction.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}.{fraction}") }))
}

fn boolean(text: &str) -> Option<bool> {
    let is = |word: &str| text.eq_ignore_ascii_case(word);
    if is("true") || is("t") || is("yes") || is("y") {
        Some(true)
    } else if is("false") || is("f") || is("no") || is("n") {
        Some(false)
    } else {
        None
    }
}

fn number(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

/// `YYYY-MM-DD`, a real date. Parsed by hand: this runs for every field of a date column, and chrono's
/// format-string parser costs several times more; chrono still decides what a valid date is.
fn date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i32::try_from(number(&b[..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, number(&b[5..7])?, number(&b[8..10])?)
}

/// A timestamp at the start of `b` (`YYYY-MM-DD[T ]HH:MM[:SS[.fraction]]`, up to 9 fraction digits) and the
/// bytes it took.
fn naive_prefix(b: &[u8]) -> Option<(NaiveDateTime, usize)> {
    if b.len() < 16 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' {
        return None;
    }
    let day = date(std::str::from_utf8(&b[..10]).ok()?)?;
    let (hour, minute) = (number(&b[11..13])?, number(&b[14..16])?);
    let (mut second, mut nanos, mut at) = (0, 0, 16);
    if b.len() >= 19 && b[16] == b':' {
        second = number(&b[17..19])?;
        at = 19;
        if b.len() > 19 && b[19] == b'.' {
            let digits = b[20..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            nanos = number(&b[20..20 + digits])? * 10u32.pow(9 - u32::try_from(digits).ok()?);
            at = 20 + digits;
        }
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    Some((day.and_time(time), at))
}

fn timestamp(text: &str) -> Option<NaiveDateTime> {
    naive_prefix(text.as_bytes()).filter(|(_, used)| *used == text.len()).map(|(t, _)| t)
}

/// A timestamp followed by `Z`, `±HH`, `±HHMM` or `±HH:MM`, in UTC.
fn timestamp_tz(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let (local, used) = naive_prefix(b)?;
    let zone = &b[used..];
    let offset_secs = match zone {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (hours, minutes) = match rest {
                [h1, h2] => (number(&[*h1, *h2])?, 0),
                [h1, h2, m1, m2] | [h1, h2, b':', m1, m2] => (number(&[*h1, *h2])?, number(&[*m1, *m2])?),
                _ => return None,
            };
            if hours > 23 || minutes > 59 {
                return None;
            }
            let secs = i32::try_from(hours * 3600 + minutes * 60).ok()?;
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let offset = FixedOffset::east_opt(offset_secs)?;
    local.and_local_timezone(offset).single().map(|t| t.with_timezone(&Utc))
}

/// The narrowest type `text` fits (not counting nulls).
fn type_of(text: &str) -> ColumnType {
    if integer(text).is_some() {
        ColumnType::Integer
    } else if decimal(text).is_some() {
        ColumnType::Decimal
    } else if boolean(text).is_some() {
        ColumnType::Boolean
    } else if date(text).is_some() {
        ColumnType::Date
    } else if timestamp(text).is_some() {
        ColumnType::Timestamp
    } else if timestamp_tz(text).is_some() {
        ColumnType::TimestampTz
    } else {
        ColumnType::Text
    }
}

/// The type every non-null value of a column fits: integers widen to decimals; any other mix is text. A column
/// of nulls only is text.
#[must_use]
pub fn infer<'a>(values: impl IntoIterator<Item = &'a str>) -> ColumnType {
    let mut found: Option<ColumnType> = None;
    for value in values {
        let t = type_of(value);
        found = Some(match (found, t) {
            (None, t) => t,
            (Some(a), b) if a == b => a,
            (Some(ColumnType::Integer | ColumnType::Decimal), ColumnType::Integer | ColumnType::Decimal) => {
                ColumnType::Decimal
            }
            _ => return ColumnType::Text,
        });
    }
    found.unwrap_or(ColumnType::Text)
}

/// Converts a non-null field, or says why it does not fit. Text and decimals are appended to `buffer`, the
/// batch's text, and the cell points there.
///
/// # Errors
/// A message naming the type and the accepted forms.
pub fn convert(text: &str, to: ColumnType, buffer: &mut String) -> Result<Cell, String> {
    let shown = || {
        let short: String = text.chars().take(40).collect();
        if short.len() < text.len() { format!("`{short}…`") } else { format!("`{short}`") }
    };
    match to {
        ColumnType::Text => {
            if text.contains('\0') {
                Err("text must not contain the NUL character".into())
            } else {
                Ok(Cell::Text(push_span(buffer, text)))
            }
        }
        ColumnType::Integer => integer(text).map(Cell::Integer).ok_or_else(|| {
            if decimal(text).is_some() && text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+')) {
                format!("{} is outside the 64-bit integer range", shown())
            } else {
                format!("{} is not an integer (digits with an optional sign)", shown())
            }
        }),
        ColumnType::Decimal => decimal(text)
            .map(|d| Cell::Decimal(push_span(buffer, &d)))
            .ok_or_else(|| format!("{} is not a decimal (like -12.50; no exponent or thousands separator)", shown())),
        ColumnType::Boolean => boolean(text)
            .map(Cell::Boolean)
            .ok_or_else(|| format!("{} is not a boolean (true/false, yes/no, t/f, y/n)", shown())),
        ColumnType::Date => date(text).map(Cell::Date).ok_or_else(|| format!("{} is not a date (YYYY-MM-DD)", shown())),
        ColumnType::Timestamp => timestamp(text)
            .map(Cell::Timestamp)
            .ok_or_else(|| format!("{} is not a timestamp (YYYY-MM-DD HH:MM:SS, optional fraction, no zone)", shown())),
        ColumnType::TimestampTz => timestamp_tz(text).map(Cell::TimestampTz).ok_or_else(|| {
            format!("{} is not a timestamp with zone (YYYY-MM-DDTHH:MM:SS followed by Z or ±HH:MM)", shown())
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn inference() {
        assert_eq!(infer(["1", "-2", "+3"]), ColumnType::Integer);
        assert_eq!(infer(["1", "2.50"]), ColumnType::Decimal);
        assert_eq!(infer(["true", "no"]), ColumnType::Boolean);
        assert_eq!(infer(["2024-02-29"]), ColumnType::Date);
        assert_eq!(infer(["2024-02-29 10:00:00", "2024-03-01T00:00:00.123"]), ColumnType::Timestamp);
        assert_eq!(
            infer(["2024-02-29T10:00:00Z", "2024-02-29 10:00:00+05:30", "2024-01-01 00:00:00-08"]),
            ColumnType::TimestampTz
        );
        assert_eq!(infer(["1", "x"]), ColumnType::Text);
        assert_eq!(infer(["2024-02-30"]), ColumnType::Text, "not a real date");
        assert_eq!(infer(["1e5"]), ColumnType::Text, "no exponents");
        assert_eq!(infer(["99999999999999999999"]), ColumnType::Decimal, "too big for 64 bits");
        assert_eq!(infer(std::iter::empty()), ColumnType::Text);
    }

    #[test]
    fn conversion() {
        let mut buffer = String::new();
        let mut text_of = |value: &str, t: ColumnType| match convert(value, t, &mut buffer).unwrap() {
            Cell::Decimal(span) | Cell::Text(span) => buffer[span.start as usize..span.end as usize].to_string(),
            other => format!("{other:?}"),
        };
        assert_eq!(text_of(".5", ColumnType::Decimal), "0.5");
        assert_eq!(text_of("+12.50", ColumnType::Decimal), "12.50");
        assert_eq!(text_of("-3", ColumnType::Decimal), "-3");
        assert_eq!(text_of("x\ty", ColumnType::Text), "x\ty");
        let convert = |value: &str, t: ColumnType| convert(value, t, &mut String::new());
        let zoned = convert("2024-01-01T01:00:00+01:00", ColumnType::TimestampTz).unwrap();
        assert_eq!(zoned, Cell::TimestampTz("2024-01-01T00:00:00Z".parse().unwrap()));
        assert!(convert("abc", ColumnType::Integer).unwrap_err().contains("not an integer"));
        assert!(convert("99999999999999999999", ColumnType::Integer).unwrap_err().contains("64-bit"));
        assert!(convert("a\0b", ColumnType::Text).is_err());
        assert!(convert("2024-13-01", ColumnType::Date).unwrap_err().contains("YYYY-MM-DD"));
    }
}
