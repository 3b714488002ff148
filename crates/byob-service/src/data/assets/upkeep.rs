//! The janitor's part for assets: manifests a failed write left out, content of deleted assets past their
//! retention, staging writes a crash left behind, and store checks that are due.

use byob_core::{AuditOutcome, asset};
use futures::FutureExt;
use serde::Serialize;
use serde_json::json;

use super::{AssetService, check::CHECK_JOB, delete_object};
use crate::{RequestContext, ServiceError};

/// Records looked at per pass.
const BATCH: u32 = 200;
/// How long a manifest may be missing before the janitor writes it (a write in progress writes its own).
const MANIFEST_GRACE: chrono::Duration = chrono::Duration::minutes(5);
/// How long a staging write may run before the janitor takes it for the leftover of a crash.
const WRITE_GRACE: chrono::Duration = chrono::Duration::hours(6);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct AssetUpkeep {
    pub manifests_written: u64,
    pub contents_purged: u64,
    pub writes_cleared: u64,
    pub checks_queued: u64,
    pub errors: u64,
}

impl AssetService {
    /// One pass.
    ///
    /// # Errors
    /// Catalog errors; a storage failure is counted and tried again next pass.
    pub(crate) async fn upkeep(&self) -> Result<AssetUpkeep, ServiceError> {
        let ctx = RequestContext::system();
        let now = self.deps.clock.now();
        let mut done = AssetUpkeep::default();
        for v in self.deps.catalog.unwritten_asset_manifests(now - MANIFEST_GRACE, BATCH).await? {
            match self.write_missing_manifest(&v).await {
                Ok(()) => done.manifests_written += 1,
                Err(e) => {
                    tracing::warn!(asset = v.name, error = %e, "could not write a missing manifest");
                    done.errors += 1;
                }
            }
        }
        for (org, name) in self.deps.catalog.assets_due_for_purge(now, BATCH).await? {
            for content in self.deps.catalog.purge_asset_versions(org, &name, now).await? {
                let client = match self.storage.stored_in(&ctx, org, content.integration_id).await {
                    Ok(client) => client,
                    Err(e) => {
                        tracing::warn!(error = %e, "the purged content's store is unreachable; left in the bucket");
                        done.errors += 1;
                        continue;
                    }
                };
                let key = asset::content_key(&content.sha256);
                let delete = delete_object(&client, &key).map(|r| r.is_ok()).boxed();
                if self.deps.catalog.delete_unreferenced_content(org, &content, delete).await? {
                    done.contents_purged += 1;
                    let detail = json!({ "name": name, "sha256": content.sha256, "key": key,
                                         "integration": content.integration_id });
                    self.audit(
                        &ctx,
                        org,
                        byob_core::actions::ASSET_PURGE,
                        Some(name.clone()),
                        AuditOutcome::Success,
                        detail,
                    )
                    .await?;
                }
            }
        }
        for write in self.deps.catalog.stale_asset_writes(now - WRITE_GRACE, BATCH).await? {
            if let Some(planned) = &write.planned {
                // An upload plan's bytes are the upload's: the janitor aborts it when it stays incomplete.
                let upload = self.deps.catalog.get_upload(write.org_id, planned.upload).await?;
                if upload.is_some_and(|u| u.state == byob_core::upload::UploadState::Pending) {
                    continue;
                }
            }
            let cleared = async {
                let client = self.storage.stored_in(&ctx, write.org_id, write.integration_id).await?;
                if let Some(sealed) = &write.upload_id {
                    let context = format!("asset-write/{}/{}", write.org_id, write.staging_key);
                    let upload_id = crate::capability::open(&self.deps, &context, sealed)?;
                    client.abort_write(&client.key(&write.staging_key)?, &upload_id).await?;
                }
                delete_object(&client, &write.staging_key).await
            }
            .await;
            match cleared {
                Ok(()) | Err(ServiceError::Refused { .. }) => {
                    self.deps.catalog.delete_asset_write(write.org_id, &write.staging_key).await?;
                    done.writes_cleared += 1;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not clear an asset write a crash left");
                    done.errors += 1;
                }
            }
        }
        if let Some(every) = self.settings.check_every {
            let every = chrono::Duration::from_std(every).unwrap_or(chrono::Duration::days(1));
            for org in self.deps.catalog.asset_stores_due(now - every, BATCH).await? {
                let Some(mut store) = self.deps.catalog.get_asset_store(org).await? else { continue };
                // Marked before the job runs, so the next pass does not queue it again.
                store.verified_at = Some(now);
                self.deps.catalog.put_asset_store(&store).await?;
                match self.jobs.enqueue(&ctx, org, CHECK_JOB, json!({ "scheduled": true }), None).await {
                    Ok(_) => done.checks_queued += 1,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not queue a scheduled asset store check");
                        done.errors += 1;
                    }
                }
            }
        }
        Ok(done)
    }
}
