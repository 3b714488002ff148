//! Command-line syntax of imports: `byob imports …`.

use clap::{Args, Subcommand};

use crate::args::OrgArg;

#[derive(Debug, Args)]
pub(crate) struct CreateImportArgs {
    #[command(flatten)]
    pub org: OrgArg,
    /// The integration (id or name) whose bucket holds the files.
    #[arg(long)]
    pub integration: String,
    /// Always this file, e.g. `folder1/folder2/file.csv` (needs read permission only).
    #[arg(long, conflicts_with = "pattern", required_unless_present = "pattern")]
    pub path: Option<String>,
    /// The most recent file, e.g. `folder1/folder2/file-{{date}}.csv` (needs list permission too).
    #[arg(long)]
    pub pattern: Option<String>,
    /// Where to load: CONNECTION.TABLE (TABLE may be schema.table).
    #[arg(long, value_name = "CONNECTION.TABLE")]
    pub into: String,
    #[arg(long)]
    pub name: Option<String>,
    /// create, append or replace.
    #[arg(long, default_value = "create")]
    pub mode: String,
    /// abort or skip.
    #[arg(long, default_value = "abort")]
    pub on_error: String,
    /// A cron expression (5 fields, or 6 with seconds): runs follow it.
    #[arg(long)]
    pub schedule: Option<String>,
    /// The schedule's IANA time zone.
    #[arg(long, default_value = "UTC", requires = "schedule")]
    pub timezone: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImportsCommand {
    /// Create an import (a fixed file or the most recent dated file, loaded into a table).
    Create(Box<CreateImportArgs>),
    List {
        #[command(flatten)]
        org: OrgArg,
    },
    Get {
        #[command(flatten)]
        org: OrgArg,
        import: String,
    },
    Delete {
        #[command(flatten)]
        org: OrgArg,
        import: String,
    },
    Pause {
        #[command(flatten)]
        org: OrgArg,
        import: String,
    },
    Resume {
        #[command(flatten)]
        org: OrgArg,
        import: String,
    },
    /// Which file a run would load now, why, and the keys passed over (nothing is loaded).
    Resolve {
        #[command(flatten)]
        org: OrgArg,
        import: String,
    },
    /// Run the import now and follow the run.
    Run {
        #[command(flatten)]
        org: OrgArg,
        import: String,
        /// Load the file even if it is the one loaded last.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        no_wait: bool,
    },
    /// The import's runs, newest first.
    Runs {
        #[command(flatten)]
        org: OrgArg,
        import: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}
