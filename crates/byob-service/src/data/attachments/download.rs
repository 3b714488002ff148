//! Downloads and thumbnails: a redirect to a fresh short-lived URL whose answer carries the headers byob signs
//! into it, or the object streamed through byob for storage without URLs.

use byob_core::{
    AttachmentId, AuditOutcome, OrgId,
    attachment::{Attachment, AttachmentState, Presentation},
};
use byob_ports::storage::{ResponseHeaders, StorageClient, StorageError};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use object_store::{ObjectStoreExt, path::Path};
use serde_json::json;

use super::AttachmentService;
use crate::{Access, RequestContext, ServiceError};

/// How a download reaches the client.
pub enum Delivery {
    /// A presigned GET carrying the signed response headers.
    Redirect { url: String, expires_at: DateTime<Utc> },
    /// Storage without URLs: byob streams the object itself, with these headers.
    Stream { body: BoxStream<'static, Result<Bytes, object_store::Error>>, size: u64, headers: ResponseHeaders },
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL is a capability: never printed.
        match self {
            Self::Redirect { expires_at, .. } => f.debug_struct("Redirect").field("expires_at", expires_at).finish(),
            Self::Stream { size, .. } => f.debug_struct("Stream").field("size", size).finish_non_exhaustive(),
        }
    }
}

impl AttachmentService {
    /// Where a download goes: a fresh presigned GET (or byob's own stream, for storage without URLs) whose
    /// answer carries `Content-Disposition` (inline only for an allowlisted type when the policy allows
    /// previews) and the checked type.
    ///
    /// # Errors
    /// Not a member; not found; `attachment-not-available`; storage errors.
    pub async fn download(&self, ctx: &RequestContext, org: OrgId, id: AttachmentId) -> Result<Delivery, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let a = self.find(org, id).await?;
        let content_type = available_type(&a)?;
        let policy = self.policy_for(org, &a.collection, &a.field).await?;
        let presentation = Presentation::for_type(content_type, policy.inline_preview);
        let headers = ResponseHeaders {
            content_disposition: Some(presentation.content_disposition(&a.filename)),
            content_type: Some(content_type.to_string()),
        };
        let (client, key) = self.located(ctx, &a).await?;
        let delivery = self.deliver(&client, &key, headers).await?;
        let inline = presentation == Presentation::Inline;
        self.audit(
            ctx,
            &a,
            byob_core::actions::ATTACHMENT_DOWNLOAD,
            AuditOutcome::Success,
            json!({ "inline": inline }),
        )
        .await?;
        Ok(delivery)
    }

    /// The thumbnail, shown inline as PNG.
    ///
    /// # Errors
    /// Not a member; not found; `attachment-thumbnail-not-found`; storage errors.
    pub async fn thumbnail(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: AttachmentId,
    ) -> Result<Delivery, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let a = self.find(org, id).await?;
        let Some(relative) = a.thumbnail_key.clone().filter(|_| a.state == AttachmentState::Available) else {
            return Err(ServiceError::not_found(byob_core::codes::ATTACHMENT_THUMBNAIL_NOT_FOUND, id));
        };
        let client = self.storage.stored_in(ctx, org, Some(a.integration_id)).await?;
        let key = client.key(&relative)?;
        let stem = a.filename.rsplit_once('.').map_or(a.filename.as_str(), |(stem, _)| stem);
        let headers = ResponseHeaders {
            content_disposition: Some(Presentation::Inline.content_disposition(&format!("{stem}-thumbnail.png"))),
            content_type: Some("image/png".into()),
        };
        let delivery = self.deliver(&client, &key, headers).await?;
        self.audit(ctx, &a, byob_core::actions::ATTACHMENT_THUMBNAIL, AuditOutcome::Success, json!({})).await?;
        Ok(delivery)
    }

    async fn deliver(
        &self,
        client: &StorageClient,
        key: &Path,
        headers: ResponseHeaders,
    ) -> Result<Delivery, ServiceError> {
        if client.capability().presign {
            let url = client.presign_download(key, Some(self.settings.download_ttl), &headers).await?;
            return Ok(Delivery::Redirect { url: url.url.to_string(), expires_at: url.expires_at });
        }
        let object = client.store().get(key).await.map_err(StorageError::from)?;
        let size = object.meta.size;
        Ok(Delivery::Stream { body: object.into_stream(), size, headers })
    }
}

/// The checked type of an available attachment.
fn available_type(a: &Attachment) -> Result<&str, ServiceError> {
    match (&a.content_type, a.state) {
        (Some(t), AttachmentState::Available) => Ok(t),
        _ => Err(ServiceError::Refused {
            code: byob_core::codes::ATTACHMENT_NOT_AVAILABLE,
            message: format!("attachment `{}` is {}, not available to download", a.id, a.state.as_str()),
        }),
    }
}
