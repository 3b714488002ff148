//! Assets: an org's project files in its own bucket. Content is written once under its SHA-256
//! (`{prefix}/assets/objects/sha256/ab/cdef…`); each write, restore or deletion is a version in the catalog and a
//! signed manifest in the bucket chained to the previous one; reads check the hash as they stream; a store check
//! compares the bucket with the history; a rebuild reads the history back from the bucket.

mod check;
mod commit;
mod manifest;
mod plan;
mod read;
mod rebuild;
mod upkeep;
mod write;

use std::{sync::Arc, time::Duration};

use byob_core::{
    AuditOutcome, OrgId,
    asset::{self, AssetSettings, AssetVersion},
    integration::Feature,
};
use byob_ports::{
    catalog::AssetStore,
    storage::{StorageClient, StorageError},
};
use object_store::ObjectStoreExt;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

pub(crate) use check::CHECK_JOB;
pub use manifest::{PublicKeyView, PublicKeys};
pub use plan::CreateAssetUpload;
pub use read::VerifiedRead;
pub use rebuild::{RebuildReport, RebuildRequest};
pub use write::Preconditions;

use crate::{
    Access, Auditor, Deps, RequestContext, ServiceError, StorageRouter, data::UploadService, health::Events,
    jobs::JobService, routing::RoutedStorage,
};

/// Operator settings for assets (`[assets]`).
#[derive(Debug, Clone)]
pub struct AssetOperatorSettings {
    /// How often the monitor checks each org's store; none to check only on request.
    pub check_every: Option<Duration>,
    /// Reads of content at once, server-wide, by store checks (each streams one object).
    pub check_parallelism: usize,
}

impl Default for AssetOperatorSettings {
    fn default() -> Self {
        Self { check_every: Some(Duration::from_secs(24 * 3600)), check_parallelism: 4 }
    }
}

/// What an admin may change (`PUT …/assets/settings`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAssetSettings {
    /// Days a deleted asset's content is kept for a restore (0-3650).
    pub retention_days: u32,
}

#[derive(Debug, Clone)]
pub struct AssetService {
    deps: Deps,
    auditor: Auditor,
    storage: StorageRouter,
    uploads: UploadService,
    jobs: JobService,
    events: Events,
    settings: Arc<AssetOperatorSettings>,
}

impl AssetService {
    #[must_use]
    pub(crate) fn new(
        deps: Deps,
        auditor: Auditor,
        storage: StorageRouter,
        uploads: UploadService,
        jobs: JobService,
        events: Events,
        settings: AssetOperatorSettings,
    ) -> Self {
        Self { deps, auditor, storage, uploads, jobs, events, settings: Arc::new(settings) }
    }

    async fn authorize(&self, ctx: &RequestContext, org: OrgId, access: Access) -> Result<(), ServiceError> {
        crate::tenancy::authorize(&self.deps, ctx, org, access).await
    }

    /// The store new versions go to: the integration serving assets, or the org's part of the default storage.
    async fn routed(&self, ctx: &RequestContext, org: OrgId) -> Result<RoutedStorage, ServiceError> {
        self.storage.for_feature(ctx, org, Feature::Assets).await
    }

    /// The store holding a version's content.
    async fn holding(&self, ctx: &RequestContext, v: &AssetVersion) -> Result<StorageClient, ServiceError> {
        self.storage.stored_in(ctx, v.org_id, v.integration_id).await
    }

    /// The org's store settings, made with the defaults on first use.
    async fn store(&self, ctx: &RequestContext, org: OrgId) -> Result<AssetStore, ServiceError> {
        if let Some(store) = self.deps.catalog.get_asset_store(org).await? {
            return Ok(store);
        }
        let store = AssetStore {
            org_id: org,
            retention_days: AssetSettings::default().retention_days,
            verified_at: None,
            last_report: None,
            updated_by: ctx.actor().key(),
            updated_at: self.deps.clock.now(),
        };
        self.deps.catalog.put_asset_store(&store).await?;
        Ok(store)
    }

    async fn audit(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        action: &'static str,
        target: Option<String>,
        outcome: AuditOutcome,
        detail: serde_json::Value,
    ) -> Result<(), ServiceError> {
        self.auditor.record(ctx, org, action, target, outcome, detail).await
    }

    async fn find(&self, org: OrgId, name: &str, version: Option<u64>) -> Result<AssetVersion, ServiceError> {
        asset::check_name(name)?;
        let found = match version {
            Some(n) => self.deps.catalog.get_asset_version(org, name, n).await?,
            None => self.deps.catalog.latest_asset_version(org, name).await?,
        };
        match (found, version) {
            (Some(v), _) => Ok(v),
            (None, Some(n)) => {
                if self.deps.catalog.latest_asset_version(org, name).await?.is_none() {
                    return Err(ServiceError::not_found(byob_core::codes::ASSET_NOT_FOUND, name));
                }
                Err(ServiceError::not_found(byob_core::codes::ASSET_VERSION_NOT_FOUND, format!("{name}@{n}")))
            }
            (None, None) => Err(ServiceError::not_found(byob_core::codes::ASSET_NOT_FOUND, name)),
        }
    }

    /// An asset's newest version (its deletion, when deleted).
    ///
    /// # Errors
    /// Not a member; not found.
    pub async fn get(&self, ctx: &RequestContext, org: OrgId, name: &str) -> Result<AssetVersion, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        self.find(org, name, None).await
    }

    /// Assets by name with their newest version; deleted ones only when asked.
    ///
    /// # Errors
    /// Not a member.
    pub async fn list(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        after: Option<&str>,
        with_deleted: bool,
        limit: u32,
    ) -> Result<Vec<AssetVersion>, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        Ok(self.deps.catalog.list_assets(org, after, with_deleted, limit).await?)
    }

    /// An asset's versions, newest first.
    ///
    /// # Errors
    /// Not a member; not found.
    pub async fn versions(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<AssetVersion>, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        self.find(org, name, None).await?;
        Ok(self.deps.catalog.list_asset_versions(org, name, before, limit).await?)
    }

    /// The org's keys for checking its manifests (the signing one made on first use).
    ///
    /// # Errors
    /// Not a member; the secret box's errors.
    pub async fn public_keys(&self, ctx: &RequestContext, org: OrgId) -> Result<PublicKeys, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let signer = manifest::signer(&self.deps, org).await?;
        let keys: Vec<PublicKeyView> = self.deps.catalog.asset_keys(org).await?.iter().map(manifest::view).collect();
        let current =
            keys.iter().find(|k| k.key_id == signer.key_id).cloned().ok_or_else(|| ServiceError::Refused {
                code: byob_core::codes::INTERNAL,
                message: "the org's signing key is not among its keys".into(),
            })?;
        Ok(PublicKeys {
            key_id: current.key_id,
            algorithm: current.algorithm,
            public_key: current.public_key,
            public_key_pem: current.public_key_pem,
            keys,
        })
    }

    /// # Errors
    /// Not a member.
    pub async fn settings(&self, ctx: &RequestContext, org: OrgId) -> Result<AssetSettings, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let store = self.deps.catalog.get_asset_store(org).await?;
        Ok(store.map_or_else(AssetSettings::default, |s| AssetSettings { retention_days: s.retention_days }))
    }

    /// Sets how long a deleted asset's content is kept.
    ///
    /// # Errors
    /// Not an admin; `asset-retention`.
    pub async fn set_settings(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        req: UpdateAssetSettings,
    ) -> Result<AssetSettings, ServiceError> {
        self.authorize(ctx, org, Access::Admin).await?;
        if req.retention_days > asset::MAX_RETENTION_DAYS {
            return Err(byob_core::location::FieldError::new(
                "retention_days",
                byob_core::rules::ASSET_RETENTION,
                format!("keep deleted content 0-{} days, not {}", asset::MAX_RETENTION_DAYS, req.retention_days),
            )
            .into());
        }
        let mut store = self.store(ctx, org).await?;
        let before = store.retention_days;
        store.retention_days = req.retention_days;
        store.updated_by = ctx.actor().key();
        store.updated_at = self.deps.clock.now();
        self.deps.catalog.put_asset_store(&store).await?;
        let detail = json!({ "retention_days": { "from": before, "to": req.retention_days } });
        self.audit(ctx, org, byob_core::actions::ASSET_SETTINGS_SET, None, AuditOutcome::Success, detail).await?;
        Ok(AssetSettings { retention_days: store.retention_days })
    }
}

/// Deletes an object; one already gone is not an error.
async fn delete_object(client: &StorageClient, key: &str) -> Result<(), ServiceError> {
    let path = client.key(key)?;
    match client.store().delete(&path).await.map_err(StorageError::from) {
        Ok(()) | Err(StorageError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
