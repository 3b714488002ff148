//! Making a version: the next number after the asset's newest (the catalog's key makes two writers racing for it
//! take turns), its manifest signed and chained to the previous one, then the manifest written into the bucket.

use byob_core::{IntegrationId, OrgId, asset::AssetVersion};
use byob_ports::storage::StorageClient;

use super::{AssetService, manifest, write::Preconditions};
use crate::{RequestContext, ServiceError};

/// How often a write without preconditions tries again when other writes of the same asset win.
const ATTEMPTS: u32 = 8;

/// What a new version holds.
pub(super) struct NewVersion {
    pub(super) sha256: Option<String>,
    pub(super) size: u64,
    pub(super) deleted: bool,
    pub(super) restored_from: Option<u64>,
    pub(super) integration_id: Option<IntegrationId>,
}

impl AssetService {
    /// Records the version and writes its manifest into `client`'s bucket.
    ///
    /// # Errors
    /// `asset-precondition-failed`; `asset-write-conflict` when other writes kept winning; the manifest's write
    /// failing (the version is then withdrawn, unless a later one already follows it: the janitor writes its
    /// manifest).
    pub(super) async fn commit(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
        preconditions: &Preconditions,
        new: NewVersion,
        client: &StorageClient,
    ) -> Result<AssetVersion, ServiceError> {
        let signer = manifest::signer(&self.deps, org).await?;
        for _ in 0..ATTEMPTS {
            let latest = self.deps.catalog.latest_asset_version(org, name).await?;
            preconditions.check(name, latest.as_ref())?;
            let mut v = AssetVersion {
                org_id: org,
                name: name.to_string(),
                version: latest.as_ref().map_or(1, |l| l.version + 1),
                sha256: new.sha256.clone(),
                size: new.size,
                deleted: new.deleted,
                author: ctx.actor().key(),
                created_at: self.deps.clock.now(),
                previous: latest.as_ref().map(|l| l.version),
                restored_from: new.restored_from,
                integration_id: new.integration_id,
                manifest_sha256: String::new(),
                manifest_written: false,
                purged_at: None,
            };
            let signed = manifest::make(&signer, &v, latest.map(|l| l.manifest_sha256));
            v.manifest_sha256 = signed.sha256;
            if !self.deps.catalog.insert_asset_version(&v).await? {
                if preconditions.any() {
                    return Err(preconditions.failed(name, "another write of the asset came first"));
                }
                continue;
            }
            let key = client.key(&manifest::key_of(name, v.version))?;
            if let Err(e) = client.put_atomic(key, signed.bytes.into()).await {
                if self.deps.catalog.delete_asset_version_if_latest(org, name, v.version).await? {
                    return Err(e.into());
                }
                tracing::warn!(asset = name, version = v.version, error = %e, "manifest not written; the janitor will");
                return Ok(v);
            }
            self.deps.catalog.mark_asset_manifest_written(org, name, v.version).await?;
            v.manifest_written = true;
            return Ok(v);
        }
        Err(ServiceError::Refused {
            code: byob_core::codes::ASSET_WRITE_CONFLICT,
            message: format!("other writes of `{name}` kept coming first; send the write again"),
        })
    }

    /// Writes a manifest a failed write left out (the janitor): the same bytes the write would have written.
    pub(super) async fn write_missing_manifest(&self, v: &AssetVersion) -> Result<(), ServiceError> {
        let ctx = RequestContext::system();
        let signer = manifest::signer(&self.deps, v.org_id).await?;
        let previous = match v.previous {
            Some(p) => self.deps.catalog.get_asset_version(v.org_id, &v.name, p).await?.map(|p| p.manifest_sha256),
            None => None,
        };
        let signed = manifest::make(&signer, v, previous);
        if signed.sha256 != v.manifest_sha256 {
            tracing::warn!(
                asset = v.name,
                version = v.version,
                "the manifest made again differs from the recorded one"
            );
        }
        let client = self.storage.stored_in(&ctx, v.org_id, v.integration_id).await?;
        client.put_atomic(client.key(&manifest::key_of(&v.name, v.version))?, signed.bytes.into()).await?;
        self.deps.catalog.mark_asset_manifest_written(v.org_id, &v.name, v.version).await?;
        Ok(())
    }
}
