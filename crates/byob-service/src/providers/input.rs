//! A credential as a caller sends it, and what checking it yields: the credentials to store (identities inline)
//! and the secret values to store as secrets the integration owns.

use byob_core::{
    SecretId, Sensitive,
    integration::{Credentials, Feature},
    location::{FieldError, Provider, Region},
    random,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::ServiceError;

/// How byob should authenticate, with the secret values (stored encrypted, never returned).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum CredentialsInput {
    /// byob assumes this role; it generates the external id the trust policy must require.
    S3AssumeRole { role_arn: String },
    S3AccessKey {
        access_key_id: String,
        #[schema(value_type = String)]
        secret_access_key: Sensitive<String>,
    },
    GcsServiceAccountKey {
        /// The key file's JSON, as a string.
        #[schema(value_type = String)]
        key: Sensitive<String>,
    },
    GcsImpersonation {
        /// The customer's service account, e.g. `byob@acme.iam.gserviceaccount.com`.
        service_account: String,
    },
    AzureSas {
        /// Storage account name.
        account: String,
        /// The SAS query string (the part after `?`).
        #[schema(value_type = String)]
        sas_token: Sensitive<String>,
    },
    AzureSharedKey {
        account: String,
        #[schema(value_type = String)]
        account_key: Sensitive<String>,
    },
    AzureServicePrincipal {
        account: String,
        tenant_id: String,
        client_id: String,
        #[schema(value_type = String)]
        client_secret: Sensitive<String>,
    },
    /// byob's own application for this org (named in the setup), to which an admin of the customer's tenant
    /// consents and grants a role on the container: no customer secret.
    AzureBroker { account: String, tenant_id: String },
    /// A directory on byob's host; only where the operator allows it (development).
    Local,
}

impl CredentialsInput {
    /// The mode's stable name, as `mode` spells it.
    pub(crate) fn mode(&self) -> &'static str {
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
}

/// A secret value to store, owned by the integration.
#[derive(Debug)]
pub(crate) struct NewSecret {
    pub id: SecretId,
    /// Which credential field it is, e.g. `secret_access_key`.
    pub field: &'static str,
    pub value: Sensitive<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl NewSecret {
    pub(crate) fn new(field: &'static str, value: Sensitive<String>) -> Self {
        Self { id: SecretId::generate(), field, value, expires_at: None }
    }
}

/// The checked credential and the secrets to store with it.
#[derive(Debug)]
pub(crate) struct Checked {
    pub credentials: Credentials,
    pub secrets: Vec<NewSecret>,
}

impl Checked {
    /// Credentials with no secret of their own.
    pub(crate) fn inline(credentials: Credentials) -> Self {
        Self { credentials, secrets: Vec::new() }
    }
}

/// Where the credential will be used.
pub(crate) struct CredentialContext<'a> {
    pub provider: Provider,
    pub custom_endpoint: bool,
    pub region: Option<&'a Region>,
    pub features: &'a [Feature],
    pub allow_local: bool,
    pub now: DateTime<Utc>,
}

/// A mode of another provider's, given to this one (callers check `StorageProvider::takes` first).
pub(crate) fn mode_of_another_provider(input: &CredentialsInput) -> ServiceError {
    FieldError::new(
        "credentials.mode",
        byob_core::rules::CREDENTIALS_MODE_PROVIDER,
        format!("mode `{}` is not one of this provider's", input.mode()),
    )
    .into()
}

/// The largest secret value accepted (a service account key file, a SAS).
pub(crate) const MAX_SECRET_BYTES: usize = 16 * 1024;

/// An external id for a trust policy: 128 random bits, in characters AWS accepts.
pub(crate) fn new_external_id() -> Result<String, ServiceError> {
    let bytes = random::bytes::<16>().map_err(|e| ServiceError::SecretBox(e.into()))?;
    Ok(format!("byob-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

/// A secret field: present, and within `max` bytes.
pub(crate) fn secret_text(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(FieldError::new(field, byob_core::rules::SECRET_EMPTY, "must not be empty"));
    }
    if value.len() > max {
        return Err(FieldError::new(field, byob_core::rules::SECRET_LENGTH, format!("must be at most {max} bytes")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_are_fresh_128_bit_values() -> Result<(), ServiceError> {
        let a = new_external_id()?;
        assert_eq!(a.len(), "byob-".len() + 32);
        assert_ne!(a, new_external_id()?);
        Ok(())
    }

    #[test]
    fn secret_fields_are_bounded() {
        assert_eq!(secret_text("s", "", 10).err().map(|e| e.rule), Some("secret-empty"));
        assert_eq!(secret_text("s", "12345678901", 10).err().map(|e| e.rule), Some("secret-length"));
    }
}
