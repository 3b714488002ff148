//! Azure Blob Storage: a SAS, an account key, a service principal, or byob's own per-org application consented
//! to in the customer's tenant (the broker); a custom role on the container.

mod credentials;
mod grants;
mod setup;

use async_trait::async_trait;
use byob_core::Sensitive;
use byob_core::{
    integration::{Credentials, Feature, Integration},
    location::{BucketNaming, Prefix, RegionShape},
};
use byob_ports::{
    storage::{
        StorageClient, StorageError,
        azure::{self as client, AzureAuth, AzureSettings},
        vend::VENDED_LIFETIME,
    },
    warehouse::PullCredentials,
};

use super::{Checked, Connector, CredentialContext, CredentialsInput, StorageProvider};
use crate::{
    Deps, ServiceError,
    artifacts::{ArtifactName, ByobIdentity, ProviderSetup},
    permissions::{Limit, Needed, Operation, Subject, code_of},
    reports::{Outcome, RootCause},
};

pub(crate) struct Azure;

#[async_trait]
impl StorageProvider for Azure {
    fn bucket_naming(&self) -> BucketNaming {
        BucketNaming::Azure
    }
    fn region_shape(&self, _: bool) -> RegionShape {
        RegionShape::Azure
    }
    fn takes(&self, input: &CredentialsInput) -> bool {
        matches!(
            input,
            CredentialsInput::AzureSas { .. }
                | CredentialsInput::AzureSharedKey { .. }
                | CredentialsInput::AzureServicePrincipal { .. }
                | CredentialsInput::AzureBroker { .. }
        )
    }
    fn check_credentials(&self, input: CredentialsInput, cx: &CredentialContext<'_>) -> Result<Checked, ServiceError> {
        credentials::check(input, cx)
    }
    fn check_features(&self, credentials: &Credentials, features: &[Feature], field: &str) -> Result<(), ServiceError> {
        match credentials {
            Credentials::AzureSas { permissions, .. } => credentials::sas_serves_features(field, permissions, features),
            _ => Ok(()),
        }
    }

    /// `azure://ACCOUNT.blob.core.windows.net/CONTAINER/KEY`: what Snowflake reads (Databricks and Trino write
    /// it as `abfss://…`).
    fn object_url(&self, i: &Integration, key: &str) -> Option<String> {
        let account = i.credentials.azure_account()?;
        Some(format!("azure://{account}.blob.core.windows.net/{}/{key}", i.bucket))
    }
    /// A SAS for exactly the staged blob, read only, for 15 minutes (or the operator's shorter limit on presigned
    /// access): a service SAS signed with the account key, or a user-delegation SAS signed with a key the service
    /// principal obtains. A customer's own SAS reaches the whole container and cannot be narrowed: refused.
    async fn vend_object_read(&self, c: &Connector<'_>, i: &Integration, key: &str) -> Result<PullCredentials, String> {
        if matches!(i.credentials, Credentials::AzureSas { .. }) {
            return Err("the integration's SAS reaches its whole container, and byob cannot narrow it to one blob; \
                        an account key or a service principal lets byob sign a SAS for the one blob"
                .into());
        }
        let prefix = Prefix::parse("prefix", &i.prefix).map_err(|e| e.message)?;
        let relative =
            if prefix.is_root() { key } else { key.strip_prefix(&format!("{}/", prefix.as_str())).unwrap_or(key) };
        let client = self.connect(c, i, prefix).await.map_err(|e| e.to_string())?;
        let blob = client.key(relative).map_err(|e| e.to_string())?;
        let lifetime = VENDED_LIFETIME.min(client.max_ttl());
        let signed = client.presign_get(&blob, Some(lifetime)).await.map_err(|e| e.to_string())?;
        let token = signed.url.query().filter(|q| q.contains("sig=")).ok_or("the blob's URL carries no SAS")?;
        Ok(PullCredentials::AzureSas { token: Sensitive::new(token.to_string()) })
    }

    async fn connect(&self, c: &Connector<'_>, i: &Integration, prefix: Prefix) -> Result<StorageClient, ServiceError> {
        let (account, auth) = match &i.credentials {
            Credentials::AzureSharedKey { account, account_key } => {
                (account, AzureAuth::SharedKey(c.reveal(i.org_id, *account_key).await?))
            }
            Credentials::AzureSas { account, sas_token, .. } => {
                (account, AzureAuth::Sas(c.reveal(i.org_id, *sas_token).await?))
            }
            Credentials::AzureServicePrincipal { account, tenant_id, client_id, client_secret } => {
                let client_secret = c.reveal(i.org_id, *client_secret).await?;
                let auth = AzureAuth::ServicePrincipal {
                    tenant_id: tenant_id.clone(),
                    client_id: client_id.clone(),
                    client_secret,
                };
                (account, auth)
            }
            Credentials::AzureBroker { account, tenant_id } => {
                // byob's own application for this org, consented to in the customer's tenant.
                let app = crate::identities::azure_broker_app(c.deps, i.org_id).await?;
                let auth = AzureAuth::ServicePrincipal {
                    tenant_id: tenant_id.clone(),
                    client_id: app.client_id,
                    client_secret: app.client_secret,
                };
                (account, auth)
            }
            other => return Err(super::unavailable(other)),
        };
        // Entra ID tokens (a service principal) come from the operator's authority.
        let authority_host = match auth {
            AzureAuth::ServicePrincipal { .. } => c.settings.azure_authority_host.clone(),
            _ => None,
        };
        let settings = AzureSettings {
            account: account.clone(),
            container: i.bucket.clone(),
            prefix,
            endpoint: i.endpoint.clone(),
            auth,
            authority_host,
            extra_roots_pem: None,
        };
        Ok(client::connect(settings, c.presign(), &c.deps.network)?)
    }

    fn setup(&self) -> &'static dyn ProviderSetup {
        &setup::AzureSetup
    }
    async fn byob_identity(
        &self,
        deps: &Deps,
        i: &Integration,
        mut base: ByobIdentity,
    ) -> Result<ByobIdentity, ServiceError> {
        if matches!(i.credentials, Credentials::AzureBroker { .. }) {
            base.azure_broker_app = match crate::identities::azure_broker_app(deps, i.org_id).await {
                Ok(app) => Some(app.client_id),
                Err(ServiceError::Refused { .. }) => None,
                Err(other) => return Err(other),
            };
        }
        Ok(base)
    }

    fn needs(&self, s: &Subject<'_>, op: Operation) -> Needed {
        match &s.i.credentials {
            Credentials::AzureSas { permissions, .. } => grants::sas(s, op, permissions),
            Credentials::AzureSharedKey { account, .. } => Needed {
                permission: format!("the account key of `{account}` (a key grants everything, so it was refused)"),
                fix: "the storage account refused its own key: it was rotated, or the account is not the one named; \
                      replace the integration's account key with a current one (Storage account → Access keys)"
                    .into(),
            },
            _ => grants::role(s, op),
        }
    }
    fn prefix_limit(&self, i: &Integration) -> Option<Limit> {
        let condition = format!(
            "(`@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith '{}/'`)",
            i.prefix
        );
        let modes = format!(
            "use the `azure_service_principal` or `azure_broker` mode with a condition on the role assignment \
             {condition}, {}",
            super::OWN_BUCKET
        );
        Some(match &i.credentials {
            Credentials::AzureSharedKey { .. } => Limit {
                reason: "an account key reaches every container of the storage account and cannot be limited to a \
                         prefix"
                    .into(),
                instead: modes,
            },
            Credentials::AzureSas { .. } => Limit {
                reason: "a SAS is scoped to a container or to the account, never to a prefix".into(),
                instead: modes,
            },
            _ => Limit {
                reason: "byob's custom role is assigned on the container; without a condition on the role assignment \
                         it reaches the whole container"
                    .into(),
                instead: format!("add a condition to the role assignment {condition}, {}", super::OWN_BUCKET),
            },
        })
    }
    /// An account key grants everything: refused, it is the key itself (rotated, another account's) or the
    /// account's firewall, never a missing permission.
    fn credentials_refused(&self, s: &Subject<'_>, err: &StorageError) -> Option<Outcome> {
        let shared_key = matches!(s.i.credentials, Credentials::AzureSharedKey { .. });
        (shared_key && matches!(err, StorageError::PermissionDenied(_))).then(|| {
            Outcome::failed(
                format!(
                    "the storage account refused its own account key{}: the key was rotated or belongs to another \
                     account, or the account's firewall refuses byob's address",
                    code_of(err)
                ),
                "replace the integration's account key with a current one (Storage account → Access keys), or allow \
                 byob's address in the account's networking rules",
            )
            .because(RootCause::CredentialsRefused)
        })
    }
    /// The SAS grants the permissions the enabled features need (the features may have changed since the SAS was
    /// checked on input).
    fn sas_permissions(&self, s: &Subject<'_>) -> Outcome {
        let i = s.i;
        let Credentials::AzureSas { permissions, .. } = &i.credentials else {
            return Outcome::skipped("not a SAS credential");
        };
        let needed = byob_core::integration::sas_permissions_needed(&i.features);
        let missing: String = needed.chars().filter(|p| !permissions.contains(*p)).collect();
        if !missing.is_empty() {
            let features: Vec<&str> = i.features.iter().map(|f| f.as_str()).collect();
            Outcome::failed(
                format!(
                    "the SAS grants `{permissions}`, but the enabled features ({}) need `{needed}`: `{missing}` is missing",
                    features.join(", ")
                ),
                format!("generate a SAS with permissions `{needed}d` and replace the integration's credentials"),
            )
        } else if !permissions.contains('d') {
            Outcome::warning(
                format!("the SAS grants `{permissions}` without `d`: byob cannot delete staged files or probes"),
                s.fix(ArtifactName::Lifecycle, "add `d` to the SAS, or apply the lifecycle management rules"),
            )
        } else {
            Outcome::passed(format!("the SAS grants `{permissions}`, enough for the enabled features"))
        }
    }
    /// The container's access level has no setup artifact: it is set on the container itself.
    fn public_access_fix(&self) -> Option<&'static str> {
        Some("set the container's public access level to private (no anonymous access)")
    }
}
