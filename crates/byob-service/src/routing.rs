//! Which bucket a feature's files go to: the org's integration for that feature, or the operator's default
//! storage under a per-org prefix. Clients are built from the stored integration (revealing its owned secrets,
//! audited as `secret.use`) and cached until the integration changes.

use std::{collections::HashMap, sync::Arc};

use byob_core::{
    IntegrationId, OrgId,
    integration::{Feature, Integration, IntegrationState},
    location::Prefix,
};
use byob_ports::storage::{StorageClient, StsSettings};
use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use crate::{
    Auditor, Deps, RequestContext, ServiceError,
    providers::{self, Connector, StorageSettings},
};

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

/// Features that keep long-lived customer files and so never run on the platform's storage. Assets may: a
/// platform keeps an org's project files in its own storage until the org brings a bucket (and migrates them).
fn needs_own_bucket(feature: Feature) -> bool {
    matches!(feature, Feature::Attachments)
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

    pub(crate) fn sts(&self) -> Option<&StsSettings> {
        self.settings.sts.as_ref()
    }

    /// Whether byob's own identity may mint the integration's tokens directly (it must not); `None` when the
    /// integration does not impersonate or byob has no identity to impersonate with.
    pub(crate) async fn root_may_impersonate(
        &self,
        ctx: &RequestContext,
        i: &Integration,
    ) -> Option<Result<bool, byob_ports::storage::StorageError>> {
        providers::of(i.provider).root_may_impersonate(&self.connector(ctx), i).await
    }

    fn connector<'a>(&'a self, ctx: &'a RequestContext) -> Connector<'a> {
        Connector { deps: &self.deps, settings: &self.settings, auditor: &self.auditor, ctx }
    }

    /// The storage for `feature` in `org`.
    ///
    /// # Errors
    /// `feature-needs-integration` for attachments without an integration; `integration-disabled`
    /// when the feature's integration is disabled; the errors of [`Self::client_for`].
    pub async fn for_feature(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        feature: Feature,
    ) -> Result<RoutedStorage, ServiceError> {
        crate::tenancy::visible_org(&self.deps, ctx, org).await?;
        if let Some(m) = self.deps.catalog.active_migration(org).await?
            && m.state == byob_core::migration::MigrationState::Switching
            && m.features.contains(&feature)
        {
            return Err(ServiceError::Refused {
                code: byob_core::codes::MIGRATION_SWITCHING,
                message: format!(
                    "{} are moving to their new store (migration `{}`); send this again in a few seconds",
                    feature.as_str(),
                    m.id
                ),
            });
        }
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

    /// How a data platform may read the object at `key` (its full key) of an integration itself: the object's
    /// URL as platforms name it (`s3://bucket/key`), and the platform's own storage integration when it has one
    /// (`storage_integration`), else credentials byob vends for exactly that object; or why it may not.
    pub(crate) async fn platform_read(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        integration: Option<IntegrationId>,
        key: &str,
        storage_integration: Option<String>,
    ) -> Result<(String, Option<String>, byob_ports::warehouse::PullCredentials), String> {
        const NOT_READ: &str = "the file's storage is not one the platform reads";
        let found = match integration {
            Some(id) => self.deps.catalog.get_integration(org, id).await.ok().flatten(),
            None => None,
        };
        let i = found.ok_or(NOT_READ)?;
        let provider = providers::of(i.provider);
        let url = provider.object_url(&i, key).ok_or(NOT_READ)?;
        let credentials = match storage_integration {
            Some(name) => byob_ports::warehouse::PullCredentials::Integration(name),
            None => provider
                .vend_object_read(&self.connector(ctx), &i, key)
                .await
                .map_err(|why| format!("byob cannot vend read credentials: {why}"))?,
        };
        Ok((url, i.region.clone(), credentials))
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
        let client = providers::of(i.provider).connect(&self.connector(ctx), i, prefix).await?;
        self.cache.lock().await.insert(i.id, (i.updated_at, client.clone()));
        Ok(client)
    }
}
