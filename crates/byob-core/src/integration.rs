//! Storage integrations: an org's customer-owned location, how byob reaches it, and which features it serves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{IntegrationId, OrgId, SecretId, location::Provider};

/// What an org stores through byob. Each feature is routed to at most one integration per org.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// CSV uploads staged before loading.
    Uploads,
    /// Long-lived files tied to table rows.
    Attachments,
    Exports,
    Imports,
    /// Versioned, content-hashed project files.
    Assets,
}

impl Feature {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uploads => "uploads",
            Self::Attachments => "attachments",
            Self::Exports => "exports",
            Self::Imports => "imports",
            Self::Assets => "assets",
        }
    }
}

/// Lifecycle: created as `draft`; `active` once verification passes; `degraded` when a later check fails;
/// `disabled` by an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationState {
    Draft,
    Active,
    Degraded,
    Disabled,
}

impl IntegrationState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Degraded => "degraded",
            Self::Disabled => "disabled",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(Self::Draft),
            "active" => Some(Self::Active),
            "degraded" => Some(Self::Degraded),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// How byob authenticates to the location, as stored: identities are kept, secret values are referenced by the
/// id of a secret the integration owns (encrypted at rest, never returned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Credentials {
    /// byob assumes the customer's role with an external id it generated for this integration. During a
    /// rotation, `pending_external_id` is the next one: trusted alongside the current one until byob has
    /// assumed the role with it and promoted it.
    S3AssumeRole {
        role_arn: String,
        external_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pending_external_id: Option<String>,
    },
    S3AccessKey {
        access_key_id: String,
        secret_access_key: SecretId,
    },
    GcsServiceAccountKey {
        client_email: String,
        key: SecretId,
    },
    /// byob's own identity impersonates the customer's service account.
    GcsImpersonation {
        service_account: String,
    },
    AzureSas {
        account: String,
        permissions: String,
        expires_at: DateTime<Utc>,
        sas_token: SecretId,
    },
    AzureSharedKey {
        account: String,
        account_key: SecretId,
    },
    /// A service principal obtains a user-delegation key and signs short-lived SAS.
    AzureServicePrincipal {
        account: String,
        tenant_id: String,
        client_id: String,
        client_secret: SecretId,
    },
    /// byob's own application for this org, consented to in the customer's tenant: no customer secret.
    AzureBroker {
        account: String,
        tenant_id: String,
    },
    /// A directory on byob's host (development).
    Local,
}

impl Credentials {
    /// The Azure storage account the credentials name (every Azure mode names one).
    #[must_use]
    pub fn azure_account(&self) -> Option<&str> {
        match self {
            Self::AzureSas { account, .. }
            | Self::AzureSharedKey { account, .. }
            | Self::AzureServicePrincipal { account, .. }
            | Self::AzureBroker { account, .. } => Some(account),
            _ => None,
        }
    }

    #[must_use]
    pub fn mode(&self) -> &'static str {
        match self {
            Self::S3AssumeRole { .. } => "s3_assume_role",
            Self::S3AccessKey { .. } => "s3_access_key",
            Self::GcsServiceAccountKey { .. } => "gcs_service_account_key",
            Self::GcsImpersonation { .. } => "gcs_impersonation",
            Self::AzureSas { .. } => "azure_sas",
            Self::AzureSharedKey { .. } => "azure_shared_key",
            Self::AzureServicePrincipal { .. } => "azure_service_principal",
            Self::AzureBroker { .. } => "azure_broker",
            Self::Local => "local",
        }
    }

    /// The secrets this credential owns.
    #[must_use]
    pub fn secret_ids(&self) -> Vec<SecretId> {
        match self {
            Self::S3AccessKey { secret_access_key: id, .. }
            | Self::GcsServiceAccountKey { key: id, .. }
            | Self::AzureSas { sas_token: id, .. }
            | Self::AzureSharedKey { account_key: id, .. }
            | Self::AzureServicePrincipal { client_secret: id, .. } => vec![*id],
            Self::S3AssumeRole { .. } | Self::GcsImpersonation { .. } | Self::AzureBroker { .. } | Self::Local => {
                Vec::new()
            }
        }
    }

    /// When the credential itself stops working, if byob knows.
    #[must_use]
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::AzureSas { expires_at, .. } => Some(*expires_at),
            _ => None,
        }
    }
}

/// An org's storage integration, as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Integration {
    pub id: IntegrationId,
    pub org_id: OrgId,
    pub name: String,
    pub provider: Provider,
    /// Bucket (S3, GCS), container (Azure) or directory (local).
    pub bucket: String,
    /// Every key byob writes starts with this (empty: the bucket root).
    pub prefix: String,
    pub region: Option<String>,
    /// Custom, S3-compatible or private endpoint.
    pub endpoint: Option<String>,
    pub path_style: bool,
    pub credentials: Credentials,
    pub kms_key: Option<String>,
    /// Browser origins allowed by the bucket's CORS rules (for direct uploads).
    pub allowed_origins: Vec<String>,
    /// How long staged files live before the lifecycle rule (or byob's janitor) removes them.
    pub staging_ttl_hours: u32,
    pub features: Vec<Feature>,
    pub state: IntegrationState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Integration {
    /// `prefix/` (or empty for the bucket root), the start of every key byob writes.
    #[must_use]
    pub fn key_prefix(&self) -> String {
        if self.prefix.is_empty() { String::new() } else { format!("{}/", self.prefix) }
    }

    /// The staging TTL in whole days (lifecycle rules count days), at least one.
    #[must_use]
    pub fn staging_ttl_days(&self) -> u32 {
        self.staging_ttl_hours.div_ceil(24).max(1)
    }
}

/// What a member (not an admin) sees of an integration: where it is and what it serves, not how byob gets in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IntegrationSummary {
    pub id: IntegrationId,
    pub name: String,
    pub provider: Provider,
    pub bucket: String,
    pub prefix: String,
    pub region: Option<String>,
    /// The credential mode only.
    pub credentials_mode: String,
    pub features: Vec<Feature>,
    pub state: IntegrationState,
}

impl From<&Integration> for IntegrationSummary {
    fn from(i: &Integration) -> Self {
        Self {
            id: i.id,
            name: i.name.clone(),
            provider: i.provider,
            bucket: i.bucket.clone(),
            prefix: i.prefix.clone(),
            region: i.region.clone(),
            credentials_mode: i.credentials.mode().to_string(),
            features: i.features.clone(),
            state: i.state,
        }
    }
}

/// The Azure SAS permission letters the features need: read and list always, write unless only imports.
#[must_use]
pub fn sas_permissions_needed(features: &[Feature]) -> &'static str {
    if features.iter().any(|f| *f != Feature::Imports) { "rwl" } else { "rl" }
}
