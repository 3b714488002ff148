//! Imports' "most recent file" patterns (seed 003): `folder/sub/file-{{date}}.csv` names one folder and a file
//! name with one ISO-8601 date in it. A key matches when it is directly in that folder (not a subfolder), its
//! name is the literal text around `{{date}}` exactly (case-sensitive), and the text in between is a date in one
//! of the accepted forms. The most recent file is the one whose name holds the latest date: not the newest
//! modification time.
//!
//! Accepted forms (what `{{date}}` matches):
//! - `yyyy-MM-dd` (the day's start);
//! - `yyyy-MM-ddTHH:mm:ss`, optionally with a fraction of 1 to 9 digits (`.5`, `.123456`);
//! - either timestamp followed by `Z` or an offset `±HH:mm`.
//!
//! Times without a zone are read as UTC. Ties (the same instant) go to the more precise form (a date, then a
//! timestamp, then a timestamp with a fraction, each with a zone ranking above without), then to the greater key.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

use crate::location::FieldError;

const FIELD: &str = "pattern";

/// A checked pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatePattern {
    /// The folder, without a trailing `/` (e.g. `myfolderA` or `exports/daily`).
    folder: String,
    /// The file name's text before and after `{{date}}`.
    before: String,
    after: String,
}

/// A date found in a file name, with how precisely it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct NameDate {
    pub instant: DateTime<Utc>,
    /// 0 date, 2 timestamp, 4 timestamp with fraction; +1 with a zone.
    pub precision: u8,
}

fn error(rule: crate::rules::Rule, message: impl Into<String>) -> FieldError {
    FieldError::new(FIELD, rule, message.into())
}

impl DatePattern {
    /// # Errors
    /// A [`FieldError`] naming the rule broken: `pattern-empty`, `pattern-braces` (unbalanced or single braces),
    /// `pattern-placeholder` (an unknown placeholder), `pattern-date-count` (none or more than one `{{date}}`),
    /// `pattern-folder-missing` (no folder, e.g. `/{{date}}-salaries.csv`), `pattern-date-in-folder`,
    /// `pattern-path` (an empty, `.` or `..` segment).
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        if text.trim().is_empty() {
            return Err(error(crate::rules::PATTERN_EMPTY, "give a path such as `folder/sub/file-{{date}}.csv`"));
        }
        let opens = text.matches("{{").count();
        let closes = text.matches("}}").count();
        if opens != closes {
            return Err(error(
                crate::rules::PATTERN_BRACES,
                format!("`{text}` has {opens} `{{{{` but {closes} `}}}}`"),
            ));
        }
        let mut rest = text;
        let mut dates = 0;
        while let Some(open) = rest.find("{{") {
            let after_open = &rest[open + 2..];
            let close = after_open
                .find("}}")
                .ok_or_else(|| error(crate::rules::PATTERN_BRACES, format!("`{{{{` in `{text}` is never closed")))?;
            let name = &after_open[..close];
            if name.contains('{') || name.contains('}') {
                return Err(error(crate::rules::PATTERN_BRACES, format!("nested braces in `{text}`")));
            }
            if name.trim() != "date" {
                return Err(error(
                    crate::rules::PATTERN_PLACEHOLDER,
                    format!("`{{{{{name}}}}}` is not a placeholder; the only one is `{{{{date}}}}`"),
                ));
            }
            dates += 1;
            rest = &after_open[close + 2..];
        }
        let stripped = text.replace("{{date}}", "").replace("{{ date }}", "");
        if stripped.contains('{') || stripped.contains('}') {
            return Err(error(
                crate::rules::PATTERN_BRACES,
                "single braces are not allowed; the placeholder is written `{{date}}`",
            ));
        }
        if dates != 1 {
            return Err(error(
                crate::rules::PATTERN_DATE_COUNT,
                format!("a pattern has exactly one `{{{{date}}}}`, `{text}` has {dates}"),
            ));
        }
        let normalised = text.replace("{{ date }}", "{{date}}");
        let (folder, name) = match normalised.rsplit_once('/') {
            Some((folder, name)) if !folder.is_empty() && !folder.starts_with('/') => (folder, name),
            _ => {
                return Err(error(
                    crate::rules::PATTERN_FOLDER_MISSING,
                    format!(
                        "`{text}` names no folder: write the folder the files are in, e.g. `myfolder/{}`",
                        normalised.trim_start_matches('/')
                    ),
                ));
            }
        };
        if folder.contains("{{date}}") {
            return Err(error(
                crate::rules::PATTERN_DATE_IN_FOLDER,
                "`{{date}}` must be in the file name, after the last `/`",
            ));
        }
        if let Some(bad) = folder.split('/').find(|s| s.is_empty() || *s == "." || *s == "..") {
            return Err(error(
                crate::rules::PATTERN_PATH,
                format!("the folder has an empty, `.` or `..` segment (`{bad}`)"),
            ));
        }
        let (before, after) = name.split_once("{{date}}").unwrap_or((name, ""));
        Ok(Self { folder: folder.to_string(), before: before.to_string(), after: after.to_string() })
    }

    #[must_use]
    pub fn folder(&self) -> &str {
        &self.folder
    }

    /// The text every matching key starts with: the folder, `/`, and the name's text before the date.
    #[must_use]
    pub fn key_prefix(&self) -> String {
        format!("{}/{}", self.folder, self.before)
    }

    /// Whether names begin with the date (then keys sort by date, and a listing can start after a date).
    #[must_use]
    pub fn date_first(&self) -> bool {
        self.before.is_empty()
    }

    /// The date in `key` when it matches, else why it does not.
    ///
    /// # Errors
    /// A short reason for the resolve dry run (`in a subfolder`, `name does not match`, `not a date: …`).
    pub fn date_of(&self, key: &str) -> Result<NameDate, &'static str> {
        let name = key.strip_prefix(&self.folder).and_then(|r| r.strip_prefix('/')).ok_or("outside the folder")?;
        if name.contains('/') {
            return Err("in a subfolder");
        }
        let middle = name
            .strip_prefix(&self.before)
            .and_then(|r| r.strip_suffix(&self.after))
            .filter(|_| name.len() >= self.before.len() + self.after.len())
            .ok_or("name does not match the pattern")?;
        parse_date(middle).ok_or("no ISO-8601 date where {{date}} is")
    }
}

/// One of the accepted forms, or `None`.
#[must_use]
pub fn parse_date(text: &str) -> Option<NameDate> {
    if text.len() == 10 {
        let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
        return (text.as_bytes()[4] == b'-')
            .then(|| NameDate { instant: day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(), precision: 0 });
    }
    if text.len() < 19 || text.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    let (local, zone) = split_zone(text)?;
    let fraction = local.len() > 19;
    if fraction {
        let digits = local.get(20..)?;
        if local.as_bytes()[19] != b'.'
            || digits.is_empty()
            || digits.len() > 9
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
    }
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    if local.len() < 19
        || !local.as_bytes()[..19].iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        })
    {
        return None;
    }
    let instant = match zone {
        Some(offset) => naive.and_local_timezone(offset).single()?.with_timezone(&Utc),
        None => naive.and_utc(),
    };
    let precision = if fraction { 4 } else { 2 } + u8::from(zone.is_some());
    Some(NameDate { instant, precision })
}

/// The timestamp and its zone (`Z` or `±HH:mm`), if any.
fn split_zone(text: &str) -> Option<(&str, Option<FixedOffset>)> {
    if let Some(local) = text.strip_suffix('Z') {
        return Some((local, FixedOffset::east_opt(0)));
    }
    let bytes = text.as_bytes();
    if text.len() >= 25 && matches!(bytes[text.len() - 6], b'+' | b'-') && bytes[text.len() - 3] == b':' {
        let (local, zone) = text.split_at(text.len() - 6);
        let hours: i32 = zone.get(1..3)?.parse().ok()?;
        let minutes: i32 = zone.get(4..6)?.parse().ok()?;
        if hours > 23 || minutes > 59 {
            return None;
        }
        let seconds = (hours * 60 + minutes) * 60;
        let offset =
            if bytes[text.len() - 6] == b'+' { FixedOffset::east_opt(seconds) } else { FixedOffset::west_opt(seconds) };
        return Some((local, Some(offset?)));
    }
    Some((text, None))
}

/// The most recent of `keys` for `pattern`: the latest date, then the more precise form, then the greater key.
#[must_use]
pub fn latest<'a>(pattern: &DatePattern, keys: impl IntoIterator<Item = &'a str>) -> Option<(&'a str, NameDate)> {
    keys.into_iter()
        .filter_map(|k| pattern.date_of(k).ok().map(|d| (k, d)))
        .max_by(|(ka, a), (kb, b)| a.cmp(b).then_with(|| ka.cmp(kb)))
}

/// Which file an import loads.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ImportSource {
    /// Always this key (relative to the integration's prefix). Needs read permission only.
    Fixed { path: String },
    /// The most recent file matching a `{{date}}` pattern. Needs list permission too.
    Latest { pattern: String },
}

/// The object a run loaded, to skip it next time (same key and same ETag/generation).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct LoadedObject {
    pub key: String,
    pub etag: Option<String>,
    pub version: Option<String>,
    pub run: crate::JobId,
    pub loaded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Import {
    pub id: crate::ImportId,
    pub org_id: crate::OrgId,
    pub name: String,
    pub integration: crate::IntegrationId,
    pub source: ImportSource,
    /// The connection's name (`local` for the embedded warehouse) and the table.
    pub connection: String,
    pub table: String,
    /// Load options as for an upload's load (`mode`, `columns`, `on_error`, `max_bad_rows`, `header`,
    /// `delimiter`, `null_tokens`, `encoding`).
    pub load: serde_json::Value,
    pub schedule: Option<crate::export::CronSchedule>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_loaded: Option<LoadedObject>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One run of an import; its id is its job's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ImportRun {
    pub id: crate::JobId,
    pub import_id: crate::ImportId,
    pub org_id: crate::OrgId,
    pub trigger: crate::export::RunTrigger,
    /// Load even a file already loaded.
    pub forced: bool,
    /// The job's state.
    pub state: crate::job::JobState,
    pub error: Option<crate::job::JobError>,
    /// `loaded`, or `skipped` (the file was already loaded), once the run ended well.
    pub outcome: Option<String>,
    /// The file chosen.
    pub key: Option<String>,
    pub etag: Option<String>,
    pub rows: u64,
    /// List requests the resolution made (absent where the provider pages on its own).
    pub list_requests: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn seed_003s_example_comes_out_as_documented() {
        let bucket = [
            "myfolderA/2022-09-15-salaries.csv",
            "myfolderA/2022-10-15-salaries.csv",
            "myfolderA/2022-10-16-revenue.csv",
            "myfolderB/2022-11-15-salaries.csv",
        ];
        let a = DatePattern::parse("myfolderA/{{date}}-salaries.csv").unwrap();
        assert_eq!(latest(&a, bucket).unwrap().0, "myfolderA/2022-10-15-salaries.csv");
        let b = DatePattern::parse("myfolderB/{{date}}-salaries.csv").unwrap();
        assert_eq!(latest(&b, bucket).unwrap().0, "myfolderB/2022-11-15-salaries.csv");
        assert_eq!(DatePattern::parse("/{{date}}-salaries.csv").unwrap_err().rule, "pattern-folder-missing");
    }

    #[test]
    fn the_three_documented_forms_and_their_ties() {
        let p = DatePattern::parse("f/{{date}}-rev.csv").unwrap();
        let keys = ["f/2022-09-30-rev.csv", "f/2022-09-30T00:00:00-rev.csv", "f/2022-09-30T00:00:00Z-rev.csv"];
        assert_eq!(p.date_of(keys[0]).unwrap().precision, 0);
        assert_eq!(p.date_of(keys[1]).unwrap().precision, 2);
        assert_eq!(p.date_of(keys[2]).unwrap().precision, 3);
        // The same instant: the most precise form wins.
        assert_eq!(latest(&p, keys).unwrap().0, keys[2]);
        assert_eq!(p.date_of("f/2022-09-30T00:00:00.250+02:00-rev.csv").unwrap().precision, 5);
        assert_eq!(
            p.date_of("f/2022-09-30T01:00:00+01:00-rev.csv").unwrap().instant,
            p.date_of(keys[1]).unwrap().instant
        );
    }

    #[test]
    fn matching_is_exact_case_sensitive_and_one_folder_deep() {
        let p = DatePattern::parse("in/data-{{date}}.csv").unwrap();
        assert!(p.date_of("in/data-2024-01-01.csv").is_ok());
        assert_eq!(p.date_of("in/sub/data-2024-01-01.csv"), Err("in a subfolder"));
        assert!(p.date_of("in/Data-2024-01-01.csv").is_err());
        assert!(p.date_of("IN/data-2024-01-01.csv").is_err());
        assert!(p.date_of("in/data-2024-01-01.CSV").is_err());
        assert!(p.date_of("in/data-2024-13-01.csv").is_err());
        assert!(p.date_of("in/data-2024-02-30.csv").is_err());
        assert!(p.date_of("in/data-20240101.csv").is_err());
        assert!(p.date_of("in/data-2024-01-01T25:00:00.csv").is_err());
        assert!(p.date_of("in/data-2024-01-01T10:00.csv").is_err());
        assert!(p.date_of("in/data-2024-01-01T10:00:00.1234567890.csv").is_err());
        assert!(p.date_of("in/data-2024-01-01 10:00:00.csv").is_err());
        assert!(p.date_of("inbox/data-2024-01-01.csv").is_err());
    }

    #[test]
    fn malformed_patterns_are_refused_by_rule() {
        let rule = |t: &str| DatePattern::parse(t).unwrap_err().rule;
        assert_eq!(rule(""), "pattern-empty");
        assert_eq!(rule("a/{{date}"), "pattern-braces");
        assert_eq!(rule("a/{{date}}}}"), "pattern-braces");
        assert_eq!(rule("a/{date}.csv"), "pattern-braces");
        assert_eq!(rule("a/{{day}}.csv"), "pattern-placeholder");
        assert_eq!(rule("a/{{date}}-{{date}}.csv"), "pattern-date-count");
        assert_eq!(rule("a/file.csv"), "pattern-date-count");
        assert_eq!(rule("{{date}}.csv"), "pattern-folder-missing");
        assert_eq!(rule("/{{date}}-salaries.csv"), "pattern-folder-missing");
        assert_eq!(rule("{{date}}/x.csv"), "pattern-date-in-folder");
        assert_eq!(rule("a/../b/{{date}}.csv"), "pattern-path");
        assert_eq!(rule("a//b/{{date}}.csv"), "pattern-path");
    }
}
