//! What callers send to create or change an integration. Secret fields are write-only [`Sensitive`] values.

use byob_core::{integration::Feature, location::Provider};

use crate::providers::CredentialsInput;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIntegration {
    pub name: String,
    pub provider: Provider,
    /// Bucket (S3, GCS), container (Azure) or directory (local).
    pub bucket: String,
    /// Key prefix byob keeps everything under; empty for the bucket root.
    #[serde(default)]
    pub prefix: String,
    /// Required for AWS S3 (no custom endpoint).
    pub region: Option<String>,
    /// Custom, S3-compatible or private endpoint URL.
    pub endpoint: Option<String>,
    /// Path-style addressing; defaults to true with a custom endpoint, false otherwise.
    pub path_style: Option<bool>,
    pub credentials: CredentialsInput,
    /// KMS key ARN (S3) or Cloud KMS key name (GCS).
    pub kms_key: Option<String>,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// 1-8760; default 24.
    pub staging_ttl_hours: Option<u32>,
    #[serde(default)]
    pub features: Vec<Feature>,
}

/// Fields left out stay as they are. Provider and location (`provider`, `bucket`, `prefix`, `endpoint`) cannot
/// change: create a new integration instead. Replacing `credentials` or the region returns the integration to
/// `draft` until it is verified again.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIntegration {
    pub name: Option<String>,
    pub region: Option<String>,
    pub path_style: Option<bool>,
    pub credentials: Option<CredentialsInput>,
    pub kms_key: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub staging_ttl_hours: Option<u32>,
    pub features: Option<Vec<Feature>>,
    /// Refused: the provider cannot change.
    #[schema(value_type = Option<Provider>)]
    pub provider: Option<serde_json::Value>,
    /// Refused: the location cannot change.
    #[schema(value_type = Option<String>)]
    pub bucket: Option<serde_json::Value>,
    /// Refused: the location cannot change.
    #[schema(value_type = Option<String>)]
    pub prefix: Option<serde_json::Value>,
    /// Refused: the location cannot change.
    #[schema(value_type = Option<String>)]
    pub endpoint: Option<serde_json::Value>,
}
