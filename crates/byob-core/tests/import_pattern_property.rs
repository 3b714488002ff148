//! Property: over random sets of keys in mixed folders, names and date forms (valid and not), the file a
//! pattern picks is always the maximum, by the date written in its name, of the keys that are directly in the
//! pattern's folder and match its name. The oracle knows each key's date from how the key was generated, not by
//! parsing it.
#![allow(clippy::unwrap_used)]

use byob_core::import::{DatePattern, latest};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

/// How a generated key was built, and what the oracle expects of it.
#[derive(Debug, Clone)]
struct Generated {
    key: String,
    /// `(instant, precision)` when the key should match `in/data-{{date}}.csv`.
    expected: Option<(DateTime<Utc>, u8)>,
}

fn key() -> impl Strategy<Value = Generated> {
    (
        0..4usize,                   // folder
        0..3usize,                   // name prefix
        0..5usize,                   // date form
        0i64..(3 * 365 * 24 * 3600), // seconds after 2023-01-01
        0u32..1_000_000,             // microseconds
        -14i32..15,                  // offset hours
        0..3usize,                   // suffix
        any::<bool>(),               // a broken date
    )
        .prop_map(|(folder, prefix, form, secs, micros, offset_h, suffix, broken)| {
            let base = DateTime::parse_from_rfc3339("2023-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
            let at = base + Duration::seconds(secs);
            let (text, instant, precision) = match form {
                0 => {
                    let day = at.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
                    (at.format("%Y-%m-%d").to_string(), day, 0)
                }
                1 => (at.format("%Y-%m-%dT%H:%M:%S").to_string(), at, 2),
                2 => (at.format("%Y-%m-%dT%H:%M:%SZ").to_string(), at, 3),
                3 => {
                    let precise = at + Duration::microseconds(i64::from(micros));
                    (format!("{}.{micros:06}", at.format("%Y-%m-%dT%H:%M:%S")), precise, 4)
                }
                _ => {
                    // The local time in a zone `offset_h` hours east, written with that offset.
                    let local = at + Duration::hours(i64::from(offset_h));
                    let sign = if offset_h < 0 { '-' } else { '+' };
                    (format!("{}{sign}{:02}:00", local.format("%Y-%m-%dT%H:%M:%S"), offset_h.abs()), at, 3)
                }
            };
            let text = if broken { text.replacen('-', "/", 1).replace('/', "x") } else { text };
            let folder_text = ["in", "in/sub", "In", "inbox"][folder];
            let prefix_text = ["data-", "Data-", "data_"][prefix];
            let suffix_text = [".csv", ".CSV", ".csv.gz"][suffix];
            let matches = folder == 0 && prefix == 0 && suffix == 0 && !broken;
            Generated {
                key: format!("{folder_text}/{prefix_text}{text}{suffix_text}"),
                expected: matches.then_some((instant, precision)),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_chosen_file_is_the_latest_matching_date(keys in prop::collection::vec(key(), 0..60)) {
        let pattern = DatePattern::parse("in/data-{{date}}.csv").unwrap();
        let chosen = latest(&pattern, keys.iter().map(|g| g.key.as_str())).map(|(k, d)| (k.to_string(), d.instant));
        let expected = keys
            .iter()
            .filter_map(|g| g.expected.map(|(instant, precision)| (instant, precision, g.key.clone())))
            .max()
            .map(|(instant, _, key)| (key, instant));
        prop_assert_eq!(chosen, expected);
    }
}
