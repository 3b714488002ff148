//! Upload sessions: byob names the object and hands out URLs; the bytes go from the client straight to the
//! bucket (or, for storage without URLs, to byob's relay endpoint); byob completes the upload and checks its size.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use byob_core::{
    AuditOutcome, OrgId, UploadId,
    integration::Feature,
    upload::{RESERVED_PURPOSE_PREFIX, Staged, Transfer, Upload, UploadState, sanitise_filename},
};
use byob_ports::storage::{StorageClient, StorageError};
use object_store::{ObjectStoreExt, path::Path};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

mod relay;

use relay::relay_part_key;

use super::plan::{self, PartUrl, SINGLE_PUT_MAX, UploadPlan};
use crate::{Access, Auditor, Deps, RequestContext, ServiceError, StorageRouter, auth::token_hash};

/// Operator settings for uploads.
#[derive(Debug, Clone)]
pub struct UploadSettings {
    /// Largest file accepted, in bytes.
    pub max_size_bytes: u64,
    /// Content types accepted (lowercase, without parameters); empty accepts any.
    pub allowed_content_types: Vec<String>,
    /// byob's own address as clients reach it, for relay part URLs.
    pub public_url: url::Url,
    /// The slowest a relay part's body may arrive: at least `bytes` in every `window`, or the part is refused
    /// (`relay-too-slow`), so a trickling client cannot hold a connection and a partial file for long.
    pub relay_min_rate: RelayRate,
}

/// A minimum body rate: `bytes` in every `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayRate {
    pub bytes: u64,
    pub window: std::time::Duration,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUpload {
    /// The file's name; byob keeps it, and uses a sanitised form in the key.
    pub filename: String,
    /// Exact size in bytes; checked when the upload completes.
    pub size: u64,
    pub content_type: String,
    /// What the file is for (`csv-load` by default).
    pub purpose: Option<String>,
    /// Part size for a multipart upload, 5 MiB-5 GiB; byob chooses when absent.
    pub part_size: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshParts {
    /// Parts to sign again; all when absent or empty.
    #[serde(default)]
    pub part_numbers: Vec<u32>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletedPart {
    pub part_number: u32,
    /// The `ETag` header the part's response carried.
    pub etag: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteUpload {
    /// Every part with its ETag (multipart uploads); ignored for a single PUT.
    #[serde(default)]
    pub parts: Vec<CompletedPart>,
}

/// Fresh URLs for an upload's parts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartUrls {
    pub parts: Vec<PartUrl>,
}

#[derive(Debug, Clone)]
pub struct UploadService {
    deps: Deps,
    auditor: Auditor,
    storage: StorageRouter,
    settings: std::sync::Arc<UploadSettings>,
}

fn new_token() -> Result<String, ServiceError> {
    let bytes = byob_core::random::bytes::<32>().map_err(|e| ServiceError::invalid("token", e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A content type's media type: lowercase, without parameters (`Text/CSV; charset=utf-8` is `text/csv`).
pub(crate) fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

fn not_pending(upload: &Upload) -> ServiceError {
    ServiceError::Refused {
        code: byob_core::codes::UPLOAD_NOT_PENDING,
        message: format!("upload `{}` is {}, not waiting for its bytes", upload.id, upload.state.as_str()),
    }
}

impl UploadService {
    #[must_use]
    pub fn new(deps: Deps, auditor: Auditor, storage: StorageRouter, settings: UploadSettings) -> Self {
        Self { deps, auditor, storage, settings: std::sync::Arc::new(settings) }
    }

    pub(crate) async fn member(&self, ctx: &RequestContext, org: OrgId) -> Result<(), ServiceError> {
        crate::tenancy::authorize(&self.deps, ctx, org, Access::Member).await
    }

    pub(crate) fn deps(&self) -> &Deps {
        &self.deps
    }

    pub(crate) fn storage(&self) -> &StorageRouter {
        &self.storage
    }

    /// An upload of the org, as the uploads API sees them: the sessions carrying attachments' or assets' bytes
    /// are theirs, reached only through them.
    pub(crate) async fn find(&self, org: OrgId, id: UploadId) -> Result<Upload, ServiceError> {
        let upload = self.find_any(org, id).await?;
        if upload.purpose.starts_with(RESERVED_PURPOSE_PREFIX) {
            return Err(ServiceError::not_found(byob_core::codes::UPLOAD_NOT_FOUND, id));
        }
        Ok(upload)
    }

    pub(crate) async fn find_any(&self, org: OrgId, id: UploadId) -> Result<Upload, ServiceError> {
        self.deps
            .catalog
            .get_upload(org, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::UPLOAD_NOT_FOUND, id))
    }

    /// The storage holding an upload, and its object's key.
    pub(crate) async fn located(
        &self,
        ctx: &RequestContext,
        upload: &Upload,
    ) -> Result<(StorageClient, Path), ServiceError> {
        let client = self.storage.stored_in(ctx, upload.org_id, upload.integration_id).await?;
        let key = client.key(&upload.key)?;
        Ok((client, key))
    }

    fn validate(&self, req: &CreateUpload) -> Result<(), ServiceError> {
        if req.filename.trim().is_empty() || req.filename.len() > 1024 || req.filename.chars().any(char::is_control) {
            return Err(ServiceError::invalid(
                "filename",
                "give the file's name: 1-1024 characters, no control characters",
            ));
        }
        if i64::try_from(req.size).is_err() {
            // Beyond what the schema allows at all: a malformed request, not merely one over this server's limit.
            return Err(ServiceError::invalid("size", "must be at most 9223372036854775807"));
        }
        if req.size > self.settings.max_size_bytes {
            return Err(ServiceError::Refused {
                code: byob_core::codes::UPLOAD_TOO_LARGE,
                message: format!(
                    "the file is {} bytes; this server accepts at most {} bytes",
                    req.size, self.settings.max_size_bytes
                ),
            });
        }
        let media = media_type(&req.content_type);
        if !self.settings.allowed_content_types.is_empty() && !self.settings.allowed_content_types.contains(&media) {
            return Err(ServiceError::Refused {
                code: byob_core::codes::CONTENT_TYPE_NOT_ALLOWED,
                message: format!(
                    "content type `{media}` is not accepted; allowed: {}",
                    self.settings.allowed_content_types.join(", ")
                ),
            });
        }
        if let Some(purpose) = &req.purpose
            && (purpose.is_empty()
                || purpose.len() > 64
                || purpose.chars().any(char::is_control)
                || purpose.starts_with(RESERVED_PURPOSE_PREFIX))
        {
            return Err(ServiceError::invalid(
                "purpose",
                "1-64 characters, no control characters, not starting with `byob:` (byob's own)",
            ));
        }
        Ok(())
    }

    /// Starts an upload and returns the plan the client follows.
    ///
    /// # Errors
    /// Not a member; invalid fields, a size over the limit, a refused content type; the uploads integration's
    /// state (disabled, a failed check); storage errors.
    pub async fn create(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        req: CreateUpload,
    ) -> Result<UploadPlan, ServiceError> {
        self.member(ctx, org).await?;
        self.validate(&req)?;
        let routed = self.storage.for_feature(ctx, org, Feature::Uploads).await?;
        if routed.integration.is_none() {
            // Staged on the platform's storage (byob's own disk, for relay uploads): bounded per org.
            crate::quota::check(&self.deps, org, byob_ports::catalog::Usage::StagedBytes, req.size).await?;
        }
        let now = self.deps.clock.now();
        let id = UploadId::generate();
        let relative = format!("uploads/{}/{id}/{}", now.format("%Y/%m/%d"), sanitise_filename(&req.filename));
        Ok(self.begin(ctx, org, id, relative, routed, req).await?.0)
    }

    /// Starts an upload session for `relative` (a key byob built) in the routed storage: records it, starts the
    /// provider's multipart upload when one is needed, signs the URLs and audits. Returns the plan and the client.
    pub(crate) async fn begin(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: UploadId,
        relative: String,
        routed: crate::routing::RoutedStorage,
        req: CreateUpload,
    ) -> Result<(UploadPlan, StorageClient), ServiceError> {
        let client = routed.client;
        let now = self.deps.clock.now();
        let key = client.key(&relative)?;
        let ttl = plan::lifetime(req.size, client.max_ttl());
        let mut token = None;
        let transfer = if !client.capability().presign {
            let part_size = plan::part_size(req.size, req.part_size)?;
            let secret = new_token()?;
            let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or_default();
            let transfer = Transfer::Relay {
                part_size,
                part_count: u32::try_from(req.size.div_ceil(part_size).max(1)).unwrap_or(u32::MAX),
                token_hash: token_hash(&secret),
                token_expires_at: expires_at,
            };
            token = Some((secret, expires_at));
            transfer
        } else if req.size <= SINGLE_PUT_MAX && req.part_size.is_none() {
            Transfer::Single
        } else {
            let part_size = plan::part_size(req.size, req.part_size)?;
            // The provider's upload starts once the record (and its key) is in the catalog, below.
            Transfer::Multipart {
                session: String::new(),
                part_size,
                part_count: u32::try_from(req.size.div_ceil(part_size).max(1)).unwrap_or(u32::MAX),
            }
        };
        let mut upload = Upload {
            id,
            org_id: org,
            filename: req.filename,
            size: req.size,
            content_type: media_type(&req.content_type),
            purpose: req.purpose.unwrap_or_else(|| "csv-load".into()),
            integration_id: routed.integration,
            key: relative,
            transfer,
            state: UploadState::Pending,
            staged: Staged::Present,
            expires_at: now + chrono::Duration::hours(i64::from(routed.staging_ttl_hours)),
            rejected_key: None,
            load_job: None,
            created_by: ctx.actor().key(),
            created_at: now,
            completed_at: None,
        };
        self.deps.catalog.insert_upload(&upload).await?;
        let context = crate::capability::upload_session(upload.org_id, upload.id);
        if let Transfer::Multipart { session, .. } = &mut upload.transfer {
            // The key is recorded first, so a crash between starting the provider's upload and recording its id
            // still leaves an upload the janitor finds (by listing the key) and aborts.
            match client.start_multipart(&key).await {
                Ok(started) => *session = crate::capability::seal(&self.deps, &context, &started)?,
                Err(e) => {
                    upload.state = UploadState::Aborted;
                    upload.staged = Staged::DeletedOnAbort;
                    let _ = self.deps.catalog.update_upload(&upload, UploadState::Pending).await;
                    return Err(e.into());
                }
            }
            self.deps.catalog.update_upload(&upload, UploadState::Pending).await?;
        }
        let parts = match &token {
            Some((secret, expires_at)) => plan::relay_urls(&self.settings.public_url, &upload, secret, *expires_at),
            None => plan::provider_urls(&self.deps, &client, &key, &upload, &[], ttl).await?,
        };
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::UPLOAD_CREATE,
                Some(id.to_string()),
                AuditOutcome::Success,
                json!({
                    "filename": upload.filename, "size": upload.size, "key": upload.key,
                    "integration": upload.integration_id, "parts": parts.len(),
                }),
            )
            .await?;
        let plan = self.plan(upload, parts, &client);
        Ok((plan, client))
    }

    fn plan(&self, upload: Upload, parts: Vec<PartUrl>, client: &StorageClient) -> UploadPlan {
        let (method, sequential) = match &upload.transfer {
            Transfer::Single => ("single", false),
            Transfer::Multipart { .. } => ("multipart", client.capability().parts.sequential),
            Transfer::Relay { .. } => ("relay", false),
        };
        UploadPlan { part_size: upload.transfer.part_size(), method: method.into(), sequential, parts, upload }
    }

    /// # Errors
    /// Not a member; not found.
    pub async fn get(&self, ctx: &RequestContext, org: OrgId, id: UploadId) -> Result<Upload, ServiceError> {
        self.member(ctx, org).await?;
        self.find(org, id).await
    }

    /// Newest first.
    ///
    /// # Errors
    /// Not a member; catalog errors.
    pub async fn list(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        after: Option<UploadId>,
        limit: u32,
    ) -> Result<Vec<Upload>, ServiceError> {
        self.member(ctx, org).await?;
        Ok(self.deps.catalog.list_uploads(org, after, limit).await?)
    }

    /// New URLs for parts whose URLs expired (a relay upload gets a new token, voiding the old URLs).
    ///
    /// # Errors
    /// Not a member; not found; not pending; part numbers outside the plan.
    pub async fn refresh(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: UploadId,
        req: RefreshParts,
    ) -> Result<PartUrls, ServiceError> {
        self.member(ctx, org).await?;
        let upload = self.find(org, id).await?;
        self.refresh_parts(ctx, upload, req).await
    }

    /// New URLs for a pending upload's parts.
    pub(crate) async fn refresh_parts(
        &self,
        ctx: &RequestContext,
        mut upload: Upload,
        req: RefreshParts,
    ) -> Result<PartUrls, ServiceError> {
        let (org, id) = (upload.org_id, upload.id);
        if upload.state != UploadState::Pending {
            return Err(not_pending(&upload));
        }
        let count = upload.transfer.part_count();
        if let Some(bad) = req.part_numbers.iter().find(|n| !(1..=count).contains(*n)) {
            return Err(ServiceError::invalid("part_numbers", format!("part {bad} is not in 1-{count}")));
        }
        let (client, key) = self.located(ctx, &upload).await?;
        let ttl = plan::lifetime(upload.size, client.max_ttl());
        let parts = if let Transfer::Relay { token_hash: hash, token_expires_at, .. } = &mut upload.transfer {
            let secret = new_token()?;
            let expires_at = self.deps.clock.now() + chrono::Duration::from_std(ttl).unwrap_or_default();
            *hash = token_hash(&secret);
            *token_expires_at = expires_at;
            if !self.deps.catalog.update_upload(&upload, UploadState::Pending).await? {
                return Err(ServiceError::Conflict("the upload changed meanwhile; try again".into()));
            }
            let all = plan::relay_urls(&self.settings.public_url, &upload, &secret, expires_at);
            all.into_iter()
                .filter(|p| req.part_numbers.is_empty() || req.part_numbers.contains(&p.part_number))
                .collect()
        } else {
            plan::provider_urls(&self.deps, &client, &key, &upload, &req.part_numbers, ttl).await?
        };
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::UPLOAD_REFRESH,
                Some(id.to_string()),
                AuditOutcome::Success,
                json!({ "parts": parts.len() }),
            )
            .await?;
        Ok(PartUrls { parts })
    }

    /// Completes the upload and checks its size.
    ///
    /// # Errors
    /// Not a member; not found; not pending; missing parts or ETags; `upload-size-mismatch` (the object is
    /// deleted and the upload aborted); storage errors.
    pub async fn complete(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: UploadId,
        req: CompleteUpload,
    ) -> Result<Upload, ServiceError> {
        self.member(ctx, org).await?;
        let upload = self.find(org, id).await?;
        self.finish(ctx, upload, req).await
    }

    /// Completes a pending upload: assembles its parts and checks its size (a mismatch deletes the object and
    /// aborts the upload).
    pub(crate) async fn finish(
        &self,
        ctx: &RequestContext,
        mut upload: Upload,
        req: CompleteUpload,
    ) -> Result<Upload, ServiceError> {
        if upload.state != UploadState::Pending {
            return Err(not_pending(&upload));
        }
        let (client, key) = self.located(ctx, &upload).await?;
        match &upload.transfer {
            Transfer::Single => {}
            Transfer::Multipart { session, part_count, .. } => {
                let mut parts = req.parts.clone();
                parts.sort_by_key(|p| p.part_number);
                let numbers: Vec<u32> = parts.iter().map(|p| p.part_number).collect();
                if numbers != (1..=*part_count).collect::<Vec<_>>() {
                    return Err(ServiceError::invalid(
                        "parts",
                        format!("give each part 1-{part_count} once, with the ETag its response carried"),
                    ));
                }
                let session = crate::capability::open(
                    &self.deps,
                    &crate::capability::upload_session(upload.org_id, upload.id),
                    session,
                )?;
                client.complete_multipart(&key, &session, parts.into_iter().map(|p| p.etag).collect()).await.map_err(
                    |e| match e {
                        StorageError::Backend(m) | StorageError::Config(m) => ServiceError::Refused {
                            code: byob_core::codes::UPLOAD_INCOMPLETE,
                            message: format!("the bucket could not assemble the parts: {m}"),
                        },
                        other => other.into(),
                    },
                )?;
            }
            Transfer::Relay { part_count, .. } => self.assemble(&client, &key, &upload, *part_count).await?,
        }
        let size = match client.store().head(&key).await {
            Ok(meta) => meta.size,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(ServiceError::Refused {
                    code: byob_core::codes::UPLOAD_INCOMPLETE,
                    message: "the object is not in the bucket yet: send the file (every part) before completing".into(),
                });
            }
            Err(e) => return Err(StorageError::from(e).into()),
        };
        if size != upload.size {
            client.store().delete(&key).await.ok();
            upload.state = UploadState::Aborted;
            upload.staged = Staged::DeletedOnAbort;
            self.deps.catalog.update_upload(&upload, UploadState::Pending).await?;
            self.audit(
                ctx,
                &upload,
                byob_core::actions::UPLOAD_COMPLETE,
                AuditOutcome::Rejected,
                json!({ "size": size }),
            )
            .await?;
            return Err(ServiceError::Refused {
                code: byob_core::codes::UPLOAD_SIZE_MISMATCH,
                message: format!(
                    "the upload was declared as {} bytes but {size} arrived; the object was deleted, start a new upload",
                    upload.size
                ),
            });
        }
        upload.state = UploadState::Uploaded;
        upload.completed_at = Some(self.deps.clock.now());
        if !self.deps.catalog.update_upload(&upload, UploadState::Pending).await? {
            return Err(ServiceError::Conflict("the upload was completed or aborted meanwhile".into()));
        }
        self.audit(ctx, &upload, byob_core::actions::UPLOAD_COMPLETE, AuditOutcome::Success, json!({ "size": size }))
            .await?;
        Ok(upload)
    }

    /// Aborts an upload: the provider's multipart upload is cancelled and any object deleted.
    ///
    /// # Errors
    /// Not a member; not found; already aborted.
    pub async fn abort(&self, ctx: &RequestContext, org: OrgId, id: UploadId) -> Result<Upload, ServiceError> {
        self.member(ctx, org).await?;
        let mut upload = self.find(org, id).await?;
        if upload.state == UploadState::Aborted {
            return Err(ServiceError::Refused {
                code: byob_core::codes::UPLOAD_ABORTED,
                message: format!("upload `{id}` was already aborted"),
            });
        }
        let before = upload.state;
        let staged = self.discard(ctx, &upload).await?;
        upload.state = UploadState::Aborted;
        upload.staged = staged;
        if !self.deps.catalog.update_upload(&upload, before).await? {
            return Err(ServiceError::Conflict("the upload changed meanwhile; try again".into()));
        }
        self.audit(
            ctx,
            &upload,
            byob_core::actions::UPLOAD_ABORT,
            AuditOutcome::Success,
            json!({ "staged": upload.staged }),
        )
        .await?;
        Ok(upload)
    }

    /// Removes whatever an upload left in the bucket: the provider's pending multipart upload, relay parts, the
    /// object. Where byob may not delete, the lifecycle rule will.
    pub(crate) async fn discard(&self, ctx: &RequestContext, upload: &Upload) -> Result<Staged, ServiceError> {
        let (client, key) = self.located(ctx, upload).await?;
        match &upload.transfer {
            Transfer::Multipart { session, .. } if upload.state == UploadState::Pending && !session.is_empty() => {
                let context = crate::capability::upload_session(upload.org_id, upload.id);
                if let Ok(session) = crate::capability::open(&self.deps, &context, session) {
                    client.abort_multipart(&key, &session).await.ok();
                }
            }
            Transfer::Relay { part_count, .. } => {
                for n in 1..=*part_count {
                    client.store().delete(&client.key(&relay_part_key(upload, n))?).await.ok();
                }
            }
            _ => {}
        }
        // Whatever else is unfinished for the key: an upload whose id was never recorded (a crash), or the one
        // object_store drove while assembling relay parts.
        if let Err(e) = client.clear_unfinished(&key).await {
            tracing::warn!(upload = %upload.id, error = %e, "unfinished uploads could not be listed; left to the bucket's lifecycle rule");
        }
        Ok(match client.store().delete(&key).await.map_err(StorageError::from) {
            Ok(()) | Err(StorageError::NotFound(_)) => Staged::DeletedOnAbort,
            Err(StorageError::PermissionDenied(_)) => Staged::LeftToLifecycle,
            Err(e) => return Err(e.into()),
        })
    }

    pub(crate) fn auditor(&self) -> &crate::Auditor {
        &self.auditor
    }

    pub(crate) async fn audit(
        &self,
        ctx: &RequestContext,
        upload: &Upload,
        action: &'static str,
        outcome: AuditOutcome,
        detail: serde_json::Value,
    ) -> Result<(), ServiceError> {
        self.auditor.record(ctx, upload.org_id, action, Some(upload.id.to_string()), outcome, detail).await
    }
}
