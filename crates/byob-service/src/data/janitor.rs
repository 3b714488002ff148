//! The janitor: deletes staged files past their time to live (in the default storage, and in integrations
//! that let byob delete; elsewhere the bucket's lifecycle rule does it), and aborts uploads left incomplete for
//! more than a day. Every action is audited; running totals feed the metrics.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use byob_core::{
    AuditOutcome,
    upload::{Staged, Upload, UploadState},
};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{AssetService, AttachmentService, ExportService, UploadService};
use crate::{Deps, RequestContext, ServiceError};

/// Records looked at per pass.
const BATCH: u32 = 500;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct JanitorReport {
    /// Staged files deleted because their time to live passed.
    pub expired_deleted: u64,
    /// Expired files byob may not delete: the bucket's lifecycle rule removes them.
    pub left_to_lifecycle: u64,
    /// Uploads still incomplete after the limit, aborted.
    pub incomplete_aborted: u64,
    /// Export runs whose files were deleted: staging runs past their time to live, and what failed runs left.
    pub export_runs_cleaned: u64,
    /// Attachments whose scan was queued again (the scanner stayed unreachable through a job's attempts).
    pub scans_restarted: u64,
    /// Asset manifests a failed write left out, written.
    pub asset_manifests_written: u64,
    /// Content of deleted assets past their retention, removed.
    pub asset_contents_purged: u64,
    /// Asset writes a crash left in the staging folder, cleared.
    pub asset_writes_cleared: u64,
    /// Scheduled asset store checks queued.
    pub asset_checks_queued: u64,
    /// Files the storage failed to delete (tried again next pass).
    pub errors: u64,
}

/// Totals since start, for the metrics endpoint.
#[derive(Debug, Default)]
pub struct JanitorTotals {
    pub expired_deleted: AtomicU64,
    pub left_to_lifecycle: AtomicU64,
    pub incomplete_aborted: AtomicU64,
    pub export_runs_cleaned: AtomicU64,
    pub errors: AtomicU64,
}

#[derive(Debug, Clone)]
pub struct Janitor {
    deps: Deps,
    uploads: UploadService,
    exports: ExportService,
    attachments: AttachmentService,
    assets: AssetService,
    abort_incomplete_after: chrono::Duration,
    totals: Arc<JanitorTotals>,
}

impl Janitor {
    #[must_use]
    pub(crate) fn new(
        deps: Deps,
        uploads: UploadService,
        exports: ExportService,
        attachments: AttachmentService,
        assets: AssetService,
        abort_incomplete_after_hours: u32,
    ) -> Self {
        Self {
            deps,
            uploads,
            exports,
            attachments,
            assets,
            abort_incomplete_after: chrono::Duration::hours(i64::from(abort_incomplete_after_hours)),
            totals: Arc::default(),
        }
    }

    #[must_use]
    pub fn totals(&self) -> &JanitorTotals {
        &self.totals
    }

    /// One pass over expired staged files and stale incomplete uploads.
    ///
    /// # Errors
    /// Catalog errors; a storage failure on one file is counted and retried next pass.
    pub async fn sweep(&self) -> Result<JanitorReport, ServiceError> {
        let ctx = RequestContext::system();
        let now = self.deps.clock.now();
        let mut report = JanitorReport::default();
        for upload in self.deps.catalog.stale_uploads(now - self.abort_incomplete_after, BATCH).await? {
            match self.retire(&ctx, upload, byob_core::actions::JANITOR_ABORT_INCOMPLETE).await {
                Ok(_) => report.incomplete_aborted += 1,
                Err(e) => {
                    tracing::warn!(error = %e, "janitor could not abort an incomplete upload");
                    report.errors += 1;
                }
            }
        }
        for upload in self.deps.catalog.expired_uploads(now, BATCH).await? {
            if self.loading(&upload).await? {
                // A load reading the file now keeps it until the load ends; the next pass sees it again.
                continue;
            }
            match self.retire(&ctx, upload, byob_core::actions::JANITOR_EXPIRE).await {
                Ok(Staged::LeftToLifecycle) => report.left_to_lifecycle += 1,
                Ok(_) => report.expired_deleted += 1,
                Err(e) => {
                    tracing::warn!(error = %e, "janitor could not delete an expired file");
                    report.errors += 1;
                }
            }
        }
        report.scans_restarted = self.attachments.restart_stalled_scans().await?;
        let assets = self.assets.upkeep().await?;
        report.asset_manifests_written = assets.manifests_written;
        report.asset_contents_purged = assets.contents_purged;
        report.asset_writes_cleared = assets.writes_cleared;
        report.asset_checks_queued = assets.checks_queued;
        report.errors += assets.errors;
        let (cleaned, errors) = self.exports.sweep().await?;
        report.export_runs_cleaned = cleaned;
        report.errors += errors;
        let t = &self.totals;
        t.expired_deleted.fetch_add(report.expired_deleted, Ordering::Relaxed);
        t.left_to_lifecycle.fetch_add(report.left_to_lifecycle, Ordering::Relaxed);
        t.incomplete_aborted.fetch_add(report.incomplete_aborted, Ordering::Relaxed);
        t.export_runs_cleaned.fetch_add(report.export_runs_cleaned, Ordering::Relaxed);
        t.errors.fetch_add(report.errors, Ordering::Relaxed);
        if report != JanitorReport::default() {
            tracing::info!(?report, "janitor pass");
        }
        Ok(report)
    }

    /// Whether a load of the upload is queued or running.
    async fn loading(&self, upload: &Upload) -> Result<bool, ServiceError> {
        let Some(job) = upload.load_job else { return Ok(false) };
        Ok(self.deps.catalog.get_job(upload.org_id, job).await?.is_some_and(|j| !j.state.is_final()))
    }

    async fn retire(
        &self,
        ctx: &RequestContext,
        mut upload: Upload,
        action: &'static str,
    ) -> Result<Staged, ServiceError> {
        let before = upload.state;
        let staged = match self.uploads.discard(ctx, &upload).await {
            Ok(Staged::DeletedOnAbort) if action == byob_core::actions::JANITOR_EXPIRE => Staged::Expired,
            Ok(staged) => staged,
            // The integration is gone or unusable: nothing byob can do; its lifecycle rule applies.
            Err(ServiceError::Refused { .. }) => Staged::LeftToLifecycle,
            Err(e) => return Err(e),
        };
        upload.staged = staged;
        if before == UploadState::Pending {
            upload.state = UploadState::Aborted;
        }
        self.deps.catalog.update_upload(&upload, before).await?;
        if upload.purpose == byob_core::upload::ATTACHMENT_PURPOSE && before == UploadState::Pending {
            self.attachments.abandoned(ctx, &upload).await?;
        }
        self.uploads
            .audit(ctx, &upload, action, AuditOutcome::Success, json!({ "staged": staged, "key": upload.key }))
            .await?;
        Ok(staged)
    }
}
