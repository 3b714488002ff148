//! Exports: a table or query of a connection written by byob into the org's bucket as CSV, JSON Lines or
//! Parquet, once or on a schedule, each run delivered atomically with a manifest and a `_SUCCESS` marker.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ExportId, IntegrationId, JobId, OrgId, job::JobError, job::JobState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Jsonl,
    Parquet,
}

impl ExportFormat {
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Jsonl => "jsonl",
            Self::Parquet => "parquet",
        }
    }

    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Jsonl => "application/jsonl",
            Self::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// CSV and JSON Lines files are compressed whole (`gzip`, `zstd`); Parquet compresses its pages (`snappy`,
/// `zstd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Snappy,
}

impl Compression {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
            Self::Snappy => "snappy",
        }
    }

    /// What a whole-file compression adds to the file name (`.gz`, `.zst`).
    #[must_use]
    pub fn suffix(self, format: ExportFormat) -> &'static str {
        match (format, self) {
            (ExportFormat::Parquet, _) | (_, Self::None | Self::Snappy) => "",
            (_, Self::Gzip) => ".gz",
            (_, Self::Zstd) => ".zst",
        }
    }

    /// Whether `format` can use this compression.
    #[must_use]
    pub fn fits(self, format: ExportFormat) -> bool {
        match format {
            ExportFormat::Parquet => matches!(self, Self::None | Self::Snappy | Self::Zstd),
            ExportFormat::Csv | ExportFormat::Jsonl => matches!(self, Self::None | Self::Gzip | Self::Zstd),
        }
    }

    #[must_use]
    pub fn default_for(format: ExportFormat) -> Self {
        match format {
            ExportFormat::Parquet => Self::Snappy,
            ExportFormat::Csv | ExportFormat::Jsonl => Self::None,
        }
    }
}

/// What is exported: a whole table, or the rows of one read-only query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExportSource {
    Table { table: String },
    Query { sql: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineEnding {
    #[default]
    Lf,
    Crlf,
}

/// How JSON Lines writes decimals: as strings (exact whatever the reader) or as JSON numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecimalsAs {
    #[default]
    String,
    Number,
}

/// How files are written and split.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ExportOptions {
    /// CSV: `lf` (default) or `crlf`.
    pub line_ending: LineEnding,
    /// CSV: how NULL is written (default empty, unquoted; an empty string is written `""`).
    pub null_value: String,
    /// JSON Lines: decimals as `string` (default) or `number`.
    pub decimals: DecimalsAs,
    /// Start a new file after this many rows (1 to 10^12).
    #[schema(minimum = 1, maximum = 1_000_000_000_000_u64)]
    pub max_rows_per_file: Option<u64>,
    /// Start a new file once a file reaches this many bytes, as written after compression (1 MiB to 5 TiB).
    #[schema(minimum = 1_048_576, maximum = 5_497_558_138_880_u64)]
    pub max_bytes_per_file: Option<u64>,
}

/// When runs happen: a cron expression read in a time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CronSchedule {
    /// Five fields (minute hour day-of-month month day-of-week), or six with seconds first.
    pub cron: String,
    /// An IANA time zone, e.g. `Europe/Paris` (default `UTC`).
    pub timezone: String,
    pub paused: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Export {
    pub id: ExportId,
    pub org_id: OrgId,
    pub name: String,
    /// The connection's name (`local` for the embedded warehouse).
    pub connection: String,
    pub source: ExportSource,
    pub format: ExportFormat,
    pub compression: Compression,
    pub options: ExportOptions,
    /// Where files go: this integration, or (when absent) the integration serving exports or the default storage.
    pub integration: Option<IntegrationId>,
    /// Where each file goes under the prefix, with `{{org}}`, `{{export}}`, `{{run_id}}`, `{{date}}`,
    /// `{{datetime}}` and `{{part}}`.
    pub path_template: String,
    /// Staging export: a run's files are deleted once acknowledged, or this many hours after the run.
    pub staging_ttl_hours: Option<u32>,
    pub schedule: Option<CronSchedule>,
    /// The next time the schedule fires (absent without a schedule or while paused).
    pub next_run_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    Manual,
    Schedule,
}

impl RunTrigger {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Schedule => "schedule",
        }
    }
}

/// A file a run delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveredFile {
    /// Key under the destination's prefix.
    pub key: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// A file a run is writing and has not completed. Recorded *before* its upload starts, so a process that dies
/// at any point leaves the key to clean up: recovery aborts the recorded upload and every other unfinished
/// upload the bucket lists for the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingWrite {
    pub key: String,
    /// The provider's upload id, once it exists and was recorded.
    #[serde(default)]
    pub upload_id: Option<String>,
}

/// One run of an export; its id is the id of the job that runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExportRun {
    pub id: JobId,
    pub export_id: ExportId,
    pub org_id: OrgId,
    pub trigger: RunTrigger,
    /// The schedule time this run stands for (scheduled runs).
    pub scheduled_for: Option<DateTime<Utc>>,
    /// The job's state: queued, running, succeeded, failed or cancelled.
    pub state: JobState,
    pub error: Option<JobError>,
    /// Where the files went: the integration (absent for the default storage).
    pub integration: Option<IntegrationId>,
    pub files: Vec<DeliveredFile>,
    /// `_manifest.json`'s key, once written.
    pub manifest_key: Option<String>,
    pub rows: u64,
    pub bytes: u64,
    #[serde(skip)]
    pub pending: Vec<PendingWrite>,
    /// Staging exports: when the janitor deletes the files unless acknowledged sooner.
    pub expires_at: Option<DateTime<Utc>>,
    pub acked_at: Option<DateTime<Utc>>,
    /// When the files were deleted (acknowledged, expired, or a failed run's leftovers).
    pub cleaned_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Statement kinds an export may run: they only read.
const READING_STATEMENTS: [&str; 4] = ["select", "with", "values", "table"];

/// The first keyword of a SQL statement, past whitespace, comments and opening parentheses.
fn first_keyword(sql: &str) -> String {
    let mut rest = sql;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r);
        } else {
            break;
        }
    }
    rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_lowercase()
}

/// Refuses an export query that is not a reading statement (`DELETE … RETURNING`, `UPDATE`, DDL…), naming what it
/// is: exports only read. (A data-modifying `WITH` is refused by the platform's read-only transaction.)
///
/// # Errors
/// [`crate::location::FieldError`] with rule `export-query-not-read-only`.
pub fn check_read_only_query(field: &str, sql: &str) -> Result<(), crate::location::FieldError> {
    let keyword = first_keyword(sql);
    if READING_STATEMENTS.contains(&keyword.as_str()) {
        return Ok(());
    }
    let what = if keyword.is_empty() { "no statement".to_string() } else { format!("`{}`", keyword.to_uppercase()) };
    Err(crate::location::FieldError::new(
        field,
        crate::rules::EXPORT_QUERY_NOT_READ_ONLY,
        format!("exports only read: this query begins with {what}; write one SELECT (or WITH … SELECT, VALUES, TABLE)"),
    ))
}

#[cfg(test)]
mod read_only_tests {
    use super::*;

    #[test]
    fn reading_statements_pass_and_writing_ones_are_named() {
        for sql in [
            "SELECT 1",
            " (select 1)",
            "-- a comment\nWITH a AS (SELECT 1) SELECT * FROM a",
            "/* x */ values (1)",
            "TABLE t",
        ] {
            assert!(check_read_only_query("query", sql).is_ok(), "{sql}");
        }
        for (sql, named) in [
            ("DELETE FROM t RETURNING *", "`DELETE`"),
            ("update t set a = 1 returning a", "`UPDATE`"),
            ("INSERT INTO t VALUES (1) RETURNING *", "`INSERT`"),
            ("drop table t", "`DROP`"),
            ("-- only a comment", "no statement"),
        ] {
            let e = check_read_only_query("query", sql).err().map(|e| e.message).unwrap_or_default();
            assert!(e.contains("exports only read") && e.contains(named), "{sql}: {e}");
        }
    }
}
