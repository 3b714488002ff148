//! Dates and times as ISO-8601 text, written digit by digit: this runs for every date and timestamp a load
//! writes, where chrono's format strings cost several times more. The output is what chrono's `%Y-%m-%d` and
//! `%H:%M:%S%.f` give (fractions as 3, 6 or 9 digits, none when zero).

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

fn two(out: &mut String, n: u32) {
    out.push(char::from(b'0' + u8::try_from(n / 10 % 10).unwrap_or(0)));
    out.push(char::from(b'0' + u8::try_from(n % 10).unwrap_or(0)));
}

pub fn push_date(out: &mut String, d: NaiveDate) {
    let year = d.year();
    if !(0..=9999).contains(&year) {
        out.push_str(&d.format("%Y-%m-%d").to_string());
        return;
    }
    let year = year.unsigned_abs();
    two(out, year / 100);
    two(out, year % 100);
    out.push('-');
    two(out, d.month());
    out.push('-');
    two(out, d.day());
}

/// `YYYY-MM-DD{separator}HH:MM:SS[.fff…]`.
pub fn push_datetime(out: &mut String, t: NaiveDateTime, separator: char) {
    push_date(out, t.date());
    out.push(separator);
    two(out, t.hour());
    out.push(':');
    two(out, t.minute());
    out.push(':');
    two(out, t.second());
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos != 0 {
        let (value, digits) = if nanos.is_multiple_of(1_000_000) {
            (nanos / 1_000_000, 3)
        } else if nanos.is_multiple_of(1_000) {
            (nanos / 1_000, 6)
        } else {
            (nanos, 9)
        };
        out.push('.');
        let text = value.to_string();
        for _ in text.len()..digits {
            out.push('0');
        }
        out.push_str(&text);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn matches_chrono() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 9).unwrap();
        for nanos in [0, 5_000_000, 123_456_000, 1, 999_999_999] {
            let t = d.and_hms_nano_opt(7, 5, 3, nanos).unwrap();
            let mut ours = String::new();
            push_datetime(&mut ours, t, 'T');
            assert_eq!(ours, t.format("%Y-%m-%dT%H:%M:%S%.f").to_string());
        }
        let mut ours = String::new();
        push_date(&mut ours, NaiveDate::from_ymd_opt(7, 12, 31).unwrap());
        assert_eq!(ours, "0007-12-31");
    }
}
