//! How a checked attachment ends: scanned (as a job, tried again while the scanner is unreachable), given a
//! thumbnail, and made `available`; or `rejected`, with its object deleted. Each end is an event and an audit
//! entry.

use byob_core::{
    AttachmentId, AuditOutcome,
    attachment::{Attachment, AttachmentState, Rejection},
    job::Job,
};
use byob_ports::storage::StorageError;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use serde_json::{Value, json};

use super::{AttachmentService, SCAN_JOB, ScannerSettings, scan, thumbnail};
use crate::{
    RequestContext, ServiceError,
    jobs::{JobFailure, JobHandle},
};

/// How long a scan may sit without a live job before the janitor starts another.
const STALLED_AFTER: chrono::Duration = chrono::Duration::minutes(1);
/// How long after a scan job gave up the next one starts: an outage of the scanner costs a few jobs an hour per
/// attachment, not one per janitor pass.
const RESCAN_AFTER: chrono::Duration = chrono::Duration::minutes(15);

impl AttachmentService {
    /// Queues the scan. Should the queue refuse (the org's queued-jobs quota), the attachment is still
    /// `scanning` and the janitor queues the scan later: it is never available unscanned.
    pub(super) async fn start_scan(
        &self,
        ctx: &RequestContext,
        a: &mut Attachment,
        from: AttachmentState,
    ) -> Result<(), ServiceError> {
        a.state = AttachmentState::Scanning;
        a.scan_job = None;
        if !self.deps.catalog.update_attachment(a, from).await? {
            return Err(ServiceError::Conflict("the attachment changed meanwhile".into()));
        }
        let spec = json!({ "attachment": a.id });
        match self.jobs.enqueue(ctx, a.org_id, SCAN_JOB, spec, Some(a.size)).await {
            Ok(job) => {
                a.scan_job = Some(job.id);
                self.deps.catalog.update_attachment(a, AttachmentState::Scanning).await?;
            }
            Err(e) => tracing::warn!(attachment = %a.id, error = %e, "the scan could not be queued; the janitor will"),
        }
        Ok(())
    }

    /// The scan job: asks the scanner, then settles the attachment.
    pub(crate) async fn execute_scan(&self, job: &Job, _handle: &JobHandle) -> Result<Value, JobFailure> {
        let ctx = RequestContext::system();
        let id: Option<AttachmentId> = job.spec.get("attachment").and_then(Value::as_str).and_then(|s| s.parse().ok());
        let Some(id) = id else { return Err(JobFailure::new("job-spec-invalid", "the job names no attachment")) };
        let found = self.deps.catalog.get_attachment(job.org_id, id).await;
        let mut a = match found {
            Ok(Some(a)) if a.state == AttachmentState::Scanning => a,
            // Settled by an attempt that died before announcing it: announced now (once, whoever does).
            Ok(Some(a)) if a.state == AttachmentState::Available => {
                self.announce_available(&ctx, &a).await;
                return Ok(json!({ "attachment": id, "skipped": true }));
            }
            // Deleted, or settled by an earlier attempt: nothing to do.
            Ok(_) => return Ok(json!({ "attachment": id, "skipped": true })),
            Err(e) => return Err(JobFailure::retryable("catalog-unavailable", e.to_string())),
        };
        let verdict = self.scan(&ctx, &a).await.map_err(|e| JobFailure::retryable("scanner-unavailable", e))?;
        let outcome = match verdict {
            scan::Verdict::Clean => self.make_available(&ctx, &mut a, AttachmentState::Scanning).await,
            scan::Verdict::Infected(signature) => {
                let message = format!("the scanner found `{signature}`; the file was deleted");
                self.reject(&ctx, &mut a, "attachment-infected", &message, byob_core::actions::ATTACHMENT_SCAN).await
            }
        };
        outcome.map_err(|e| JobFailure::retryable("attachment-settle-failed", e.to_string()))?;
        Ok(json!({ "attachment": id, "state": a.state.as_str() }))
    }

    async fn scan(&self, ctx: &RequestContext, a: &Attachment) -> Result<scan::Verdict, String> {
        let (client, key) = self.located(ctx, a).await.map_err(|e| e.to_string())?;
        let timeout = self.settings.scan_timeout;
        match &self.settings.scanner {
            ScannerSettings::None => Ok(scan::Verdict::Clean),
            ScannerSettings::Clamd { address } => {
                let object = client.store().get(&key).await.map_err(|e| StorageError::from(e).to_string())?;
                let stream = object.into_stream().map_err(std::io::Error::other);
                scan::clamd(address, stream, timeout).await.map_err(|e| e.to_string())
            }
            ScannerSettings::Http { url } => {
                let ttl = timeout + std::time::Duration::from_secs(60);
                let file = client.presign_get(&key, Some(ttl)).await.map_err(|e| e.to_string())?;
                scan::http(&self.scanner_http, url, file.url.as_str(), a).await.map_err(|e| e.to_string())
            }
        }
    }

    /// Makes the thumbnail (for images within the limits), then marks the attachment available.
    pub(super) async fn make_available(
        &self,
        ctx: &RequestContext,
        a: &mut Attachment,
        from: AttachmentState,
    ) -> Result<(), ServiceError> {
        a.thumbnail_key = self.store_thumbnail(ctx, a).await;
        a.state = AttachmentState::Available;
        a.scanned_by = self.settings.scanner.name().map(String::from);
        a.scan_job = None;
        a.settled_at = Some(self.deps.clock.now());
        if a.scanned_by.is_some() {
            self.audit_once(ctx, a, byob_core::actions::ATTACHMENT_SCAN, json!({ "verdict": "clean" })).await?;
        }
        if !self.deps.catalog.update_attachment(a, from).await? {
            // Deleted meanwhile: the thumbnail just written goes too.
            if let (Some(thumbnail), Ok((client, _))) = (&a.thumbnail_key, self.located(ctx, a).await)
                && let Ok(key) = client.key(thumbnail)
            {
                client.store().delete(&key).await.ok();
            }
            return Ok(());
        }
        self.announce_available(ctx, a).await;
        Ok(())
    }

    /// The `attachment-available` event, once per attachment.
    async fn announce_available(&self, ctx: &RequestContext, a: &Attachment) {
        let payload = json!({
            "attachment": a.id, "collection": a.collection, "record": a.record, "field": a.field,
            "filename": a.filename, "size": a.size, "content_type": a.content_type,
            "thumbnail": a.thumbnail_key.is_some(), "scanned_by": a.scanned_by,
        });
        let id = a.id.to_string();
        let _ = self
            .events
            .emit_once(ctx, a.org_id, byob_core::event::ATTACHMENT_AVAILABLE, Some(id.clone()), payload, &id)
            .await;
    }

    /// Stores a thumbnail beside the object; `None` when the file is no image byob decodes within its limits.
    async fn store_thumbnail(&self, ctx: &RequestContext, a: &Attachment) -> Option<String> {
        let content_type = a.content_type.clone()?;
        let limits = self.settings.thumbnails;
        if !thumbnail::TYPES.contains(&content_type.as_str()) || a.size > limits.max_source_bytes {
            return None;
        }
        let (client, key) = self.located(ctx, a).await.ok()?;
        let _permit = self.decoding.acquire().await.ok()?;
        let bytes = client.store().get(&key).await.ok()?.bytes().await.ok()?;
        let rendered = tokio::task::spawn_blocking(move || thumbnail::render(&bytes, &content_type, limits)).await;
        let png = match rendered {
            Ok(Ok(png)) => png,
            Ok(Err(why)) => {
                tracing::info!(attachment = %a.id, why, "no thumbnail");
                return None;
            }
            Err(e) => {
                tracing::warn!(attachment = %a.id, error = %e, "the thumbnail's decoder stopped");
                return None;
            }
        };
        let relative = byob_core::attachment::thumbnail_key(a.id);
        let thumbnail = client.key(&relative).ok()?;
        match client.put_atomic(thumbnail, png.into()).await {
            Ok(()) => Some(relative),
            Err(e) => {
                tracing::warn!(attachment = %a.id, error = %e, "the thumbnail could not be stored");
                None
            }
        }
    }

    /// Deletes the object (and any thumbnail) and marks the attachment rejected with `code`.
    pub(super) async fn reject(
        &self,
        ctx: &RequestContext,
        a: &mut Attachment,
        code: &str,
        message: &str,
        action: &'static str,
    ) -> Result<(), ServiceError> {
        let from = a.state;
        let (client, key) = self.located(ctx, a).await?;
        super::delete_object(&client, &key).await?;
        if let Some(thumbnail) = a.thumbnail_key.take() {
            super::delete_object(&client, &client.key(&thumbnail)?).await?;
        }
        a.state = AttachmentState::Rejected;
        a.rejection = Some(Rejection { code: code.into(), message: message.into() });
        a.scan_job = None;
        a.settled_at = Some(self.deps.clock.now());
        if !self.deps.catalog.update_attachment(a, from).await? {
            return Ok(());
        }
        self.audit(ctx, a, action, AuditOutcome::Rejected, json!({ "code": code, "message": message })).await?;
        let payload = json!({
            "attachment": a.id, "collection": a.collection, "record": a.record, "field": a.field,
            "filename": a.filename, "code": code, "message": message,
        });
        let _ = self
            .events
            .emit(ctx, a.org_id, byob_core::event::ATTACHMENT_REJECTED, Some(a.id.to_string()), payload)
            .await;
        Ok(())
    }

    /// Marks the attachment of an upload the janitor aborted (its bytes never came) as rejected, so it no longer
    /// holds a place in its record's field.
    pub(crate) async fn abandoned(
        &self,
        ctx: &RequestContext,
        upload: &byob_core::upload::Upload,
    ) -> Result<(), ServiceError> {
        let Some(mut a) = self.deps.catalog.attachment_of_upload(upload.org_id, upload.id).await? else {
            return Ok(());
        };
        if a.state != AttachmentState::Pending {
            return Ok(());
        }
        let message = "the file was never completed; start a new attachment";
        self.reject(ctx, &mut a, "attachment-abandoned", message, byob_core::actions::ATTACHMENT_COMPLETE).await
    }

    /// Queues a new scan for attachments `scanning` without a live job (the scanner stayed unreachable through
    /// every attempt, or the queue refused); returns how many. The janitor calls this each pass.
    pub(crate) async fn restart_stalled_scans(&self) -> Result<u64, ServiceError> {
        let ctx = RequestContext::system();
        let now = self.deps.clock.now();
        let before = now - STALLED_AFTER;
        let mut restarted = 0;
        for mut a in self.deps.catalog.attachments_in_state(AttachmentState::Scanning, before, 200).await? {
            let live =
                match a.scan_job {
                    // A job still queued or running, or one that gave up only recently.
                    Some(job) => self.deps.catalog.get_job(a.org_id, job).await?.is_some_and(|j| {
                        !j.state.is_final() || j.finished_at.is_some_and(|at| at > now - RESCAN_AFTER)
                    }),
                    None => false,
                };
            if !live && self.start_scan(&ctx, &mut a, AttachmentState::Scanning).await.is_ok() {
                restarted += 1;
            }
        }
        Ok(restarted)
    }
}
