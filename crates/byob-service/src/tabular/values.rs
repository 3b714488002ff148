//! Field values: which type a text fits, and its conversion to that type. The accepted forms are documented
//! in docs/uploads.md; anything else is text (when inferring) or a bad value (when converting).

use byob_core::table::ColumnType;
use byob_ports::warehouse::Cell;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

const TIMESTAMP_FORMATS: [&str; 4] =
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"];
const ZONED_FORMATS: [&str; 4] =
    ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"];

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
fn decimal(text: &str) -> Option<String> {
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
    let whole = if whole.is_empty() { "0" } else { whole };
    Some(if fraction.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}.{fraction}") })
}

fn boolean(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" => Some(true),
        "false" | "f" | "no" | "n" => Some(false),
        _ => None,
    }
}

fn date(text: &str) -> Option<NaiveDate> {
    (text.len() == 10).then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()).flatten()
}

fn timestamp(text: &str) -> Option<NaiveDateTime> {
    if text.len() < 16 {
        return None;
    }
    TIMESTAMP_FORMATS.iter().find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
}

fn timestamp_tz(text: &str) -> Option<DateTime<Utc>> {
    if text.len() < 17 {
        return None;
    }
    if let Some(utc) = text.strip_suffix(['Z', 'z']) {
        return timestamp(utc).map(|t| t.and_utc());
    }
    ZONED_FORMATS
        .iter()
        .find_map(|f| DateTime::<FixedOffset>::parse_from_str(text, f).ok())
        .or_else(|| {
            // `+05` (hours only), as PostgreSQL writes it.
            let (head, tail) = text.split_at(text.len().checked_sub(3)?);
            (tail.starts_with(['+', '-']) && tail[1..].bytes().all(|b| b.is_ascii_digit()))
                .then(|| {
                    let full = format!("{head}{tail}:00");
                    ZONED_FORMATS.iter().find_map(|f| DateTime::<FixedOffset>::parse_from_str(&full, f).ok())
                })
                .flatten()
        })
        .map(|t| t.with_timezone(&Utc))
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

/// Converts a non-null field, or says why it does not fit.
///
/// # Errors
/// A message naming the type and the accepted forms.
pub fn convert(text: &str, to: ColumnType) -> Result<Cell, String> {
    let shown = || {
        let short: String = text.chars().take(40).collect();
        if short.len() < text.len() { format!("`{short}…`") } else { format!("`{short}`") }
    };
    match to {
        ColumnType::Text => {
            if text.contains('\0') {
                Err("text must not contain the NUL character".into())
            } else {
                Ok(Cell::Text(text.to_string()))
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
            .map(Cell::Decimal)
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
        assert_eq!(convert(".5", ColumnType::Decimal).unwrap(), Cell::Decimal("0.5".into()));
        assert_eq!(convert("+12.50", ColumnType::Decimal).unwrap(), Cell::Decimal("12.50".into()));
        let zoned = convert("2024-01-01T01:00:00+01:00", ColumnType::TimestampTz).unwrap();
        assert_eq!(zoned, Cell::TimestampTz("2024-01-01T00:00:00Z".parse().unwrap()));
        assert!(convert("abc", ColumnType::Integer).unwrap_err().contains("not an integer"));
        assert!(convert("99999999999999999999", ColumnType::Integer).unwrap_err().contains("64-bit"));
        assert!(convert("a\0b", ColumnType::Text).is_err());
        assert!(convert("2024-13-01", ColumnType::Date).unwrap_err().contains("YYYY-MM-DD"));
    }
}
