//! Attachments: long-lived files tied to one field of one record of the platform, kept only in the org's own
//! bucket. byob plans the upload (a presigned PUT bound to the declared type and length), checks the bytes when
//! the upload completes (size, real type, the field's policy), has them scanned, makes a thumbnail of images, and
//! serves downloads through short-lived URLs whose response headers it signs.

mod detect;
mod download;
mod policy;
mod scan;
mod settle;
mod thumbnail;

use std::{sync::Arc, time::Duration};

use byob_core::{
    AttachmentId, AuditOutcome, OrgId, UploadId,
    attachment::{self, Attachment, AttachmentState, Slot},
    integration::Feature,
    upload::{ATTACHMENT_PURPOSE, Staged, UploadState},
};
use byob_ports::{
    catalog::AttachmentFilter,
    storage::{StorageClient, StorageError},
};
use object_store::{ObjectStoreExt, path::Path};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

pub use download::Delivery;
pub use policy::PolicyView;
pub use scan::ScannerSettings;
pub use thumbnail::ThumbnailLimits;

use super::{
    CompleteUpload, CreateUpload, PartUrls, RefreshParts, UploadService,
    plan::{PartUrl, UploadPlan},
    uploads::media_type,
};
use crate::{Access, Auditor, Deps, RequestContext, ServiceError, StorageRouter, health::Events, jobs::JobService};

/// The job kind that scans an attachment.
pub(crate) const SCAN_JOB: &str = "attachment-scan";

/// Operator settings for attachments (`[attachments]`).
#[derive(Debug, Clone)]
pub struct AttachmentSettings {
    pub scanner: ScannerSettings,
    /// How long one scan may take before it is tried again.
    pub scan_timeout: Duration,
    /// How long a download's presigned URL lives (the byob link itself never expires: it signs anew each time).
    pub download_ttl: Duration,
    pub thumbnails: ThumbnailLimits,
}

impl Default for AttachmentSettings {
    fn default() -> Self {
        Self {
            scanner: ScannerSettings::None,
            scan_timeout: Duration::from_secs(300),
            download_ttl: Duration::from_secs(60),
            thumbnails: ThumbnailLimits::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAttachment {
    /// The platform's table (or other collection), e.g. `orders`.
    pub collection: String,
    /// The row's key, e.g. `42`.
    pub record: String,
    /// The column (or other field), e.g. `invoice`.
    pub field: String,
    /// The file's name, kept for downloads; never part of the key.
    pub filename: String,
    /// Exact size in bytes; the field's policy bounds it, and it is checked at completion.
    pub size: u64,
    /// The file's media type (e.g. `application/pdf`); the field's policy must allow it, and the bytes must agree.
    pub content_type: String,
}

/// The plan a client follows to send an attachment's bytes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentPlan {
    pub attachment: Attachment,
    /// `single` (one PUT whose type and length are signed where the provider signs headers), `multipart`, or
    /// `relay` (parts sent to byob, for storage without URLs).
    pub method: String,
    pub part_size: Option<u64>,
    /// Parts must be sent one at a time, in order.
    pub sequential: bool,
    /// Send each request with its headers exactly as given, then complete (with each part's `ETag` for multipart).
    pub parts: Vec<PartUrl>,
}

/// Which attachments to list or delete: a collection, optionally one record, optionally one field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SlotFilter {
    pub collection: Option<String>,
    pub record: Option<String>,
    pub field: Option<String>,
    pub state: Option<AttachmentState>,
}

/// How many deletions one request makes at most when a record or collection goes.
const DELETE_BATCH: u32 = 200;

#[derive(Debug, Clone)]
pub struct AttachmentService {
    deps: Deps,
    auditor: Auditor,
    storage: StorageRouter,
    uploads: UploadService,
    jobs: JobService,
    events: Events,
    settings: Arc<AttachmentSettings>,
    /// Calls the HTTP scanner.
    scanner_http: reqwest::Client,
    /// Thumbnails decoding at once, server-wide: each may hold a decoded image.
    decoding: Arc<tokio::sync::Semaphore>,
}

impl AttachmentService {
    #[must_use]
    pub(crate) fn new(
        deps: Deps,
        auditor: Auditor,
        storage: StorageRouter,
        uploads: UploadService,
        jobs: JobService,
        events: Events,
        settings: AttachmentSettings,
    ) -> Self {
        let scanner_http = reqwest::Client::builder().timeout(settings.scan_timeout).build().unwrap_or_default();
        Self {
            deps,
            auditor,
            storage,
            uploads,
            jobs,
            events,
            settings: Arc::new(settings),
            scanner_http,
            decoding: Arc::new(tokio::sync::Semaphore::new(2)),
        }
    }

    async fn authorize(&self, ctx: &RequestContext, org: OrgId, access: Access) -> Result<(), ServiceError> {
        crate::tenancy::authorize(&self.deps, ctx, org, access).await
    }

    async fn find(&self, org: OrgId, id: AttachmentId) -> Result<Attachment, ServiceError> {
        self.deps
            .catalog
            .get_attachment(org, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::ATTACHMENT_NOT_FOUND, id))
    }

    /// The storage holding an attachment, and its object's key.
    async fn located(&self, ctx: &RequestContext, a: &Attachment) -> Result<(StorageClient, Path), ServiceError> {
        let client = self.storage.stored_in(ctx, a.org_id, Some(a.integration_id)).await?;
        let key = client.key(&a.key)?;
        Ok((client, key))
    }

    async fn audit(
        &self,
        ctx: &RequestContext,
        a: &Attachment,
        action: &'static str,
        outcome: AuditOutcome,
        extra: serde_json::Value,
    ) -> Result<(), ServiceError> {
        self.auditor.record(ctx, a.org_id, action, Some(a.id.to_string()), outcome, audit_detail(a, extra)).await
    }

    /// A success that happens once in an attachment's life (its completion, its clean scan), recorded before the
    /// state that follows it is saved: a crash in between repeats the step, which records nothing twice.
    async fn audit_once(
        &self,
        ctx: &RequestContext,
        a: &Attachment,
        action: &'static str,
        extra: serde_json::Value,
    ) -> Result<(), ServiceError> {
        let id = a.id.to_string();
        self.auditor.record_once(ctx, a.org_id, action, Some(id.clone()), &id, audit_detail(a, extra)).await?;
        Ok(())
    }

    /// Starts an attachment: checks the slot, the name, and the field's policy (size, type, files per record)
    /// before any URL is handed out, then returns the plan.
    ///
    /// # Errors
    /// Not a member; invalid fields; `attachment-too-large`, `attachment-type-not-allowed`,
    /// `attachment-slot-full`; `feature-needs-integration` without an integration serving attachments; storage
    /// errors.
    pub async fn create(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        req: CreateAttachment,
    ) -> Result<AttachmentPlan, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let slot = Slot::parse(&req.collection, &req.record, &req.field)?;
        attachment::filename(&req.filename)?;
        let declared = media_type(&req.content_type);
        attachment::media_type("content_type", &declared)?;
        if req.size == 0 {
            return Err(ServiceError::invalid("size", "an attachment has at least one byte"));
        }
        let policy = self.policy_for(org, &slot.collection, &slot.field).await?;
        if req.size > policy.max_bytes {
            return Err(too_large(req.size, policy.max_bytes, &slot));
        }
        if !policy.allows(&declared) {
            return Err(type_not_allowed(&declared, &policy.allowed_types, &slot));
        }
        let routed = self.storage.for_feature(ctx, org, Feature::Attachments).await?;
        let Some(integration) = routed.integration else {
            // The router refuses attachments on the default storage; this is that refusal, should it change.
            return Err(ServiceError::Refused {
                code: byob_core::codes::FEATURE_NEEDS_INTEGRATION,
                message: "attachments are kept in the org's own bucket: create an integration serving them".into(),
            });
        };
        let id = AttachmentId::generate();
        let upload_id = UploadId::generate();
        let now = self.deps.clock.now();
        let attachment = Attachment {
            id,
            org_id: org,
            collection: slot.collection.clone(),
            record: slot.record.clone(),
            field: slot.field.clone(),
            filename: req.filename.clone(),
            size: req.size,
            declared_type: declared.clone(),
            content_type: None,
            state: AttachmentState::Pending,
            rejection: None,
            integration_id: integration,
            key: attachment::object_key(id),
            thumbnail_key: None,
            scanned_by: None,
            scan_job: None,
            upload_id,
            created_by: ctx.actor().key(),
            created_at: now,
            settled_at: None,
        };
        if !self.deps.catalog.insert_attachment(&attachment, policy.max_files_per_record).await? {
            return Err(ServiceError::Refused {
                code: byob_core::codes::ATTACHMENT_SLOT_FULL,
                message: format!(
                    "record `{}` already holds {} file(s) in `{}.{}`, the most its policy allows; delete one first",
                    slot.record, policy.max_files_per_record, slot.collection, slot.field
                ),
            });
        }
        let upload = CreateUpload {
            filename: req.filename,
            size: req.size,
            content_type: declared,
            purpose: Some(ATTACHMENT_PURPOSE.into()),
            part_size: None,
        };
        let (plan, _) = match self.uploads.begin(ctx, org, upload_id, attachment.key.clone(), routed, upload).await {
            Ok(started) => started,
            Err(e) => {
                self.deps.catalog.delete_attachment(org, id).await.ok();
                return Err(e);
            }
        };
        self.audit(
            ctx,
            &attachment,
            byob_core::actions::ATTACHMENT_CREATE,
            AuditOutcome::Success,
            json!({ "filename": attachment.filename, "size": attachment.size, "type": attachment.declared_type }),
        )
        .await?;
        let UploadPlan { method, part_size, sequential, parts, .. } = plan;
        Ok(AttachmentPlan { attachment, method, part_size, sequential, parts })
    }

    /// # Errors
    /// Not a member; not found.
    pub async fn get(&self, ctx: &RequestContext, org: OrgId, id: AttachmentId) -> Result<Attachment, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        self.find(org, id).await
    }

    /// Oldest first, narrowed by collection, record, field and state.
    ///
    /// # Errors
    /// Not a member; a record without its collection; invalid names.
    pub async fn list(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        filter: SlotFilter,
        after: Option<AttachmentId>,
        limit: u32,
    ) -> Result<Vec<Attachment>, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let filter = checked_filter(filter)?;
        Ok(self.deps.catalog.list_attachments(org, &filter, after, limit).await?)
    }

    /// New URLs for a pending attachment's parts.
    ///
    /// # Errors
    /// Not a member; not found; not pending.
    pub async fn refresh(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: AttachmentId,
        req: RefreshParts,
    ) -> Result<PartUrls, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let a = self.find(org, id).await?;
        if a.state != AttachmentState::Pending {
            return Err(not_pending(&a));
        }
        let upload = self.uploads.find_any(org, a.upload_id).await?;
        let urls = self.uploads.refresh_parts(ctx, upload, req).await?;
        self.audit(
            ctx,
            &a,
            byob_core::actions::ATTACHMENT_REFRESH,
            AuditOutcome::Success,
            json!({ "parts": urls.parts.len() }),
        )
        .await?;
        Ok(urls)
    }

    /// Completes the upload and checks the file: its size, its real type (by its bytes) against the declared one
    /// and the field's policy. A file that fails is `rejected` and its object deleted; one that passes is
    /// `available` at once, or `scanning` when a scanner is configured.
    ///
    /// # Errors
    /// Not a member; not found; not pending; missing parts; `upload-size-mismatch`, `attachment-type-mismatch`,
    /// `attachment-type-not-allowed` (the attachment is rejected); storage errors.
    pub async fn complete(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: AttachmentId,
        req: CompleteUpload,
    ) -> Result<Attachment, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let mut a = self.find(org, id).await?;
        if a.state != AttachmentState::Pending {
            return Err(not_pending(&a));
        }
        let upload = self.uploads.find_any(org, a.upload_id).await?;
        let finished = if upload.state == UploadState::Uploaded {
            // A completion whose process died after finishing the upload (the attachment is still pending): the
            // file is whole, and this completion goes on from the checks.
            Ok(upload)
        } else {
            self.uploads.finish(ctx, upload, req).await
        };
        let mut upload = match finished {
            Ok(upload) => upload,
            Err(ServiceError::Refused { code, message }) if code == byob_core::codes::UPLOAD_SIZE_MISMATCH => {
                // The upload deleted the object already.
                self.reject(ctx, &mut a, code.as_str(), &message, byob_core::actions::ATTACHMENT_COMPLETE).await?;
                return Err(ServiceError::Refused { code, message });
            }
            Err(e) => return Err(e),
        };
        upload.staged = Staged::Attachment;
        self.deps.catalog.update_upload(&upload, UploadState::Uploaded).await?;
        let (client, key) = self.located(ctx, &a).await?;
        let head = client
            .store()
            .get_range(&key, 0..a.size.min(detect::HEAD_BYTES))
            .await
            .map_err(|e| ServiceError::from(StorageError::from(e)))?;
        let policy = self.policy_for(org, &a.collection, &a.field).await?;
        let checked =
            detect::check(&a.declared_type, &head).map_err(|m| (byob_core::codes::ATTACHMENT_TYPE_MISMATCH, m));
        let checked = checked.and_then(|found| {
            if policy.allows(&found) {
                Ok(found)
            } else {
                let refused = type_not_allowed(&found, &policy.allowed_types, &a.slot());
                Err((byob_core::codes::ATTACHMENT_TYPE_NOT_ALLOWED, refused.to_string()))
            }
        });
        let found = match checked {
            Ok(found) => found,
            Err((code, message)) => {
                self.reject(ctx, &mut a, code.as_str(), &message, byob_core::actions::ATTACHMENT_COMPLETE).await?;
                return Err(ServiceError::Refused { code, message: format!("{message}; the file was deleted") });
            }
        };
        a.content_type = Some(found);
        let detail = json!({ "size": a.size, "type": a.content_type });
        self.audit_once(ctx, &a, byob_core::actions::ATTACHMENT_COMPLETE, detail).await?;
        if self.settings.scanner == ScannerSettings::None {
            self.make_available(ctx, &mut a, AttachmentState::Pending).await?;
        } else {
            self.start_scan(ctx, &mut a, AttachmentState::Pending).await?;
        }
        Ok(a)
    }

    /// Deletes one attachment: its object, its thumbnail, its pending upload, its record.
    ///
    /// # Errors
    /// Not a member; not found; storage errors.
    pub async fn delete(&self, ctx: &RequestContext, org: OrgId, id: AttachmentId) -> Result<Attachment, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let a = self.find(org, id).await?;
        self.remove(ctx, &a).await?;
        self.audit(ctx, &a, byob_core::actions::ATTACHMENT_DELETE, AuditOutcome::Success, json!({})).await?;
        Ok(a)
    }

    /// Deletes every attachment of a record (the platform deleted the row; a member may), or of a whole
    /// collection (admins only). Returns how many went.
    ///
    /// # Errors
    /// Not allowed; invalid names; storage errors (what was deleted stays deleted; call again for the rest).
    pub async fn delete_all(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        collection: &str,
        record: Option<&str>,
    ) -> Result<u64, ServiceError> {
        let access = if record.is_some() { Access::Member } else { Access::Admin };
        self.authorize(ctx, org, access).await?;
        let filter = checked_filter(SlotFilter {
            collection: Some(collection.into()),
            record: record.map(String::from),
            ..SlotFilter::default()
        })?;
        let mut deleted = 0;
        loop {
            let batch = self.deps.catalog.list_attachments(org, &filter, None, DELETE_BATCH).await?;
            if batch.is_empty() {
                break;
            }
            for a in &batch {
                self.remove(ctx, a).await?;
                deleted += 1;
            }
        }
        let detail = json!({ "collection": collection, "record": record, "deleted": deleted });
        self.auditor
            .record(ctx, org, byob_core::actions::ATTACHMENT_DELETE, None, AuditOutcome::Success, detail)
            .await?;
        Ok(deleted)
    }

    /// Removes an attachment's objects and its record; a pending upload is aborted first.
    async fn remove(&self, ctx: &RequestContext, a: &Attachment) -> Result<(), ServiceError> {
        if a.state == AttachmentState::Pending
            && let Ok(upload) = self.uploads.find_any(a.org_id, a.upload_id).await
        {
            self.uploads.discard(ctx, &upload).await.ok();
        }
        match self.located(ctx, a).await {
            Ok((client, key)) => {
                delete_object(&client, &key).await?;
                if let Some(thumbnail) = &a.thumbnail_key {
                    delete_object(&client, &client.key(thumbnail)?).await?;
                }
            }
            // The integration is gone: its bucket is the customer's to clean up.
            Err(ServiceError::Refused { code, .. }) if code == byob_core::codes::INTEGRATION_GONE => {}
            Err(e) => return Err(e),
        }
        self.deps.catalog.delete_attachment(a.org_id, a.id).await?;
        Ok(())
    }
}

async fn delete_object(client: &StorageClient, key: &Path) -> Result<(), ServiceError> {
    match client.store().delete(key).await.map_err(StorageError::from) {
        Ok(()) | Err(StorageError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn not_pending(a: &Attachment) -> ServiceError {
    ServiceError::Refused {
        code: byob_core::codes::ATTACHMENT_NOT_PENDING,
        message: format!("attachment `{}` is {}, not waiting for its bytes", a.id, a.state.as_str()),
    }
}

fn too_large(size: u64, max: u64, slot: &Slot) -> ServiceError {
    ServiceError::Refused {
        code: byob_core::codes::ATTACHMENT_TOO_LARGE,
        message: format!(
            "the file is {size} bytes; `{}.{}` accepts at most {max} bytes (its attachment policy)",
            slot.collection, slot.field
        ),
    }
}

fn type_not_allowed(found: &str, allowed: &[String], slot: &Slot) -> ServiceError {
    ServiceError::Refused {
        code: byob_core::codes::ATTACHMENT_TYPE_NOT_ALLOWED,
        message: format!(
            "`{}.{}` does not accept `{found}` files; its policy allows {}",
            slot.collection,
            slot.field,
            allowed.join(", ")
        ),
    }
}

/// Checks a listing's or deletion's names: a record needs its collection.
fn checked_filter(filter: SlotFilter) -> Result<AttachmentFilter, ServiceError> {
    if filter.record.is_some() && filter.collection.is_none() {
        return Err(ServiceError::invalid("record", "give the record's collection too"));
    }
    if let Some(collection) = &filter.collection {
        Slot::name("collection", collection)?;
    }
    if let Some(field) = &filter.field {
        Slot::name("field", field)?;
    }
    if let Some(record) = &filter.record {
        Slot::record(record)?;
    }
    Ok(AttachmentFilter {
        collection: filter.collection,
        record: filter.record,
        field: filter.field,
        state: filter.state,
    })
}

/// What every attachment entry says: the slot, the integration, the object's key, and `extra`.
fn audit_detail(a: &Attachment, extra: serde_json::Value) -> serde_json::Value {
    let mut detail = json!({
        "collection": a.collection, "record": a.record, "field": a.field,
        "integration": a.integration_id, "key": a.key,
    });
    if let (Some(detail), serde_json::Value::Object(extra)) = (detail.as_object_mut(), extra) {
        detail.extend(extra);
    }
    detail
}
