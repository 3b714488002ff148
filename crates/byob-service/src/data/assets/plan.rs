//! Large assets through an upload plan: the client sends the bytes straight to the bucket in presigned parts
//! (or relayed parts, for storage without URLs), declaring their SHA-256 first; at completion byob reads the
//! staged object back through SHA-256 and makes the version only if it matches.

use byob_core::{
    AuditOutcome, OrgId, UploadId,
    asset::{self, AssetVersion},
    upload::{ASSET_PURPOSE, Staged, UploadState},
};
use byob_ports::catalog::{AssetWrite, PlannedWrite};
use futures::TryStreamExt;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{AssetService, commit::NewVersion, delete_object, write::Preconditions};
use crate::{
    Access, RequestContext, ServiceError,
    data::{CompleteUpload, CreateUpload, PartUrls, RefreshParts, UploadPlan},
};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAssetUpload {
    /// Exact size in bytes (at least 1).
    pub size: u64,
    /// The content's SHA-256, lowercase hex: the version is made only if the bytes hash to it.
    pub sha256: String,
    /// Part size, 5 MiB-5 GiB; byob chooses when absent.
    pub part_size: Option<u64>,
}

impl AssetService {
    /// Plans an asset's upload straight to the bucket.
    ///
    /// # Errors
    /// Not a member; `asset-name`, `asset-sha256`; an empty size; `asset-precondition-failed`; storage errors.
    pub async fn begin_upload(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
        preconditions: &Preconditions,
        req: CreateAssetUpload,
    ) -> Result<UploadPlan, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        asset::check_name(name)?;
        asset::check_sha256("sha256", &req.sha256)?;
        if req.size == 0 {
            return Err(ServiceError::invalid("size", "an upload plan carries at least one byte; PUT an empty asset"));
        }
        preconditions.check(name, self.deps.catalog.latest_asset_version(org, name).await?.as_ref())?;
        self.store(ctx, org).await?;
        let routed = self.routed(ctx, org).await?;
        let id = UploadId::generate();
        let staging = format!("{}{id}", asset::STAGING_FOLDER);
        let record = AssetWrite {
            org_id: org,
            staging_key: staging.clone(),
            integration_id: routed.integration,
            upload_id: None,
            planned: Some(PlannedWrite { upload: id, name: name.to_string(), sha256: req.sha256.clone() }),
            started_at: self.deps.clock.now(),
        };
        self.deps.catalog.put_asset_write(&record).await?;
        let upload = CreateUpload {
            filename: name.rsplit('/').next().unwrap_or(name).to_string(),
            size: req.size,
            content_type: "application/octet-stream".into(),
            purpose: Some(ASSET_PURPOSE.into()),
            part_size: req.part_size,
        };
        let (plan, _) = match self.uploads.begin(ctx, org, id, staging.clone(), routed, upload).await {
            Ok(started) => started,
            Err(e) => {
                self.deps.catalog.delete_asset_write(org, &staging).await.ok();
                return Err(e);
            }
        };
        let detail = json!({ "name": name, "upload": id, "size": req.size, "sha256": req.sha256 });
        self.audit(ctx, org, byob_core::actions::ASSET_UPLOAD, Some(name.to_string()), AuditOutcome::Success, detail)
            .await?;
        Ok(plan)
    }

    /// The planned write an upload carries, checked against the asset named in the request.
    async fn planned(&self, org: OrgId, name: &str, id: UploadId) -> Result<(AssetWrite, PlannedWrite), ServiceError> {
        let not_found = || ServiceError::not_found(byob_core::codes::UPLOAD_NOT_FOUND, id);
        let write = self.deps.catalog.asset_write_of_upload(org, id).await?.ok_or_else(not_found)?;
        let planned = write.planned.clone().ok_or_else(not_found)?;
        if planned.name != name {
            return Err(not_found());
        }
        Ok((write, planned))
    }

    /// New URLs for a planned upload's parts.
    ///
    /// # Errors
    /// Not a member; not found; not pending.
    pub async fn refresh_upload(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
        id: UploadId,
        req: RefreshParts,
    ) -> Result<PartUrls, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        self.planned(org, name, id).await?;
        let upload = self.uploads.find_any(org, id).await?;
        self.uploads.refresh_parts(ctx, upload, req).await
    }

    /// Drops a planned upload: its parts are discarded, nothing is written.
    ///
    /// # Errors
    /// Not a member; not found.
    pub async fn abort_upload(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
        id: UploadId,
    ) -> Result<(), ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let (write, _) = self.planned(org, name, id).await?;
        let mut upload = self.uploads.find_any(org, id).await?;
        let before = upload.state;
        upload.staged = self.uploads.discard(ctx, &upload).await?;
        upload.state = UploadState::Aborted;
        self.deps.catalog.update_upload(&upload, before).await?;
        self.deps.catalog.delete_asset_write(org, &write.staging_key).await?;
        Ok(())
    }

    /// Completes a planned upload: the parts are joined, the staged object is read back through SHA-256, and
    /// the version is made when it matches the hash declared in the plan.
    ///
    /// # Errors
    /// Not a member; not found; missing parts; `upload-size-mismatch`; `asset-hash-mismatch` (nothing is
    /// written); `asset-precondition-failed`; storage errors.
    pub async fn complete_upload(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
        id: UploadId,
        preconditions: &Preconditions,
        req: CompleteUpload,
    ) -> Result<AssetVersion, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let (write, planned) = self.planned(org, name, id).await?;
        let upload = self.uploads.find_any(org, id).await?;
        let mut upload = self.uploads.finish(ctx, upload, req).await?;
        let client = self.storage.stored_in(ctx, org, write.integration_id).await?;
        let outcome = async {
            let staged = client.key(&write.staging_key)?;
            let mut stream = crate::data::ranges::read(&client, &staged, upload.size)
                .await
                .map_err(byob_ports::storage::StorageError::from)?;
            let mut hasher = Sha256::new();
            while let Some(chunk) = stream.try_next().await.map_err(byob_ports::storage::StorageError::from)? {
                hasher.update(&chunk);
            }
            let hash = hex::encode(hasher.finalize());
            if hash != planned.sha256 {
                return Err(ServiceError::Refused {
                    code: byob_core::codes::ASSET_HASH_MISMATCH,
                    message: format!(
                        "the uploaded bytes hash to {hash}, not the {} the plan declared; nothing was written",
                        planned.sha256
                    ),
                });
            }
            self.place(&client, &write.staging_key, &hash).await?;
            let new = NewVersion {
                sha256: Some(hash.clone()),
                size: upload.size,
                deleted: false,
                restored_from: None,
                integration_id: write.integration_id,
            };
            let v = self.commit(ctx, org, name, preconditions, new, &client).await?;
            self.place(&client, &write.staging_key, &hash).await?;
            Ok(v)
        }
        .await;
        delete_object(&client, &write.staging_key).await.ok();
        self.deps.catalog.delete_asset_write(org, &write.staging_key).await?;
        upload.staged = if outcome.is_ok() { Staged::Asset } else { Staged::DeletedOnAbort };
        self.deps.catalog.update_upload(&upload, UploadState::Uploaded).await?;
        let (outcome_tag, detail) = match &outcome {
            Ok(v) => (
                AuditOutcome::Success,
                json!({ "name": name, "version": v.version, "sha256": v.sha256, "size": v.size, "upload": id }),
            ),
            Err(e) => (AuditOutcome::Failed, json!({ "name": name, "upload": id, "error": e.to_string() })),
        };
        self.audit(ctx, org, byob_core::actions::ASSET_WRITE, Some(name.to_string()), outcome_tag, detail).await?;
        outcome
    }
}
