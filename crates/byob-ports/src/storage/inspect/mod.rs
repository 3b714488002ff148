//! Reading a bucket's own settings (region, CORS, encryption, versioning, public access, lifecycle) for
//! verification. One reader per provider; settings a provider does not expose through the credentials byob holds
//! are [`Setting::Unavailable`] with the reason, never guessed.

mod azure;
mod gcs;
mod s3;

use chrono::{DateTime, Utc};
use object_store::path::Path;

pub use azure::AzureInspector;
pub(crate) use azure::InspectorAuth;
pub use gcs::GcsInspector;
pub use s3::S3Inspector;

use super::StorageError;

/// One bucket setting as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting<T> {
    Set(T),
    /// The bucket has no such configuration.
    Unset,
    /// byob cannot read it here, and why (the provider keeps it elsewhere, the emulator lacks it…).
    Unavailable(String),
}

/// One CORS rule, normalised across providers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsRule {
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub expose_headers: Vec<String>,
}

impl CorsRule {
    /// Whether the rule lets `origin` send `method` (a `*` origin matches any).
    #[must_use]
    pub fn allows(&self, origin: &str, method: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
            && self.allowed_methods.iter().any(|m| m == "*" || m.eq_ignore_ascii_case(method))
    }

    #[must_use]
    pub fn exposes(&self, header: &str) -> bool {
        self.expose_headers.iter().any(|h| h == "*" || h.eq_ignore_ascii_case(header))
    }
}

/// Default encryption of new objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// Keys the provider manages (SSE-S3, Google- or Microsoft-managed).
    ProviderManaged,
    /// A customer-managed KMS key (`None` when the provider's default KMS key is used).
    Kms(Option<String>),
}

/// A rule that expires objects under a prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpiryRule {
    /// The rule's own name where the provider keeps one (S3's `ID`); GCS rules have none.
    pub id: Option<String>,
    /// Objects whose key starts with this (empty: all).
    pub prefix: String,
    /// Objects are deleted this many days after creation.
    pub expire_days: Option<u32>,
    /// Incomplete multipart uploads are aborted this many days after they started.
    pub abort_incomplete_days: Option<u32>,
}

/// Whether the bucket refuses public access, with what the provider reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicAccess {
    pub blocked: bool,
    pub detail: String,
}

/// Everything byob reads of a bucket's configuration, each setting with its own outcome (one may be refused while
/// the others are readable).
#[derive(Debug, Clone)]
pub struct BucketSettings {
    /// The bucket's region or location, as the provider names it; a missing bucket is [`StorageError::NotFound`].
    pub location: Result<Setting<String>, StorageError>,
    pub cors: Result<Setting<Vec<CorsRule>>, StorageError>,
    pub encryption: Result<Setting<Encryption>, StorageError>,
    /// Whether object versioning is enabled.
    pub versioning: Result<Setting<bool>, StorageError>,
    pub public_access: Result<Setting<PublicAccess>, StorageError>,
    pub lifecycle: Result<Setting<Vec<ExpiryRule>>, StorageError>,
}

/// Reads a bucket's settings with the integration's own credentials.
#[async_trait::async_trait]
pub trait BucketInspector: Send + Sync + std::fmt::Debug {
    /// All the settings, in as few requests as the provider allows (GCS: one).
    async fn settings(&self) -> BucketSettings;
    /// Whether the KMS key exists and byob may use it.
    async fn kms_key(&self, key: &str) -> Result<Setting<()>, StorageError>;
    /// Writes `body` at `key` encrypted with `kms_key`.
    async fn put_encrypted(&self, key: &Path, body: Vec<u8>, kms_key: &str) -> Result<Setting<()>, StorageError>;
    /// The storage server's clock, from its `Date` header.
    async fn server_time(&self) -> Result<DateTime<Utc>, StorageError>;
}

/// The inspector of a store with no bucket settings (a local directory, an in-memory store): every setting is
/// unavailable, with the reason. Its client declares `inspect: false`, so verification skips these checks.
#[derive(Debug)]
pub(crate) struct NoSettings;

fn unavailable<T>() -> Setting<T> {
    Setting::Unavailable(NO_SETTINGS.into())
}

/// Why a store without bucket settings has none to read.
pub const NO_SETTINGS: &str = "this storage has no bucket settings to read";

#[async_trait::async_trait]
impl BucketInspector for NoSettings {
    async fn settings(&self) -> BucketSettings {
        BucketSettings {
            location: Ok(unavailable()),
            cors: Ok(unavailable()),
            encryption: Ok(unavailable()),
            versioning: Ok(unavailable()),
            public_access: Ok(unavailable()),
            lifecycle: Ok(unavailable()),
        }
    }
    async fn kms_key(&self, _: &str) -> Result<Setting<()>, StorageError> {
        Ok(Setting::Unavailable(NO_SETTINGS.into()))
    }
    async fn put_encrypted(&self, _: &Path, _: Vec<u8>, _: &str) -> Result<Setting<()>, StorageError> {
        Ok(Setting::Unavailable(NO_SETTINGS.into()))
    }
    async fn server_time(&self) -> Result<DateTime<Utc>, StorageError> {
        Err(StorageError::Config(NO_SETTINGS.into()))
    }
}

/// The time in an HTTP `Date` header of any answer from `url` (an unauthenticated request is enough).
pub(crate) async fn date_header(http: &reqwest::Client, url: &str) -> Result<DateTime<Utc>, StorageError> {
    let response = http.head(url).send().await.map_err(StorageError::request)?;
    let date = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| StorageError::Backend(format!("{url} sent no Date header")))?;
    DateTime::parse_from_rfc2822(date)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| StorageError::Backend(format!("{url} sent an unreadable Date header `{date}`")))
}

/// Maps an HTTP status of a settings read to the error a check can name.
/// The body is read (a few KiB at most) into byob's log, never into the message ([`crate::net::remote_body`]).
pub(crate) async fn status_error(what: &str, response: reqwest::Response) -> StorageError {
    let status = response.status();
    let body = crate::net::remote_text(response).await;
    let detail = crate::net::logged_body(&body);
    if status == reqwest::StatusCode::FORBIDDEN || status == reqwest::StatusCode::UNAUTHORIZED {
        StorageError::refusal(crate::net::vendor_code(&body).as_deref(), format!("reading {what}: {status}{detail}"))
    } else if status == reqwest::StatusCode::NOT_FOUND {
        StorageError::NotFound(what.to_string())
    } else {
        StorageError::Backend(format!("reading {what}: {status}{detail}"))
    }
}
