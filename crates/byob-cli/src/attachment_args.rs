//! Command-line syntax of attachments: files tied to a record's field, and the policies per field.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::args::OrgArg;

/// A record's field: where an attachment belongs.
#[derive(Debug, Clone, Args)]
pub(crate) struct SlotArgs {
    /// The platform's table (or other collection), e.g. `orders`.
    #[arg(long)]
    pub collection: String,
    /// The row's key, e.g. `42`.
    #[arg(long)]
    pub record: String,
    /// The column (or other field), e.g. `invoice`.
    #[arg(long)]
    pub field: String,
}

/// A collection's field: what a policy is set for.
#[derive(Debug, Clone, Args)]
pub(crate) struct FieldArgs {
    #[arg(long)]
    pub collection: String,
    #[arg(long)]
    pub field: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AttachmentsCommand {
    /// Attach a file to a record's field: byob checks it (size, real type, the field's policy) and scans it.
    Put {
        #[command(flatten)]
        org: OrgArg,
        file: PathBuf,
        #[command(flatten)]
        slot: SlotArgs,
        /// The file's media type; guessed from its extension when absent.
        #[arg(long)]
        content_type: Option<String>,
        /// Parts sent at once (large files).
        #[arg(long, default_value_t = 4)]
        parallel: usize,
    },
    /// Download an attachment, with a progress bar.
    Get {
        #[command(flatten)]
        org: OrgArg,
        attachment: String,
        /// Where to write it (`-` for standard output); the attachment's own name in this directory when absent.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Attachments by collection, record, field and state, oldest first.
    List {
        #[command(flatten)]
        org: OrgArg,
        #[arg(long)]
        collection: Option<String>,
        #[arg(long)]
        record: Option<String>,
        #[arg(long)]
        field: Option<String>,
        /// pending, scanning, available or rejected.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// `next_cursor` of the previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// One attachment's state, checked type, and why it was rejected.
    Show {
        #[command(flatten)]
        org: OrgArg,
        attachment: String,
    },
    /// Delete one attachment, every attachment of a record (`--collection C --record R`), or of a whole
    /// collection (`--collection C`, admins).
    Rm {
        #[command(flatten)]
        org: OrgArg,
        attachment: Option<String>,
        #[arg(long, conflicts_with = "attachment")]
        collection: Option<String>,
        #[arg(long, requires = "collection")]
        record: Option<String>,
    },
    /// The policies of collection fields: largest file, files per record, allowed types, inline previews.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Set a field's policy (admins).
    Set {
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        target: FieldArgs,
        /// The largest file, in bytes.
        #[arg(long)]
        max_bytes: u64,
        /// The most files one record may hold in this field.
        #[arg(long)]
        max_files: u32,
        /// Media types accepted, comma-separated (e.g. `application/pdf,image/png`).
        #[arg(long, value_delimiter = ',', required = true)]
        types: Vec<String>,
        /// Let PNG, JPEG, GIF, WebP and PDF files show in the browser (never SVG, HTML or XML).
        #[arg(long)]
        inline_preview: bool,
    },
    /// The policy that applies to a field (the defaults when none was set).
    Get {
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        target: FieldArgs,
    },
    /// The policies admins set.
    List {
        #[command(flatten)]
        org: OrgArg,
    },
    /// Return a field to the defaults (admins).
    Reset {
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        target: FieldArgs,
    },
}
