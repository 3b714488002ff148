//! GCS bucket settings through the JSON API's bucket resource (no crate reads them): location, CORS, lifecycle,
//! versioning, default KMS key and public access prevention, in one request.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use object_store::{client::CredentialProvider, gcp::GcpCredential, path::Path};
use serde::Deserialize;

use super::{
    BucketInspector, BucketSettings, CorsRule, Encryption, ExpiryRule, PublicAccess, Setting, date_header, status_error,
};
use crate::storage::StorageError;

#[derive(Debug, Clone)]
pub struct GcsInspector {
    http: reqwest::Client,
    base_url: String,
    bucket: String,
    credentials: Arc<dyn CredentialProvider<Credential = GcpCredential>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Bucket {
    location: Option<String>,
    cors: Option<Vec<Cors>>,
    lifecycle: Option<Lifecycle>,
    versioning: Option<Versioning>,
    encryption: Option<EncryptionConfig>,
    iam_configuration: Option<IamConfiguration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Cors {
    origin: Vec<String>,
    method: Vec<String>,
    response_header: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Lifecycle {
    rule: Vec<LifecycleRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LifecycleRule {
    action: LifecycleAction,
    condition: LifecycleCondition,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LifecycleAction {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct LifecycleCondition {
    age: Option<u32>,
    matches_prefix: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Versioning {
    enabled: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct EncryptionConfig {
    default_kms_key_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct IamConfiguration {
    public_access_prevention: Option<String>,
}

impl GcsInspector {
    pub(crate) fn new(
        base_url: &str,
        bucket: &str,
        credentials: Arc<dyn CredentialProvider<Credential = GcpCredential>>,
        network: &crate::net::NetworkPolicy,
    ) -> Self {
        Self {
            http: crate::net::guarded_http_client(network).build().unwrap_or_default(),
            base_url: base_url.trim_end_matches('/').to_string(),
            bucket: bucket.to_string(),
            credentials,
        }
    }

    async fn authorized(&self, request: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, StorageError> {
        let token = self.credentials.get_credential().await?;
        // An emulator's key file may disable OAuth: no bearer then.
        Ok(if token.bearer.is_empty() { request } else { request.bearer_auth(&token.bearer) })
    }

    async fn bucket(&self) -> Result<Bucket, StorageError> {
        let url = format!("{}/storage/v1/b/{}", self.base_url, self.bucket);
        let response = self.authorized(self.http.get(url)).await?.send().await.map_err(StorageError::request)?;
        if !response.status().is_success() {
            return Err(status_error("the bucket's metadata", response).await);
        }
        let body = response.text().await.map_err(|e| StorageError::Backend(e.to_string()))?;
        serde_json::from_str(&body).map_err(|e| StorageError::Backend(format!("unreadable bucket metadata: {e}")))
    }
}

impl Bucket {
    /// Every setting from the one bucket resource.
    fn settings(self) -> BucketSettings {
        BucketSettings {
            location: Ok(self.location.map_or(Setting::Unset, |l| Setting::Set(l.to_ascii_lowercase()))),
            cors: Ok(self
                .cors
                .map_or(Setting::Unset, |rules| Setting::Set(rules.into_iter().map(Cors::rule).collect()))),
            // GCS encrypts every object; a default KMS key replaces Google's keys.
            encryption: Ok(Setting::Set(match self.encryption.and_then(|e| e.default_kms_key_name) {
                Some(key) => Encryption::Kms(Some(key)),
                None => Encryption::ProviderManaged,
            })),
            versioning: Ok(Setting::Set(self.versioning.is_some_and(|v| v.enabled))),
            public_access: Ok(Setting::Set(public_access(
                self.iam_configuration.and_then(|c| c.public_access_prevention).as_deref(),
            ))),
            lifecycle: Ok(self.lifecycle.map_or(Setting::Unset, |l| Setting::Set(l.expiry_rules()))),
        }
    }
}

impl Cors {
    fn rule(self) -> CorsRule {
        CorsRule {
            allowed_origins: self.origin,
            allowed_methods: self.method,
            // GCS's `responseHeader` lists the headers both allowed in and exposed to the browser.
            allowed_headers: self.response_header.clone(),
            expose_headers: self.response_header,
        }
    }
}

fn public_access(prevention: Option<&str>) -> PublicAccess {
    match prevention {
        Some("enforced") => PublicAccess { blocked: true, detail: "public access prevention is enforced".into() },
        Some(other) => PublicAccess { blocked: false, detail: format!("public access prevention is `{other}`") },
        None => PublicAccess { blocked: false, detail: "public access prevention is not set".into() },
    }
}

impl Lifecycle {
    fn expiry_rules(self) -> Vec<ExpiryRule> {
        let mut rules = Vec::new();
        for rule in self.rule {
            let prefixes = if rule.condition.matches_prefix.is_empty() {
                vec![String::new()]
            } else {
                rule.condition.matches_prefix
            };
            for prefix in prefixes {
                rules.push(match rule.action.kind.as_str() {
                    "Delete" => {
                        ExpiryRule { id: None, prefix, expire_days: rule.condition.age, abort_incomplete_days: None }
                    }
                    "AbortIncompleteMultipartUpload" => {
                        ExpiryRule { id: None, prefix, expire_days: None, abort_incomplete_days: rule.condition.age }
                    }
                    _ => continue,
                });
            }
        }
        rules
    }
}

#[async_trait::async_trait]
impl BucketInspector for GcsInspector {
    async fn settings(&self) -> BucketSettings {
        match self.bucket().await {
            Ok(bucket) => bucket.settings(),
            Err(e) => BucketSettings {
                location: Err(e.clone()),
                cors: Err(e.clone()),
                encryption: Err(e.clone()),
                versioning: Err(e.clone()),
                public_access: Err(e.clone()),
                lifecycle: Err(e),
            },
        }
    }

    async fn kms_key(&self, _key: &str) -> Result<Setting<()>, StorageError> {
        Ok(Setting::Unavailable(
            "Cloud KMS keys cannot be looked up with storage credentials; the encrypted write shows whether byob can use the key".into(),
        ))
    }

    async fn put_encrypted(&self, key: &Path, body: Vec<u8>, kms_key: &str) -> Result<Setting<()>, StorageError> {
        let url = format!("{}/upload/storage/v1/b/{}/o", self.base_url, self.bucket);
        let request = self
            .http
            .post(url)
            .query(&[("uploadType", "media"), ("name", key.as_ref()), ("kmsKeyName", kms_key)])
            .body(body);
        let response = self.authorized(request).await?.send().await.map_err(StorageError::request)?;
        let status = response.status();
        if status.is_success() {
            return Ok(Setting::Set(()));
        }
        Err(status_error("a KMS-encrypted write", response).await)
    }

    async fn server_time(&self) -> Result<DateTime<Utc>, StorageError> {
        date_header(&self.http, &format!("{}/storage/v1/b/{}", self.base_url, self.bucket)).await
    }
}
