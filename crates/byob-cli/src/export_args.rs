//! Command-line syntax of exports: `byob export` (create one and follow its run) and `byob exports …`.

use clap::{Args, Subcommand, ValueEnum};

use crate::args::OrgArg;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum FormatArg {
    Csv,
    Jsonl,
    Parquet,
}

/// What to export and how (shared by `export` and `exports preview`).
#[derive(Debug, Clone, Args)]
pub(crate) struct FileOpts {
    #[arg(long, value_enum, default_value = "csv")]
    pub format: FormatArg,
    /// CSV/JSONL: none, gzip, zstd; Parquet: snappy, zstd, none.
    #[arg(long)]
    pub compression: Option<String>,
    /// Where files go under the prefix: {{org}} {{export}} {{run_id}} {{date}} {{datetime}} {{part}}.
    #[arg(long)]
    pub path_template: Option<String>,
    /// Start a new file after this many rows ({{part}} numbers them).
    #[arg(long)]
    pub max_rows_per_file: Option<u64>,
    /// Start a new file once one reaches this many bytes.
    #[arg(long)]
    pub max_bytes_per_file: Option<u64>,
    /// CSV lines end with CRLF instead of LF.
    #[arg(long)]
    pub crlf: bool,
    /// CSV: how NULL is written (default: an empty field).
    #[arg(long)]
    pub null_value: Option<String>,
    /// JSONL: decimals as JSON numbers instead of strings.
    #[arg(long)]
    pub decimals_as_numbers: bool,
    /// A cron expression (5 fields, or 6 with seconds): runs follow it instead of one run now.
    #[arg(long)]
    pub schedule: Option<String>,
    /// The schedule's IANA time zone.
    #[arg(long, default_value = "UTC", requires = "schedule")]
    pub timezone: String,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    pub org: OrgArg,
    /// The connection's name (`local` for the embedded warehouse).
    pub connection: String,
    /// Export this table (`name` or `schema.name`).
    #[arg(long, conflicts_with = "query", required_unless_present = "query")]
    pub table: Option<String>,
    /// Export the rows of this read-only statement.
    #[arg(long)]
    pub query: Option<String>,
    #[arg(long)]
    pub name: Option<String>,
    /// An integration's id or name (default: the one serving exports, else the default storage).
    #[arg(long)]
    pub integration: Option<String>,
    /// Delete each run's files once acknowledged or after this many hours.
    #[arg(long)]
    pub staging_ttl_hours: Option<u32>,
    /// Keep the files even in the default storage (no acknowledgement, no time to live).
    #[arg(long, conflicts_with = "staging_ttl_hours")]
    pub no_staging: bool,
    #[command(flatten)]
    pub file: FileOpts,
    /// Return once the run is queued instead of following it.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ExportsCommand {
    List {
        #[command(flatten)]
        org: OrgArg,
    },
    Get {
        #[command(flatten)]
        org: OrgArg,
        export: String,
    },
    Delete {
        #[command(flatten)]
        org: OrgArg,
        export: String,
    },
    Pause {
        #[command(flatten)]
        org: OrgArg,
        export: String,
    },
    Resume {
        #[command(flatten)]
        org: OrgArg,
        export: String,
    },
    /// Run the export now and follow the run.
    Run {
        #[command(flatten)]
        org: OrgArg,
        export: String,
        #[arg(long)]
        no_wait: bool,
    },
    /// The export's runs, newest first.
    Runs {
        #[command(flatten)]
        org: OrgArg,
        export: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Acknowledge a staging run's delivery: its files are deleted now.
    Ack {
        #[command(flatten)]
        org: OrgArg,
        export: String,
        run: String,
    },
    /// Show the keys a run would write (and the schedule's next times) before creating anything.
    Preview {
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        file: FileOpts,
    },
}
