//! The effective configuration, loaded once by the binary (TOML file, then `BYOB_…` environment variables) and
//! passed down. Every field documents its default; secrets are [`Sensitive`] so `byob config print` and `Debug`
//! never show them.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::Sensitive;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP API listens on. Default `127.0.0.1:8080`. Env `BYOB_LISTEN`.
    pub listen: SocketAddr,
    /// Where embedded defaults live (SQLite catalog, local storage, warehouse, generated keys).
    /// Default `./byob-data`. Env `BYOB_DATA_DIR`.
    pub data_dir: PathBuf,
    /// Server-wide operator token; the only credential that can create orgs. When unset, one is generated on
    /// first start, printed once and kept in `{data_dir}/operator-token` (mode 0600). Env `BYOB_OPERATOR_TOKEN`.
    pub operator_token: Option<Sensitive<String>>,
    pub log: LogConfig,
    pub http: HttpConfig,
    pub catalog: CatalogConfig,
    pub secrets: SecretsConfig,
    pub storage: StorageConfig,
    pub warehouse: WarehouseConfig,
    pub integrations: IntegrationsConfig,
    pub network: NetworkConfig,
    pub quotas: QuotasConfig,
    pub monitor: MonitorConfig,
    pub uploads: UploadsConfig,
    pub attachments: AttachmentsConfig,
    pub assets: AssetsConfig,
    pub jobs: JobsConfig,
}

/// Upload sessions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UploadsConfig {
    /// Largest file accepted, in bytes. Default 50 GiB.
    pub max_size_bytes: u64,
    /// Content types accepted (without parameters); empty accepts any. Default: CSV-like types and
    /// `application/octet-stream`.
    pub allowed_content_types: Vec<String>,
    /// byob's address as clients reach it, used in relay part URLs when the storage cannot presign (the local
    /// default storage). Default `http://{listen}`. Env `BYOB_UPLOADS__PUBLIC_URL`.
    pub public_url: Option<String>,
    /// Hours after which an upload still waiting for its bytes is aborted. Default 24.
    pub abort_incomplete_after_hours: u32,
    /// The slowest a relay part may arrive, in bytes per second over 10-second windows. Default 16384.
    pub relay_min_bytes_per_sec: u64,
}

impl Default for UploadsConfig {
    fn default() -> Self {
        Self {
            max_size_bytes: 50 * 1024 * 1024 * 1024,
            allowed_content_types: [
                "text/csv",
                "application/csv",
                "text/plain",
                "text/tab-separated-values",
                "application/vnd.ms-excel",
                "application/octet-stream",
            ]
            .map(String::from)
            .to_vec(),
            public_url: None,
            abort_incomplete_after_hours: 24,
            relay_min_bytes_per_sec: 16 * 1024,
        }
    }
}

/// Which scanner checks attachments before they are available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScannerKind {
    /// Checked attachments are available at once.
    None,
    /// A ClamAV daemon, at `clamd_address`.
    Clamd,
    /// An HTTP scanner, at `scanner_url`.
    Http,
}

/// Attachments: the scanning hook, downloads and thumbnails (docs/attachments.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttachmentsConfig {
    /// `none`, `clamd` or `http`. Default `none`.
    pub scanner: ScannerKind,
    /// clamd's TCP address. Default `127.0.0.1:3310`.
    pub clamd_address: String,
    /// The HTTP scanner's URL (required with `scanner = "http"`).
    pub scanner_url: Option<String>,
    /// Seconds one scan may take before it is tried again. Default 300.
    pub scan_timeout_secs: u64,
    /// Seconds a download's presigned URL lives. Default 60.
    pub download_ttl_secs: u64,
    /// The most pixels an image may have to get a thumbnail. Default 25000000.
    pub thumbnail_max_pixels: u64,
    /// The largest image file read to make a thumbnail. Default 33554432 (32 MiB).
    pub thumbnail_max_source_bytes: u64,
}

impl Default for AttachmentsConfig {
    fn default() -> Self {
        Self {
            scanner: ScannerKind::None,
            clamd_address: "127.0.0.1:3310".into(),
            scanner_url: None,
            scan_timeout_secs: 300,
            download_ttl_secs: 60,
            thumbnail_max_pixels: 25_000_000,
            thumbnail_max_source_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Assets: the store check's schedule (docs/assets.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssetsConfig {
    /// Hours between two scheduled checks of an org's asset store; 0 checks only on request. Default 24.
    pub check_every_hours: u64,
    /// Objects one store check reads at once. Default 4.
    pub check_parallelism: u64,
}

impl Default for AssetsConfig {
    fn default() -> Self {
        Self { check_every_hours: 24, check_parallelism: 4 }
    }
}

/// The job queue and the janitor, run by `byob serve` in the background.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Whether this process runs jobs and the janitor. Default true. Env `BYOB_JOBS__ENABLED`.
    pub enabled: bool,
    /// Jobs this process runs at once. Default 2.
    pub workers: u32,
    /// Seconds a claimed job is held without renewal; after a crash, others take it over after this. Default 30.
    pub lease_secs: u64,
    /// Milliseconds between two looks at an empty queue. Default 500.
    pub poll_ms: u64,
    /// Seconds between two janitor passes. Default 300.
    pub janitor_interval_secs: u64,
    /// Seconds between two looks for export schedules that are due. Default 10.
    pub schedule_tick_secs: u64,
    /// Seconds one attempt of a job may run before it is stopped (`job-deadline`); also every PostgreSQL
    /// statement's `statement_timeout`. Default 21600 (6 hours).
    pub deadline_secs: u64,
    /// Jobs of one org running at once across every process; unset means half of `workers` (at least 1), so no
    /// org takes every worker.
    pub max_running_per_org: Option<u32>,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            workers: 2,
            lease_secs: 30,
            poll_ms: 500,
            janitor_interval_secs: 300,
            schedule_tick_secs: 10,
            deadline_secs: 6 * 3600,
            max_running_per_org: None,
        }
    }
}

/// The health monitor and webhook delivery, both run by `byob serve` in the background.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorConfig {
    /// Whether this process runs the monitor and delivers webhooks. Default true. Env `BYOB_MONITOR__ENABLED`.
    pub enabled: bool,
    /// Hours between two verifications of an active integration. Default 24.
    pub interval_hours: u32,
    /// Share by which each interval is randomly stretched or shrunk, 0-0.5. Default 0.1.
    pub jitter: f64,
    /// Seconds between two passes (due verifications, expiry notices, webhook deliveries). Default 60.
    pub tick_secs: u64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self { enabled: true, interval_hours: 24, jitter: 0.1, tick_secs: 60 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./byob-data"),
            operator_token: None,
            log: LogConfig::default(),
            http: HttpConfig::default(),
            catalog: CatalogConfig::default(),
            secrets: SecretsConfig::default(),
            storage: StorageConfig::default(),
            warehouse: WarehouseConfig::default(),
            integrations: IntegrationsConfig::default(),
            network: NetworkConfig::default(),
            quotas: QuotasConfig::default(),
            monitor: MonitorConfig::default(),
            uploads: UploadsConfig::default(),
            attachments: AttachmentsConfig::default(),
            assets: AssetsConfig::default(),
            jobs: JobsConfig::default(),
        }
    }
}

/// A setting whose value is out of its range: refused with the key's name rather than silently clamped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}` = {value} is out of range: {rule}")]
pub struct ConfigRangeError {
    pub key: &'static str,
    pub value: String,
    pub rule: &'static str,
}

impl Config {
    /// Every top-level key, in the order of the type (what `BYOB_{KEY}…` environment variables may name).
    #[must_use]
    pub fn top_level_keys() -> Vec<String> {
        match serde_json::to_value(Self::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Refuses values outside their range, naming the key.
    ///
    /// # Errors
    /// The first setting out of range.
    pub fn check_ranges(&self) -> Result<(), ConfigRangeError> {
        fn at_least(key: &'static str, value: u64, min: u64, rule: &'static str) -> Result<(), ConfigRangeError> {
            if value < min { Err(ConfigRangeError { key, value: value.to_string(), rule }) } else { Ok(()) }
        }
        let positive = "must be at least 1";
        at_least("http.max_body_bytes", self.http.max_body_bytes as u64, 1, positive)?;
        at_least("http.request_timeout_secs", self.http.request_timeout_secs, 1, positive)?;
        at_least("http.max_connections", self.http.max_connections as u64, 1, positive)?;
        at_least("http.idle_timeout_secs", self.http.idle_timeout_secs, 1, positive)?;
        at_least("http.header_read_timeout_secs", self.http.header_read_timeout_secs, 1, positive)?;
        at_least("catalog.max_connections", u64::from(self.catalog.max_connections), 1, positive)?;
        at_least("monitor.interval_hours", u64::from(self.monitor.interval_hours), 1, positive)?;
        at_least("monitor.tick_secs", self.monitor.tick_secs, 1, positive)?;
        if !(0.0..=0.5).contains(&self.monitor.jitter) {
            return Err(ConfigRangeError {
                key: "monitor.jitter",
                value: self.monitor.jitter.to_string(),
                rule: "must be between 0 and 0.5",
            });
        }
        at_least(
            "uploads.abort_incomplete_after_hours",
            u64::from(self.uploads.abort_incomplete_after_hours),
            1,
            positive,
        )?;
        at_least("assets.check_parallelism", self.assets.check_parallelism, 1, positive)?;
        at_least("attachments.scan_timeout_secs", self.attachments.scan_timeout_secs, 1, positive)?;
        at_least("attachments.download_ttl_secs", self.attachments.download_ttl_secs, 1, positive)?;
        at_least("attachments.thumbnail_max_pixels", self.attachments.thumbnail_max_pixels, 1, positive)?;
        at_least("attachments.thumbnail_max_source_bytes", self.attachments.thumbnail_max_source_bytes, 1, positive)?;
        if self.attachments.scanner == ScannerKind::Http && self.attachments.scanner_url.is_none() {
            return Err(ConfigRangeError {
                key: "attachments.scanner_url",
                value: "unset".into(),
                rule: "is required with `attachments.scanner = \"http\"`",
            });
        }
        at_least("jobs.workers", u64::from(self.jobs.workers), 1, positive)?;
        at_least("jobs.deadline_secs", self.jobs.deadline_secs, 1, positive)?;
        if let Some(per_org) = self.jobs.max_running_per_org {
            at_least("jobs.max_running_per_org", u64::from(per_org), 1, positive)?;
        }
        at_least(
            "jobs.lease_secs",
            self.jobs.lease_secs,
            2,
            "must be at least 2 (a lease is renewed every fifth of it)",
        )?;
        at_least("jobs.poll_ms", self.jobs.poll_ms, 50, "must be at least 50")?;
        at_least("jobs.janitor_interval_secs", self.jobs.janitor_interval_secs, 1, positive)?;
        at_least("jobs.schedule_tick_secs", self.jobs.schedule_tick_secs, 1, positive)?;
        if let Some(hours) = self.storage.staging_ttl_hours {
            at_least("storage.staging_ttl_hours", u64::from(hours), 1, positive)?;
        }
        if let Some(secs) = self.storage.retry_timeout_secs {
            at_least("storage.retry_timeout_secs", secs, 1, positive)?;
        }
        for (key, value) in [
            ("integrations.presign_default_secs", self.integrations.presign_default_secs),
            ("integrations.presign_max_secs", self.integrations.presign_max_secs),
        ] {
            if let Some(value) = value {
                at_least(key, value, 1, positive)?;
            }
        }
        Ok(())
    }

    /// The catalog database URL: the configured one, or a SQLite file in the data dir.
    #[must_use]
    pub fn catalog_url(&self) -> String {
        match &self.catalog.url {
            Some(url) => url.expose().to_string(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("catalog.db").display()),
        }
    }

    #[must_use]
    pub fn operator_token_file(&self) -> PathBuf {
        self.data_dir.join("operator-token")
    }

    #[must_use]
    pub fn keyring_file(&self) -> PathBuf {
        self.data_dir.join("master-keys")
    }

    #[must_use]
    pub fn default_storage_dir(&self) -> PathBuf {
        resolve(&self.data_dir, self.storage.local_path.as_deref(), "storage")
    }

    #[must_use]
    pub fn warehouse_dir(&self) -> PathBuf {
        resolve(&self.data_dir, self.warehouse.local_dir.as_deref(), "warehouse")
    }
}

/// A database URL whose password never reaches `Debug` or serialized output.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url_password(&self.0))
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&redact_url_password(&self.0))
    }
}

fn resolve(data_dir: &Path, configured: Option<&Path>, default_name: &str) -> PathBuf {
    configured.map_or_else(|| data_dir.join(default_name), Path::to_path_buf)
}

/// Replaces the password of `scheme://user:password@host/…` with `***`.
#[must_use]
pub fn redact_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_string() };
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..].find('/').map_or(url.len(), |i| authority_start + i);
    let authority = &url[authority_start..authority_end];
    let Some(at) = authority.rfind('@') else { return url.to_string() };
    let Some(colon) = authority[..at].find(':') else { return url.to_string() };
    format!("{}{}:***{}", &url[..authority_start], &authority[..colon], &url[authority_start + at..])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (default) or `json`. Env `BYOB_LOG__FORMAT`; flag `--log-format`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` (default) or `byob_api=debug,info`. Env `BYOB_LOG__FILTER`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Text, filter: "info".into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest accepted request body in bytes. Default 1 MiB (file bytes never pass through byob's API).
    pub max_body_bytes: usize,
    /// How long a request may run before it is answered with 503. Default 30 s.
    pub request_timeout_secs: u64,
    /// How long in-flight requests get to finish after SIGTERM/SIGINT. Default 30 s.
    pub shutdown_grace_secs: u64,
    /// Connections open at once; further ones wait in the kernel's backlog. Default 1024.
    pub max_connections: usize,
    /// A request's headers must arrive within this many seconds (a slowloris holds a connection no longer).
    /// Default 10.
    pub header_read_timeout_secs: u64,
    /// A connection with no traffic either way for this long is closed (a client that sends nothing, or its
    /// headers a byte at a time, holds a connection this long at most). Default 30 s.
    pub idle_timeout_secs: u64,
    /// Requests one API token may make per second (bursts of twice that pass); more are answered 429 with
    /// `Retry-After`. 0: no limit. Default 100.
    pub token_requests_per_second: u32,
    /// Requests all of one org's tokens together may make per second (bursts of twice that pass), so one tenant
    /// cannot starve the others. 0: no limit. Default 400.
    pub org_requests_per_second: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            token_requests_per_second: 100,
            org_requests_per_second: 400,
            shutdown_grace_secs: 30,
            max_connections: 1024,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// `sqlite://path?mode=rwc` or `postgres://user:password@host:port/db`. Default: `catalog.db` in the data
    /// dir. Env `BYOB_CATALOG__URL`.
    pub url: Option<DatabaseUrl>,
    /// Pool size. Default 10.
    pub max_connections: u32,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        Self { url: None, max_connections: 10 }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// Base64 of a 32-byte master key. When unset, keys are kept in `{data_dir}/master-keys` (0600), generated
    /// on first start. Env `BYOB_SECRETS__MASTER_KEY`.
    pub master_key: Option<Sensitive<String>>,
    /// Older master keys still accepted for decryption while `byob secrets rotate-key` re-encrypts.
    pub previous_keys: Vec<Sensitive<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Directory of the default (platform-owned) storage. Default `{data_dir}/storage`.
    pub local_path: Option<PathBuf>,
    /// An S3 or S3-compatible bucket as the default storage instead of the local directory.
    pub s3: Option<DefaultS3Config>,
    /// A GCS bucket as the default storage.
    pub gcs: Option<DefaultGcsConfig>,
    /// An Azure container as the default storage.
    pub azure: Option<DefaultAzureConfig>,
    /// Hours staged files live in the default storage. Default 24.
    pub staging_ttl_hours: Option<u32>,
    /// Further attempts at a request a store failed (5xx, 429, a reset connection). Default 10; 0 retries none.
    pub retries: Option<u32>,
    /// Seconds after a request's first attempt past which no retry starts. Default 180.
    pub retry_timeout_secs: Option<u64>,
}

/// The platform's own bucket for orgs without an integration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultS3Config {
    pub bucket: String,
    /// Key prefix inside the bucket; each org gets `{prefix}/orgs/{org id}`.
    #[serde(default)]
    pub prefix: String,
    #[serde(default = "default_region")]
    pub region: String,
    pub endpoint: Option<String>,
    pub access_key_id: String,
    pub secret_access_key: Sensitive<String>,
}

/// A GCS bucket the platform owns, reached with a service-account key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultGcsConfig {
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    pub endpoint: Option<String>,
    /// The key file's JSON.
    pub service_account_key: Sensitive<String>,
}

/// An Azure container the platform owns, reached with the account's shared key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultAzureConfig {
    pub account: String,
    pub container: String,
    #[serde(default)]
    pub prefix: String,
    /// The account's blob endpoint, when not `https://ACCOUNT.blob.core.windows.net`.
    pub endpoint: Option<String>,
    pub account_key: Sensitive<String>,
}

fn default_region() -> String {
    "us-east-1".into()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WarehouseConfig {
    /// Directory of the embedded SQLite warehouse, the connection named `local`: one file per org
    /// (`{org id}.db`). Default `{data_dir}/warehouse`.
    pub local_dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_only_the_password() {
        assert_eq!(redact_url_password("postgres://u:p%40ss@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url_password("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url_password("sqlite://./a.db?mode=rwc"), "sqlite://./a.db?mode=rwc");
    }

    #[test]
    fn default_catalog_is_sqlite_in_the_data_dir() {
        let config = Config::default();
        assert_eq!(config.catalog_url(), "sqlite://./byob-data/catalog.db?mode=rwc");
    }
}

/// Which custom endpoints may use plain http.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HttpEndpoints {
    /// https only (default).
    #[default]
    HttpsOnly,
    /// http too, for loopback hosts (emulators, a store on the same machine).
    Loopback,
    /// http to any host (a private network the operator trusts).
    Any,
}

/// One of byob's own Entra ID applications (operator configuration).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AzureBrokerApp {
    pub client_id: String,
    pub client_secret: Sensitive<String>,
}

/// Per-org limits: past one, a request gets 429 `quota-exceeded`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotasConfig {
    /// Export definitions per org. Default 200.
    pub exports_per_org: u64,
    /// Import definitions per org. Default 200.
    pub imports_per_org: u64,
    /// Webhook endpoints per org. Default 25.
    pub webhooks_per_org: u64,
    /// Jobs (loads, export and import runs) waiting to run per org. Default 100.
    pub queued_jobs_per_org: u64,
    /// Bytes of uploads staged on the platform's default storage per org. Default 100 GiB.
    pub staged_bytes_per_org: u64,
}

impl Default for QuotasConfig {
    fn default() -> Self {
        Self {
            exports_per_org: 200,
            imports_per_org: 200,
            webhooks_per_org: 25,
            queued_jobs_per_org: 100,
            staged_bytes_per_org: 100 * 1024 * 1024 * 1024,
        }
    }
}

/// Where byob may connect on a tenant's behalf.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// Non-public ranges (CIDRs) tenant-named hosts may resolve to: a private store, emulators on loopback.
    /// Default none: loopback, private, link-local (cloud metadata) and other non-public addresses are refused.
    /// Env `BYOB_NETWORK__ALLOWED_PRIVATE_RANGES`.
    pub allowed_private_ranges: Vec<String>,
    /// DNS servers (`ip` or `ip:port`) byob asks for every tenant-named host instead of the system's resolver:
    /// a private zone (private-link names) the host's resolver does not serve. Default none: the system's.
    /// Env `BYOB_NETWORK__DNS_SERVERS`.
    pub dns_servers: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntegrationsConfig {
    /// `https_only` (default), `loopback` or `any`. Env `BYOB_INTEGRATIONS__HTTP_ENDPOINTS`.
    pub http_endpoints: HttpEndpoints,
    /// Allow the `local` provider (a directory on byob's host) for integrations: development only. Default false.
    pub allow_local: bool,
    /// byob's own AWS principal, which assumes customers' roles; shown in trust policies.
    /// Env `BYOB_INTEGRATIONS__AWS_PRINCIPAL_ARN`.
    pub aws_principal_arn: Option<String>,
    /// byob's own Google service account, which impersonates customers' service accounts.
    pub gcp_service_account: Option<String>,
    /// The addresses byob connects from (CIDRs), offered as an optional IP-allowlist condition.
    pub egress_cidrs: Vec<String>,
    /// byob's own AWS access key, with which it calls STS to assume customers' roles.
    pub aws_access_key_id: Option<String>,
    pub aws_secret_access_key: Option<Sensitive<String>>,
    /// A custom STS endpoint (a VPC endpoint); AWS's regional endpoint when unset.
    pub sts_endpoint: Option<String>,
    /// Region of the STS endpoint. Default `us-east-1`.
    pub sts_region: Option<String>,
    /// byob-side Google service accounts, one per org, that byob's own key may impersonate: an org's customers
    /// trust only its own (never the platform identity). Assigned on first use and never reassigned.
    /// Env `BYOB_INTEGRATIONS__GCP_ORG_SERVICE_ACCOUNTS`.
    pub gcp_org_service_accounts: Vec<String>,
    /// Endpoints besides Google's to which tokens minted for customers' accounts may be sent (a private endpoint).
    pub gcp_token_endpoints: Vec<String>,
    /// byob's own multi-tenant Entra ID applications, one per org, for the `azure_broker` mode: a customer's admin
    /// consents to their org's one in their tenant. Assigned on first use and never reassigned.
    pub azure_broker_apps: Vec<AzureBrokerApp>,
    /// byob's own Google service-account key (JSON), with which it impersonates customers' service accounts.
    pub gcp_service_account_key: Option<Sensitive<String>>,
    /// The IAM Credentials API, when not `https://iamcredentials.googleapis.com`.
    pub gcp_iam_credentials_endpoint: Option<String>,
    /// The Entra ID authority for Azure service principals (sovereign clouds). Default the public cloud's.
    pub azure_authority_host: Option<String>,
    /// Lifetime of presigned URLs when a flow does not ask for one. Default 900 s.
    pub presign_default_secs: Option<u64>,
    /// The longest lifetime a presigned URL may have. Default 43200 s (12 h).
    pub presign_max_secs: Option<u64>,
}
