//! Google Cloud Storage: a service account key, or impersonation of the customer's service account through the
//! org's own byob identity (never byob's platform identity: confused deputy), IAM bindings with a prefix
//! condition, Cloud KMS keys.

mod credentials;
mod grants;
mod setup;

use async_trait::async_trait;
use byob_core::{
    OrgId,
    integration::{Credentials, Integration},
    location::{BucketNaming, FieldError, Prefix, Provider, Region, RegionShape},
};
use byob_ports::storage::{
    StorageClient, StorageError,
    gcs::{self as client, GcsImpersonation, GcsSettings},
};

use super::{BrowserUploads, Checked, Connector, CredentialContext, CredentialsInput, StorageProvider};
use crate::{
    Deps, ServiceError,
    artifacts::{ByobIdentity, ProviderSetup},
    identities,
    permissions::{Needed, Operation, Subject},
};

pub(crate) struct Gcs;

/// The org's own Google service account, from the operator's pool.
async fn org_identity(deps: &Deps, org: OrgId) -> Result<String, ServiceError> {
    identities::org_identity(
        deps,
        org,
        identities::GCP_ORG_IDENTITY,
        &deps.integrations.gcp_org_accounts,
        "integrations.gcp_org_service_accounts",
    )
    .await
}

#[async_trait]
impl StorageProvider for Gcs {
    fn bucket_naming(&self) -> BucketNaming {
        BucketNaming::Gcs
    }
    fn region_shape(&self, _: bool) -> RegionShape {
        RegionShape::Gcs
    }
    fn kms_key(&self, _: Provider, _: Option<&Region>, text: &str) -> Result<String, FieldError> {
        credentials::kms_key(text)
    }
    fn takes(&self, input: &CredentialsInput) -> bool {
        matches!(input, CredentialsInput::GcsServiceAccountKey { .. } | CredentialsInput::GcsImpersonation { .. })
    }
    fn check_credentials(&self, input: CredentialsInput, _: &CredentialContext<'_>) -> Result<Checked, ServiceError> {
        credentials::check(input)
    }
    /// `gs://bucket/key`: what BigQuery's load jobs (and Snowflake's GCS integrations) read.
    fn object_url(&self, i: &Integration, key: &str) -> Option<String> {
        Some(format!("gs://{}/{key}", i.bucket))
    }
    /// The endpoint tokens may go to, the customer account bound to this org (refused when another org named
    /// it), and the org's identity assigned when the operator provisioned a pool, so the setup can name it;
    /// without one the mode is unavailable when the integration is used, which says what to configure.
    async fn bind_identities(&self, deps: &Deps, org: OrgId, i: &Integration) -> Result<(), ServiceError> {
        let Credentials::GcsImpersonation { service_account } = &i.credentials else { return Ok(()) };
        deps.integrations.check_token_endpoint(i.endpoint.as_deref())?;
        if !deps.integrations.gcp_org_accounts.is_empty() {
            org_identity(deps, org).await?;
        }
        let account = service_account.to_ascii_lowercase();
        identities::claim_customer_account(deps, org, identities::GCP_CUSTOMER_ACCOUNT, &account).await
    }

    async fn connect(&self, c: &Connector<'_>, i: &Integration, prefix: Prefix) -> Result<StorageClient, ServiceError> {
        let client = match &i.credentials {
            Credentials::GcsServiceAccountKey { key, .. } => client::connect(
                GcsSettings {
                    bucket: i.bucket.clone(),
                    prefix,
                    endpoint: i.endpoint.clone(),
                    service_account_key: c.reveal(i.org_id, *key).await?,
                },
                c.presign(),
                &c.deps.network,
            )?,
            Credentials::GcsImpersonation { service_account } => {
                let identity = c.settings.gcp_identity.as_ref().ok_or_else(|| ServiceError::Refused {
                    code: byob_core::codes::CREDENTIAL_MODE_UNAVAILABLE,
                    message:
                        "the operator has not configured byob's Google identity (integrations.gcp_service_account_key)"
                            .into(),
                })?;
                c.deps.integrations.check_token_endpoint(i.endpoint.as_deref())?;
                let delegate = org_identity(c.deps, i.org_id).await?;
                client::connect_impersonated(
                    GcsImpersonation {
                        bucket: i.bucket.clone(),
                        prefix,
                        endpoint: i.endpoint.clone(),
                        service_account: service_account.clone(),
                        byob_key: identity.key.clone(),
                        iam_credentials_endpoint: identity.iam_credentials_endpoint.clone(),
                        delegate: Some(delegate),
                    },
                    c.presign(),
                    &c.deps.network,
                )?
            }
            other => return Err(super::unavailable(other)),
        };
        // Objects written through presigned PUTs carry the integration's key (signed into the URL).
        Ok(client.with_kms_key(i.kms_key.clone()))
    }
    async fn root_may_impersonate(&self, c: &Connector<'_>, i: &Integration) -> Option<Result<bool, StorageError>> {
        let (Credentials::GcsImpersonation { service_account }, Some(identity)) =
            (&i.credentials, c.settings.gcp_identity.as_ref())
        else {
            return None;
        };
        let settings = GcsImpersonation {
            bucket: i.bucket.clone(),
            prefix: Prefix::parse("prefix", &i.prefix).ok()?,
            endpoint: i.endpoint.clone(),
            service_account: service_account.clone(),
            byob_key: identity.key.clone(),
            iam_credentials_endpoint: identity.iam_credentials_endpoint.clone(),
            delegate: None,
        };
        Some(client::root_may_impersonate(&settings).await)
    }

    fn setup(&self) -> &'static dyn ProviderSetup {
        &setup::GcsSetup
    }
    /// A customer's Google account trusts this org's own byob identity, never byob's platform identity.
    async fn byob_identity(
        &self,
        deps: &Deps,
        i: &Integration,
        mut base: ByobIdentity,
    ) -> Result<ByobIdentity, ServiceError> {
        if matches!(i.credentials, Credentials::GcsImpersonation { .. }) {
            base.gcp_service_account = match org_identity(deps, i.org_id).await {
                Ok(identity) => Some(identity),
                Err(ServiceError::Refused { .. }) => None,
                Err(other) => return Err(other),
            };
        }
        Ok(base)
    }

    fn needs(&self, s: &Subject<'_>, op: Operation) -> Needed {
        grants::needs(s, op)
    }
    fn browser_uploads(&self) -> BrowserUploads {
        BrowserUploads { parts_carry_content_range: true, emulator_skips_preflight: true, ..BrowserUploads::default() }
    }
}
