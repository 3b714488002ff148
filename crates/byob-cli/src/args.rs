//! Command-line syntax.

use std::{net::SocketAddr, path::PathBuf};

use byob_core::{Role, config::LogFormat};
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "byob", version, about = "Bring your own bucket: customer-owned storage for SaaS and data platforms")]
pub(crate) struct Cli {
    #[command(flatten)]
    pub client: ClientOpts,
    #[command(subcommand)]
    pub command: Command,
}

/// How client commands reach the server.
#[derive(Debug, Clone, Args)]
pub(crate) struct ClientOpts {
    /// Server URL.
    #[arg(long, env = "BYOB_URL", default_value = "http://127.0.0.1:8080", global = true)]
    pub url: String,
    /// Bearer token (operator or member).
    #[arg(long, env = "BYOB_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the HTTP API server.
    Serve(ServeOpts),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    #[command(flatten)]
    Api(ApiCommand),
}

/// Where the configuration comes from; shared by `serve` and the maintenance commands.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ConfigOpts {
    /// TOML configuration file; `BYOB_…` environment variables override it.
    #[arg(long, env = "BYOB_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory for the embedded defaults.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ServeOpts {
    #[command(flatten)]
    pub config: ConfigOpts,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Log format.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormatArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormatArg {
    Text,
    Json,
}

impl From<LogFormatArg> for LogFormat {
    fn from(value: LogFormatArg) -> Self {
        match value {
            LogFormatArg::Text => Self::Text,
            LogFormatArg::Json => Self::Json,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the effective configuration (file, environment and defaults merged) with secrets redacted.
    Print(ConfigOpts),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ApiCommand {
    /// Show who the token belongs to.
    Whoami,
    /// Organizations (create/rename/delete need the operator token).
    #[command(subcommand)]
    Orgs(OrgsCommand),
    /// Members of an organization.
    #[command(subcommand)]
    Members(MembersCommand),
    /// Members' API tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Write-only secrets; `rotate-key`, `key-status` and `prune-keys` manage the master keys.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// The organization's audit trail, newest first.
    Audit(AuditArgs),
    /// Storage integrations: the org's own buckets.
    #[command(subcommand)]
    Integrations(IntegrationsCommand),
    /// Webhook endpoints that receive the org's events, signed.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Connections to data platforms (the embedded warehouse is `local`).
    #[command(subcommand)]
    Connections(crate::data_args::ConnectionsCommand),
    /// Upload a file straight to the org's bucket, in parallel parts, and optionally load it into a table.
    Upload(crate::data_args::UploadArgs),
    /// Uploads: list, inspect, load, abort.
    #[command(subcommand)]
    Uploads(crate::data_args::UploadsCommand),
    /// Attachments: files tied to a record's field, checked, scanned and kept in the org's bucket.
    #[command(subcommand)]
    Attachments(crate::attachment_args::AttachmentsCommand),
    /// Assets: versioned project files kept under their hash in the org's bucket, with signed manifests.
    #[command(subcommand)]
    Assets(crate::asset_args::AssetsCommand),
    /// Move an org's files between byob's default storage and its integrations: copied, verified by SHA-256,
    /// then switched; follows it with a progress bar.
    Migrate(crate::asset_args::MigrateArgs),
    /// Migrations: list, show, cancel.
    #[command(subcommand)]
    Migrations(crate::asset_args::MigrationsCommand),
    /// Jobs (loads, export runs): progress, outcome, cancel.
    #[command(subcommand)]
    Jobs(crate::data_args::JobsCommand),
    /// Export a table or query into the org's bucket (CSV, JSONL, Parquet), now or on a schedule, following the
    /// run with a progress bar.
    Export(Box<crate::export_args::ExportArgs>),
    /// Exports: list, runs, run now, pause, resume, acknowledge, preview paths.
    #[command(subcommand)]
    Exports(crate::export_args::ExportsCommand),
    /// Imports from the org's bucket: a fixed file or the most recent dated file, loaded into a table.
    #[command(subcommand)]
    Imports(crate::import_args::ImportsCommand),
    /// The org's events (verifications, drift, credential expiry), newest first.
    Events {
        #[command(flatten)]
        org: OrgArg,
        /// Only this event type (docs/events.md lists them).
        #[arg(long = "type")]
        event_type: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum WebhooksCommand {
    /// Register an endpoint; prints its signing secret, shown this once.
    Create {
        #[command(flatten)]
        org: OrgArg,
        /// Where to POST events (https). Not named `url`: that id is the global `--url` of the byob server.
        #[arg(value_name = "URL")]
        endpoint: String,
        /// Event types to deliver (repeat the flag); all when absent.
        #[arg(long = "event")]
        events: Vec<String>,
    },
    List {
        #[command(flatten)]
        org: OrgArg,
    },
    Delete {
        #[command(flatten)]
        org: OrgArg,
        webhook: String,
    },
    /// The endpoint's delivery log, newest first.
    Deliveries {
        #[command(flatten)]
        org: OrgArg,
        webhook: String,
    },
    /// Send a `webhook-test` event to the org's endpoints.
    Test {
        #[command(flatten)]
        org: OrgArg,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum IntegrationsCommand {
    List {
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        page: PageArgs,
    },
    Get {
        #[command(flatten)]
        org: OrgArg,
        integration: String,
    },
    /// Create from a JSON body (see docs/integrations.md), read from a file or standard input so that
    /// credentials never appear on the command line.
    Create {
        #[command(flatten)]
        org: OrgArg,
        /// JSON file; `-` or omitted for standard input.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Change fields from a JSON body (file or standard input).
    Update {
        #[command(flatten)]
        org: OrgArg,
        integration: String,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    Disable {
        #[command(flatten)]
        org: OrgArg,
        integration: String,
    },
    Enable {
        #[command(flatten)]
        org: OrgArg,
        integration: String,
    },
    Delete {
        #[command(flatten)]
        org: OrgArg,
        integration: String,
    },
    /// Check the integration against its bucket and print the checklist (exit status 1 when a check failed).
    Verify {
        #[command(flatten)]
        org: OrgArg,
        integration: String,
    },
    /// Past verification reports, newest first.
    Verifications {
        #[command(flatten)]
        org: OrgArg,
        integration: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Issue a new external id; the current one stays in use until the new one is promoted.
    RotateExternalId {
        #[command(flatten)]
        org: OrgArg,
        integration: String,
    },
    /// Switch to the pending external id once the role's trust policy accepts it.
    PromoteExternalId {
        #[command(flatten)]
        org: OrgArg,
        integration: String,
    },
    /// The setup artifacts to apply on your cloud account: JSON, a Terraform module, or CLI commands.
    Setup {
        #[command(flatten)]
        org: OrgArg,
        integration: String,
        #[arg(long, value_enum, default_value = "json")]
        format: SetupFormatArg,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SetupFormatArg {
    Json,
    Terraform,
    Cli,
}

impl SetupFormatArg {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Terraform => "terraform",
            Self::Cli => "cli",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub(crate) struct OrgArg {
    /// Organization id.
    #[arg(long, env = "BYOB_ORG")]
    pub org: String,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct PageArgs {
    /// Items per page.
    #[arg(long)]
    pub limit: Option<u32>,
    /// Continue from a previous page's cursor.
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum OrgsCommand {
    List(PageArgs),
    Get { org: String },
    Create { name: String },
    Rename { org: String, name: String },
    Delete { org: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RoleArg {
    Admin,
    Member,
}

impl From<RoleArg> for Role {
    fn from(value: RoleArg) -> Self {
        match value {
            RoleArg::Admin => Self::Admin,
            RoleArg::Member => Self::Member,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum MembersCommand {
    List {
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        page: PageArgs,
    },
    Get {
        #[command(flatten)]
        org: OrgArg,
        member: String,
    },
    Add {
        #[command(flatten)]
        org: OrgArg,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long, value_enum, default_value = "member")]
        role: RoleArg,
    },
    Update {
        #[command(flatten)]
        org: OrgArg,
        member: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
    },
    Remove {
        #[command(flatten)]
        org: OrgArg,
        member: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokensCommand {
    List {
        #[command(flatten)]
        org: OrgArg,
        member: String,
    },
    /// Issue a token; its value is printed once.
    Create {
        #[command(flatten)]
        org: OrgArg,
        member: String,
        #[arg(long)]
        name: String,
        /// Lifetime such as `90d`, `12h` or `30m`; omit for a token that lasts until revoked.
        #[arg(long)]
        expires_in: Option<String>,
    },
    Revoke {
        #[command(flatten)]
        org: OrgArg,
        member: String,
        /// Token id (`tok_…`). Not named `token`, which is the global `--token`.
        #[arg(value_name = "TOKEN_ID")]
        token_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SecretsCommand {
    List {
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        page: PageArgs,
    },
    Get {
        #[command(flatten)]
        org: OrgArg,
        secret: String,
    },
    /// Store a secret read from a file or standard input (never from the command line, where `ps` shows it).
    Create {
        #[command(flatten)]
        org: OrgArg,
        #[arg(long)]
        name: String,
        /// File holding the value; standard input when omitted.
        #[arg(long)]
        value_file: Option<PathBuf>,
        #[arg(long)]
        description: Option<String>,
        /// When the credential stops working (RFC 3339).
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// Replace a secret's value (from a file or standard input) or its description.
    Update {
        #[command(flatten)]
        org: OrgArg,
        secret: String,
        /// File holding the new value; `-` for standard input.
        #[arg(long)]
        value_file: Option<PathBuf>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        expires_at: Option<String>,
    },
    Delete {
        #[command(flatten)]
        org: OrgArg,
        secret: String,
    },
    /// Add a new master key and re-encrypt every secret under it, while servers keep running.
    RotateKey(ConfigOpts),
    /// Show the master keys and how many secrets each one seals.
    KeyStatus(ConfigOpts),
    /// Drop old master keys that no secret uses any more.
    PruneKeys(ConfigOpts),
}

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    #[command(flatten)]
    pub org: OrgArg,
    #[arg(long)]
    pub action: Option<String>,
    /// `operator`, `system` or a member id.
    #[arg(long)]
    pub actor: Option<String>,
    #[arg(long)]
    pub target: Option<String>,
    /// success, denied, rejected or failed.
    #[arg(long)]
    pub outcome: Option<String>,
    /// RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// RFC 3339 time.
    #[arg(long)]
    pub until: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}
