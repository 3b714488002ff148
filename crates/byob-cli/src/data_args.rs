//! Command-line syntax of the data flows: connections, uploads and loads, jobs.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::args::OrgArg;

#[derive(Debug, Subcommand)]
pub(crate) enum ConnectionsCommand {
    /// The org's connections; `local` (the embedded warehouse) is always there.
    List {
        #[command(flatten)]
        org: OrgArg,
    },
    Get {
        #[command(flatten)]
        org: OrgArg,
        connection: String,
    },
    /// Create a connection to a data platform (admins). The password (or token) is read from --password-file.
    Create {
        #[command(flatten)]
        org: OrgArg,
        name: String,
        #[command(flatten)]
        fields: Box<ConnectionFields>,
    },
    /// Show or change what members may do through a connection (admins change it); unchanged flags keep their
    /// value.
    Access {
        #[command(flatten)]
        org: OrgArg,
        connection: String,
        /// Members may create tables.
        #[arg(long)]
        create_tables: Option<bool>,
        /// Tables members may append to.
        #[arg(long, value_enum)]
        append: Option<ScopeArg>,
        /// Tables members may replace.
        #[arg(long, value_enum)]
        replace: Option<ScopeArg>,
        /// Members may export whole tables.
        #[arg(long)]
        export_tables: Option<bool>,
        /// Members may export the result of their own SQL.
        #[arg(long)]
        run_queries: Option<bool>,
        /// The only schema members may write to (`-` for any).
        #[arg(long)]
        schema: Option<String>,
    },
    Delete {
        #[command(flatten)]
        org: OrgArg,
        connection: String,
    },
    /// Connect and run a trivial query.
    Test {
        #[command(flatten)]
        org: OrgArg,
        connection: String,
    },
    /// Tables the connection sees.
    Tables {
        #[command(flatten)]
        org: OrgArg,
        connection: String,
    },
    /// A table's columns and byob's types.
    Columns {
        #[command(flatten)]
        org: OrgArg,
        connection: String,
        table: String,
    },
    /// Check the path to the platform and what byob may do there; print the checklist (exit status 1 when a
    /// check failed) (admins).
    Verify {
        #[command(flatten)]
        org: OrgArg,
        connection: String,
    },
    /// The latest verification report (admins).
    Report {
        #[command(flatten)]
        org: OrgArg,
        connection: String,
    },
    /// The steps to apply for the connection's network: authorized_keys, PrivateLink Terraform, private DNS,
    /// Snowflake's authorization (admins).
    Setup {
        #[command(flatten)]
        org: OrgArg,
        connection: String,
    },
    /// Confirm the SSH bastion's host key, as `ssh-keygen -lf` prints it on the bastion (admins); pinned only
    /// when the bastion offers exactly that key.
    TrustHostKey {
        #[command(flatten)]
        org: OrgArg,
        connection: String,
        /// `SHA256:…`
        fingerprint: String,
    },
}

/// Which tables members may write: none, those byob created, or any.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ScopeArg {
    None,
    Byob,
    Any,
}

impl ScopeArg {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Byob => "byob",
            Self::Any => "any",
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ModeArg {
    Create,
    Append,
    Replace,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum OnErrorArg {
    Abort,
    Skip,
}

/// How to load a CSV (shared by `upload --load-into` and `uploads load`).
#[derive(Debug, Clone, Args)]
pub(crate) struct LoadOpts {
    #[arg(long, value_enum, default_value = "create")]
    pub mode: ModeArg,
    #[arg(long, value_enum, default_value = "abort")]
    pub on_error: OnErrorArg,
    /// With --on-error skip: bad rows tolerated (default 100).
    #[arg(long)]
    pub max_bad_rows: Option<u64>,
    /// The first line is (true) or is not (false) a header; detected when absent.
    #[arg(long)]
    pub header: Option<bool>,
    /// `,` `;` `|` or `tab`; detected when absent.
    #[arg(long)]
    pub delimiter: Option<String>,
    /// A column's type, as NAME=TYPE (integer, decimal, boolean, date, timestamp, timestamp_tz, text). Repeat.
    #[arg(long = "type", value_name = "NAME=TYPE")]
    pub types: Vec<String>,
    /// A field that means NULL (repeat); default: the empty field.
    #[arg(long = "null")]
    pub nulls: Vec<String>,
    /// `stream` (byob writes the rows) or `platform` (the platform reads the file from the bucket itself where
    /// it can; byob streams otherwise and the job says why).
    #[arg(long, value_parser = ["stream", "platform"], default_value = "stream")]
    pub via: String,
    /// Return once the job is queued instead of following it.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UploadArgs {
    #[command(flatten)]
    pub org: OrgArg,
    /// The file to upload.
    pub file: PathBuf,
    /// Load it into CONNECTION.TABLE (TABLE may be schema.table) once uploaded.
    #[arg(long, value_name = "CONNECTION.TABLE")]
    pub load_into: Option<String>,
    #[arg(long, default_value = "text/csv")]
    pub content_type: String,
    /// Parts sent at once.
    #[arg(long, default_value_t = 4)]
    pub parallel: usize,
    #[command(flatten)]
    pub load: LoadOpts,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UploadsCommand {
    /// The org's uploads, newest first.
    List {
        #[command(flatten)]
        org: OrgArg,
        #[arg(long)]
        limit: Option<u32>,
    },
    Get {
        #[command(flatten)]
        org: OrgArg,
        upload: String,
    },
    /// What byob detects in the file: encoding, delimiter, header, columns and types, first rows.
    Preview {
        #[command(flatten)]
        org: OrgArg,
        upload: String,
        #[arg(long)]
        delimiter: Option<String>,
        #[arg(long)]
        header: Option<bool>,
    },
    /// Load an uploaded file into CONNECTION.TABLE.
    Load {
        #[command(flatten)]
        org: OrgArg,
        upload: String,
        #[arg(value_name = "CONNECTION.TABLE")]
        into: String,
        #[command(flatten)]
        load: LoadOpts,
    },
    /// Abort an upload and delete what arrived.
    Abort {
        #[command(flatten)]
        org: OrgArg,
        upload: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum JobsCommand {
    List {
        #[command(flatten)]
        org: OrgArg,
        /// queued, running, succeeded, failed, cancelled.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    Get {
        #[command(flatten)]
        org: OrgArg,
        job: String,
    },
    /// Follow a job until it ends; fails when the job fails.
    Wait {
        #[command(flatten)]
        org: OrgArg,
        job: String,
    },
    Cancel {
        #[command(flatten)]
        org: OrgArg,
        job: String,
    },
}

/// Where a connection goes, as `POST …/connections` takes it (docs/connections.md has each platform's fields).
#[derive(Debug, Args)]
pub(crate) struct ConnectionFields {
    /// postgres, mysql (MySQL 8 and MariaDB; `mariadb` is another name for it), snowflake, redshift, databricks,
    /// trino (Starburst too), bigquery, sqlserver (SQL Server and Azure SQL; `mssql`, `azure-sql`).
    #[arg(long, default_value = "postgres")]
    pub(crate) platform: String,
    /// The server's host (Snowflake: default `{account}.snowflakecomputing.com`).
    #[arg(long)]
    pub(crate) host: Option<String>,
    /// Default: the platform's own (5432 PostgreSQL, 3306 MySQL, 5439 Redshift, 1433 SQL Server, 443 the others).
    #[arg(long)]
    pub(crate) port: Option<u16>,
    /// The database (Databricks: none; see --catalog).
    #[arg(long)]
    pub(crate) database: Option<String>,
    /// The user byob signs in as (Databricks: none; the token says who).
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// File holding the password, or Databricks' access token (`-` for standard input); none when absent.
    #[arg(long)]
    pub(crate) password_file: Option<PathBuf>,
    /// disable, prefer, require, verify-ca, verify-full.
    #[arg(long, default_value = "prefer")]
    pub(crate) tls: String,
    /// Where unqualified table names go (PostgreSQL and Redshift: default `public`; Snowflake: `PUBLIC`; SQL
    /// Server: `dbo`). MySQL has none.
    #[arg(long)]
    pub(crate) schema: Option<String>,
    /// Snowflake: the account identifier (`myorg-myaccount` or `xy12345.us-east-1`).
    #[arg(long)]
    pub(crate) account: Option<String>,
    /// Snowflake: the virtual warehouse statements run on.
    #[arg(long)]
    pub(crate) warehouse: Option<String>,
    /// Snowflake: the role byob's session uses.
    #[arg(long)]
    pub(crate) role: Option<String>,
    /// Snowflake: the customer's storage integration for loads Snowflake pulls from the bucket.
    #[arg(long)]
    pub(crate) storage_integration: Option<String>,
    /// Redshift: the customer's IAM role attached to the cluster, for loads Redshift pulls from the bucket.
    #[arg(long)]
    pub(crate) iam_role: Option<String>,
    /// Databricks: the Unity Catalog catalog; Trino: the catalog tables are loaded into.
    #[arg(long)]
    pub(crate) catalog: Option<String>,
    /// Trino: the Hive catalog whose external tables read the bucket, for loads Trino pulls.
    #[arg(long)]
    pub(crate) external_catalog: Option<String>,
    /// BigQuery: the Google Cloud project.
    #[arg(long)]
    pub(crate) project: Option<String>,
    /// BigQuery: the dataset tables are loaded into.
    #[arg(long)]
    pub(crate) dataset: Option<String>,
    /// BigQuery: where jobs run (`US`, `EU`, a region).
    #[arg(long)]
    pub(crate) location: Option<String>,
    /// BigQuery: the service account's key file (JSON; `-` for standard input).
    #[arg(long)]
    pub(crate) service_account_key_file: Option<PathBuf>,
    /// Snowflake: key-pair authentication — the unencrypted RSA private key file (PEM) whose public key is set
    /// on the user (`-` for standard input); instead of --password-file.
    #[arg(long)]
    pub(crate) private_key_file: Option<PathBuf>,
    /// Databricks: the SQL warehouse's HTTP path (`/sql/1.0/warehouses/ID`).
    #[arg(long)]
    pub(crate) http_path: Option<String>,
    /// How byob reaches the platform: public (default), private-link, ssh-tunnel or proxy.
    #[arg(long, value_parser = ["public", "private-link", "ssh-tunnel", "proxy"])]
    pub(crate) network: Option<String>,
    /// ssh-tunnel: the bastion, as USER@HOST[:PORT].
    #[arg(long, value_name = "USER@HOST[:PORT]")]
    pub(crate) ssh: Option<String>,
    /// proxy: the proxy, as http://HOST:PORT (CONNECT) or socks5://HOST:PORT.
    #[arg(long, value_name = "URL")]
    pub(crate) proxy: Option<String>,
    /// proxy: its user; the password is read from --proxy-password-file.
    #[arg(long)]
    pub(crate) proxy_username: Option<String>,
    #[arg(long)]
    pub(crate) proxy_password_file: Option<PathBuf>,
    /// private-link: the AWS region of the endpoint.
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// private-link: the VPC endpoint service (`com.amazonaws.vpce.REGION.vpce-svc-…`).
    #[arg(long)]
    pub(crate) endpoint_service: Option<String>,
    /// private-link: an availability-zone id (`use1-az1`); repeat.
    #[arg(long = "availability-zone")]
    pub(crate) availability_zones: Vec<String>,
}
