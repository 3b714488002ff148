//! Command-line syntax of assets: versioned project files written and read through byob.

use std::path::PathBuf;

use clap::Subcommand;

use crate::args::OrgArg;

#[derive(Debug, Subcommand)]
pub(crate) enum AssetsCommand {
    /// Write a file as the asset's next version (streamed; its SHA-256 is sent so byob refuses a damaged copy).
    Put {
        #[command(flatten)]
        org: OrgArg,
        file: PathBuf,
        /// The asset's name (segments joined by `/`); the file's name when absent.
        #[arg(long)]
        name: Option<String>,
        /// Write only if this is still the newest version (e.g. `3`).
        #[arg(long)]
        if_version: Option<u64>,
        /// Write only if the asset does not exist yet.
        #[arg(long, conflicts_with = "if_version")]
        create_only: bool,
    },
    /// Read an asset (its newest version, or `--version`), checked against its hash as it arrives.
    Get {
        #[command(flatten)]
        org: OrgArg,
        name: String,
        #[arg(long)]
        version: Option<u64>,
        /// Where to write it (`-` for standard output); the name's last segment in this directory when absent.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Assets by name with their newest version.
    List {
        #[command(flatten)]
        org: OrgArg,
        /// Also deleted assets.
        #[arg(long)]
        deleted: bool,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// `next_cursor` of the previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// An asset's versions, newest first.
    Versions {
        #[command(flatten)]
        org: OrgArg,
        name: String,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Make an old version's content the newest version.
    Restore {
        #[command(flatten)]
        org: OrgArg,
        name: String,
        version: u64,
    },
    /// Delete an asset (a version marking it deleted; its content stays for the retention).
    Rm {
        #[command(flatten)]
        org: OrgArg,
        name: String,
    },
    /// Check the store: objects, hashes, the manifest chain, unexpected objects; prints the report.
    Verify {
        #[command(flatten)]
        org: OrgArg,
        /// Queue the check and print the job without waiting.
        #[arg(long)]
        no_wait: bool,
    },
    /// Rebuild an empty history from the signed manifests in the bucket (admins).
    Rebuild {
        #[command(flatten)]
        org: OrgArg,
        /// The public key the manifests were signed with (a file holding the base64 or PEM key), when byob lost it.
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
    /// The key that signs the org's manifests.
    PublicKey {
        #[command(flatten)]
        org: OrgArg,
        /// Print only the PEM (for `openssl pkeyutl -verify -pubin`).
        #[arg(long)]
        pem: bool,
    },
    /// Show, or (admins) set, how long a deleted asset's content is kept.
    Settings {
        #[command(flatten)]
        org: OrgArg,
        #[arg(long)]
        retention_days: Option<u32>,
    },
}

/// `byob migrate`: move an org's files between stores.
#[derive(Debug, clap::Args)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    pub org: OrgArg,
    /// `default` (byob's own storage) or an integration id.
    #[arg(long)]
    pub from: String,
    /// `default` or an integration id.
    #[arg(long)]
    pub to: String,
    /// Comma-separated: uploads, attachments, assets (all three when absent).
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Report what would be copied, skipped and in conflict; copy nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete the copied objects from the source after the switch.
    #[arg(long)]
    pub delete_source: bool,
    /// Start it and print it without following it.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MigrationsCommand {
    /// The org's migrations, newest first.
    List {
        #[command(flatten)]
        org: OrgArg,
    },
    /// One migration: its state and counts.
    Show {
        #[command(flatten)]
        org: OrgArg,
        migration: String,
    },
    /// Stop a migration before its switch; the features stay on the source.
    Cancel {
        #[command(flatten)]
        org: OrgArg,
        migration: String,
    },
}
