//! Which bucket a feature's files go to: the org's integration for that feature, or the operator's default
//! storage under a per-org prefix. Clients are built from the stored integration (revealing its owned secrets,
//! audited as `secret.use`) and cached until the integration changes.

use std::{collections::HashMap, sync::Arc};

use byob_core::{
    IntegrationId, OrgId, SecretId, Sensitive,
    integration::{Credentials, Feature, Integration, IntegrationState},
    location::Prefix,
};
use byob_ports::storage::{
    PresignPolicy, StorageClient, StsSettings,
    azure::{self, AzureAuth, AzureSettings},
    gcs::{self, GcsSettings},
    s3::{self, S3AccessKey, S3Location},
};
use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use crate::{
    Auditor, Deps, RequestContext, ServiceError,
    aws::{assume_role, aws_credentials_missing},
};

/// Operator settings for reaching buckets.
#[derive(Debug, Clone)]
pub struct StorageSettings {
    pub presign: PresignPolicy,
    /// byob's own AWS principal, for assume-role integrations.
    pub sts: Option<StsSettings>,
    /// The platform-owned storage for orgs without an integration.
    pub default_storage: StorageClient,
    pub default_ttl_hours: u32,
    /// The Entra ID authority for Azure service principals, when not the public cloud's.
    pub azure_authority_host: Option<String>,
    /// byob's own Google identity, for impersonation integrations.
    pub gcp_identity: Option<GcpIdentity>,
}

/// byob's own Google service account (operator configuration).
#[derive(Debug, Clone)]
pub struct GcpIdentity {
    pub key: Sensitive<String>,
    pub iam_credentials_endpoint: Option<String>,
}

/// Where a feature's files go.
#[derive(Debug, Clone)]
pub struct RoutedStorage {
    pub client: StorageClient,
    /// The integration, or `None` for the default storage.
    pub integration: Option<IntegrationId>,
    pub staging_ttl_hours: u32,
}

/// The checks without which a feature cannot work at all. A missing bucket or a region mismatch fails its own
/// check and skips the object checks (one root cause, one failure), so those checks are here too.
fn checks_needed(feature: Feature) -> &'static [&'static str] {
    const READS: [&str; 5] = [
        "credentials-obtain",
        "credentials-sas-permissions",
        "location-bucket-exists",
        "location-region",
        "objects-read-back",
    ];
    const WRITES: [&str; 5] = [
        "credentials-obtain",
        "credentials-sas-permissions",
        "location-bucket-exists",
        "location-region",
        "objects-write",
    ];
    const ASSETS: [&str; 6] = [
        "credentials-obtain",
        "credentials-sas-permissions",
        "location-bucket-exists",
        "location-region",
        "objects-write",
        "versioning-enabled",
    ];
    match feature {
        Feature::Imports => &READS,
        Feature::Uploads | Feature::Exports | Feature::Attachments => &WRITES,
        Feature::Assets => &ASSETS,
    }
}

/// Refuses a feature whose integration's latest verification failed a check the feature cannot do without
/// (other failures, e.g. CORS for an export, leave it running).
async fn refuse_if_check_failed(deps: &Deps, i: &Integration, feature: Feature) -> Result<(), ServiceError> {
    if i.state == IntegrationState::Active {
        return Ok(());
    }
    let Some(latest) = crate::reports::stored_reports(deps, i.org_id, i.id, 1).await?.into_iter().next() else {
        return Ok(());
    };
    let needed = checks_needed(feature);
    let blocking = latest
        .checks
        .iter()
        .find(|c| c.status == crate::reports::CheckStatus::Failed && needed.contains(&c.name.as_str()));
    match blocking {
        Some(check) => Err(ServiceError::Refused {
            code: byob_core::codes::INTEGRATION_CHECK_FAILED,
            message: format!(
                "{} cannot run on integration `{}`: its check `{}` failed at {} ({}); fix it and verify again",
                feature.as_str(),
                i.name,
                check.name,
                latest.finished_at.format("%Y-%m-%dT%H:%M:%SZ"),
                check.message
            ),
        }),
        None => Ok(()),
    }
}

/// Features that keep long-lived customer files and so never run on the platform's storage.
fn needs_own_bucket(feature: Feature) -> bool {
    matches!(feature, Feature::Attachments | Feature::Assets)
}

#[derive(Debug, Clone)]
pub struct StorageRouter {
    deps: Deps,
    auditor: Auditor,
    settings: Arc<StorageSettings>,
    cache: Arc<Mutex<ClientCache>>,
}

/// Clients by integration, with the integration version (`updated_at`) they were built from.
type ClientCache = HashMap<IntegrationId, (DateTime<Utc>, StorageClient)>;

impl StorageRouter {
    #[must_use]
    pub fn new(deps: Deps, auditor: Auditor, settings: StorageSettings) -> Self {
        Self { deps, auditor, settings: Arc::new(settings), cache: Arc::default() }
    }

    /// byob's own AWS principal, if the operator configured it.
    /// An Azure client for the integration's container; Entra ID tokens (a service principal) come from the
    /// operator's authority.
    fn azure(
        &self,
        i: &Integration,
        account: &str,
        prefix: Prefix,
        auth: AzureAuth,
        presign: PresignPolicy,
    ) -> Result<StorageClient, byob_ports::storage::StorageError> {
        let authority_host = match auth {
            AzureAuth::ServicePrincipal { .. } => self.settings.azure_authority_host.clone(),
            _ => None,
        };
        let settings = AzureSettings {
            account: account.to_string(),
            container: i.bucket.clone(),
            prefix,
            endpoint: i.endpoint.clone(),
            auth,
            authority_host,
            extra_roots_pem: None,
        };
        azure::connect(settings, presign, &self.deps.network)
    }

    pub(crate) fn sts(&self) -> Option<&StsSettings> {
        self.settings.sts.as_ref()
    }

    /// Whether byob's own Google identity may mint the integration's tokens directly (it must not); `None` when
    /// the integration does not impersonate or byob has no Google identity.
    pub(crate) async fn root_may_impersonate(
        &self,
        i: &Integration,
    ) -> Option<Result<bool, byob_ports::storage::StorageError>> {
        let (Credentials::GcsImpersonation { service_account }, Some(identity)) =
            (&i.credentials, self.settings.gcp_identity.as_ref())
        else {
            return None;
        };
        let settings = gcs::GcsImpersonation {
            bucket: i.bucket.clone(),
            prefix: Prefix::parse("prefix", &i.prefix).ok()?,
            endpoint: i.endpoint.clone(),
            service_account: service_account.clone(),
            byob_key: identity.key.clone(),
            iam_credentials_endpoint: identity.iam_credentials_endpoint.clone(),
            delegate: None,
        };
        Some(gcs::root_may_impersonate(&settings).await)
    }

    /// The storage for `feature` in `org`.
    ///
    /// # Errors
    /// `feature-needs-integration` for attachments and assets without an integration; `integration-disabled`
    /// when the feature's integration is disabled; the errors of [`Self::client_for`].
    pub async fn for_feature(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        feature: Feature,
    ) -> Result<RoutedStorage, ServiceError> {
        crate::tenancy::visible_org(&self.deps, ctx, org).await?;
        let all = crate::records::all_integrations(&self.deps, org).await?;
        if let Some(integration) = all.iter().find(|i| i.features.contains(&feature)) {
            if integration.state == IntegrationState::Disabled {
                return Err(ServiceError::Refused {
                    code: byob_core::codes::INTEGRATION_DISABLED,
                    message: format!(
                        "{} go to integration `{}`, which is disabled; enable it or route the feature elsewhere",
                        feature.as_str(),
                        integration.name
                    ),
                });
            }
            refuse_if_check_failed(&self.deps, integration, feature).await?;
            let client = self.client_for(ctx, integration).await?;
            return Ok(RoutedStorage {
                client,
                integration: Some(integration.id),
                staging_ttl_hours: integration.staging_ttl_hours,
            });
        }
        if needs_own_bucket(feature) {
            return Err(ServiceError::Refused {
                code: byob_core::codes::FEATURE_NEEDS_INTEGRATION,
                message: format!(
                    "{} are kept in the org's own bucket: create an integration serving `{}` first",
                    feature.as_str(),
                    feature.as_str()
                ),
            });
        }
        let client = self.org_default_storage(org)?;
        Ok(RoutedStorage { client, integration: None, staging_ttl_hours: self.settings.default_ttl_hours })
    }

    /// The org's part of the default storage.
    fn org_default_storage(&self, org: OrgId) -> Result<StorageClient, ServiceError> {
        Ok(self.settings.default_storage.narrowed(&format!("orgs/{org}"))?)
    }

    /// The storage an existing record's objects live in: its integration, or the org's part of the default
    /// storage.
    ///
    /// # Errors
    /// `integration-gone` when the integration was deleted since; the errors of [`Self::client_for`].
    pub(crate) async fn stored_in(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        integration: Option<IntegrationId>,
    ) -> Result<StorageClient, ServiceError> {
        match integration {
            None => self.org_default_storage(org),
            Some(id) => {
                let i = self.deps.catalog.get_integration(org, id).await?.ok_or_else(|| ServiceError::Refused {
                    code: byob_core::codes::INTEGRATION_GONE,
                    message: format!("integration `{id}`, where this file was staged, was deleted"),
                })?;
                self.client_for(ctx, &i).await
            }
        }
    }

    async fn reveal(&self, ctx: &RequestContext, org: OrgId, id: SecretId) -> Result<Sensitive<String>, ServiceError> {
        crate::secrets::reveal_owned(&self.deps, &self.auditor, ctx, org, id).await
    }

    /// The storage client of an integration, built once per version of the integration.
    ///
    /// # Errors
    /// `credential-mode-unavailable` for modes byob cannot connect with yet; unusable settings; catalog errors.
    pub async fn client_for(&self, ctx: &RequestContext, i: &Integration) -> Result<StorageClient, ServiceError> {
        if let Some((version, client)) = self.cache.lock().await.get(&i.id)
            && *version == i.updated_at
        {
            return Ok(client.clone());
        }
        let prefix = Prefix::parse("prefix", &i.prefix)?;
        let presign = self.settings.presign;
        let client = match &i.credentials {
            Credentials::S3AccessKey { access_key_id, secret_access_key } => s3::connect(
                S3AccessKey {
                    bucket: i.bucket.clone(),
                    prefix,
                    region: i.region.clone().unwrap_or_else(|| "us-east-1".into()),
                    endpoint: i.endpoint.clone(),
                    path_style: i.path_style,
                    access_key_id: access_key_id.clone(),
                    secret_access_key: self.reveal(ctx, i.org_id, *secret_access_key).await?,
                },
                presign,
                &self.deps.network,
            )?,
            Credentials::S3AssumeRole { role_arn, external_id, .. } => {
                let sts = self.settings.sts.as_ref().ok_or_else(aws_credentials_missing)?;
                let role = assume_role(i, role_arn, external_id, std::time::Duration::from_secs(3600));
                let location = S3Location {
                    bucket: i.bucket.clone(),
                    prefix,
                    region: i.region.clone().unwrap_or_else(|| "us-east-1".into()),
                    endpoint: i.endpoint.clone(),
                };
                s3::connect_assumed_role(location, sts, role, presign, &self.deps.network)?
            }
            Credentials::GcsServiceAccountKey { key, .. } => gcs::connect(
                GcsSettings {
                    bucket: i.bucket.clone(),
                    prefix,
                    endpoint: i.endpoint.clone(),
                    service_account_key: self.reveal(ctx, i.org_id, *key).await?,
                },
                presign,
                &self.deps.network,
            )?,
            Credentials::AzureSharedKey { account, account_key } => {
                let key = self.reveal(ctx, i.org_id, *account_key).await?;
                self.azure(i, account, prefix, AzureAuth::SharedKey(key), presign)?
            }
            Credentials::AzureSas { account, sas_token, .. } => {
                let sas = self.reveal(ctx, i.org_id, *sas_token).await?;
                self.azure(i, account, prefix, AzureAuth::Sas(sas), presign)?
            }
            Credentials::AzureServicePrincipal { account, tenant_id, client_id, client_secret } => {
                let client_secret = self.reveal(ctx, i.org_id, *client_secret).await?;
                let auth = AzureAuth::ServicePrincipal {
                    tenant_id: tenant_id.clone(),
                    client_id: client_id.clone(),
                    client_secret,
                };
                self.azure(i, account, prefix, auth, presign)?
            }
            Credentials::AzureBroker { account, tenant_id } => {
                // byob's own application for this org, consented to in the customer's tenant.
                let app = crate::identities::azure_broker_app(&self.deps, i.org_id).await?;
                let auth = AzureAuth::ServicePrincipal {
                    tenant_id: tenant_id.clone(),
                    client_id: app.client_id,
                    client_secret: app.client_secret,
                };
                self.azure(i, account, prefix, auth, presign)?
            }
            Credentials::GcsImpersonation { service_account } => {
                let identity = self.settings.gcp_identity.as_ref().ok_or_else(|| ServiceError::Refused {
                    code: byob_core::codes::CREDENTIAL_MODE_UNAVAILABLE,
                    message:
                        "the operator has not configured byob's Google identity (integrations.gcp_service_account_key)"
                            .into(),
                })?;
                let policy = &self.deps.integrations;
                policy.check_token_endpoint(i.endpoint.as_deref())?;
                let delegate = crate::identities::org_identity(
                    &self.deps,
                    i.org_id,
                    crate::identities::GCP_ORG_IDENTITY,
                    &policy.gcp_org_accounts,
                    "integrations.gcp_org_service_accounts",
                )
                .await?;
                gcs::connect_impersonated(
                    gcs::GcsImpersonation {
                        bucket: i.bucket.clone(),
                        prefix,
                        endpoint: i.endpoint.clone(),
                        service_account: service_account.clone(),
                        byob_key: identity.key.clone(),
                        iam_credentials_endpoint: identity.iam_credentials_endpoint.clone(),
                        delegate: Some(delegate),
                    },
                    presign,
                    &self.deps.network,
                )?
            }
            Credentials::Local => {
                return Err(ServiceError::Refused {
                    code: byob_core::codes::CREDENTIAL_MODE_UNAVAILABLE,
                    message: format!("byob cannot connect with credential mode `{}` yet", i.credentials.mode()),
                });
            }
        };
        self.cache.lock().await.insert(i.id, (i.updated_at, client.clone()));
        Ok(client)
    }
}
