//! Reads through byob: the content streams from the bucket through a SHA-256; a body whose hash or length is not
//! the version's ends with an error instead of a clean end, fires `asset-tampered` and is audited.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use byob_core::{
    AuditOutcome, OrgId,
    asset::{self, AssetVersion},
};
use bytes::Bytes;
use futures::{Stream, StreamExt, stream::BoxStream};
use object_store::ObjectStoreExt;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{
    AssetService,
    write::{deleted, purged},
};
use crate::{Access, RequestContext, ServiceError};

/// A version and its checked bytes.
pub struct VerifiedRead {
    pub version: AssetVersion,
    pub body: VerifiedBody,
}

/// The content's bytes, checked as they pass: the last item is an error when they are not the version's. The
/// last chunk is held back until the hash is known, so a client counting `Content-Length` never receives the
/// whole length of a wrong body.
pub struct VerifiedBody {
    inner: BoxStream<'static, Result<Bytes, object_store::Error>>,
    held: Option<Bytes>,
    hasher: Sha256,
    seen: u64,
    expected: (String, u64),
    /// Reports the mismatch (once).
    on_mismatch: Option<Box<dyn FnOnce(String) + Send>>,
    done: bool,
}

impl VerifiedBody {
    fn mismatch(&mut self, why: String) -> std::io::Error {
        self.done = true;
        if let Some(report) = self.on_mismatch.take() {
            report(why.clone());
        }
        std::io::Error::other(format!("asset-tampered: {why}"))
    }
}

impl Stream for VerifiedBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                self.seen += chunk.len() as u64;
                if self.seen > self.expected.1 {
                    let why = format!("the object is longer than the version's {} bytes", self.expected.1);
                    return Poll::Ready(Some(Err(self.mismatch(why))));
                }
                self.hasher.update(&chunk);
                match self.held.replace(chunk) {
                    Some(previous) => Poll::Ready(Some(Ok(previous))),
                    // Nothing to pass on yet: ask for the next chunk at once.
                    None => {
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                }
            }
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                Poll::Ready(Some(Err(std::io::Error::other(format!("reading the object from the bucket failed: {e}")))))
            }
            Poll::Ready(None) => {
                let found = hex::encode(std::mem::take(&mut self.hasher).finalize());
                if found == self.expected.0 && self.seen == self.expected.1 {
                    self.done = true;
                    return Poll::Ready(self.held.take().map(Ok));
                }
                let why = format!("the object's SHA-256 is {found} ({} bytes), not the version's", self.seen);
                Poll::Ready(Some(Err(self.mismatch(why))))
            }
        }
    }
}

impl AssetService {
    /// Reads a version (the newest when `version` is none), checking its bytes against its hash as they stream.
    ///
    /// # Errors
    /// Not a member; not found; `asset-deleted`; `asset-content-purged`; `asset-tampered` when the object is gone
    /// or its length is wrong (a wrong hash ends the body with an error).
    pub async fn read(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
        version: Option<u64>,
    ) -> Result<VerifiedRead, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let v = self.find(org, name, version).await?;
        let Some(sha) = v.sha256.clone() else { return Err(deleted(&v)) };
        if v.purged_at.is_some() {
            return Err(purged(&v));
        }
        let client = self.holding(ctx, &v).await?;
        let key = client.key(&asset::content_key(&sha))?;
        let meta = match client.store().head(&key).await {
            Ok(meta) => meta,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(self.tampered(ctx, &v, "its content object is missing from the bucket").await);
            }
            Err(e) => return Err(byob_ports::storage::StorageError::from(e).into()),
        };
        if meta.size != v.size {
            let why = format!("the object holds {} bytes, not the version's {}", meta.size, v.size);
            return Err(self.tampered(ctx, &v, &why).await);
        }
        if let Some(kept) = client.stored_sha256(&key).await?
            && kept != sha
        {
            let why = format!("the bucket's own checksum of the object is {kept}");
            return Err(self.tampered(ctx, &v, &why).await);
        }
        let inner =
            crate::data::ranges::read(&client, &key, v.size).await.map_err(byob_ports::storage::StorageError::from)?;
        let reporter = self.clone();
        let (ctx_owned, tampered_version) = (ctx.clone(), v.clone());
        let on_mismatch: Box<dyn FnOnce(String) + Send> = Box::new(move |why| {
            tokio::spawn(async move {
                let _ = reporter.tampered(&ctx_owned, &tampered_version, &why).await;
            });
        });
        let body = VerifiedBody {
            inner,
            held: None,
            hasher: Sha256::new(),
            seen: 0,
            expected: (sha, v.size),
            on_mismatch: Some(on_mismatch),
            done: false,
        };
        Ok(VerifiedRead { version: v, body })
    }

    /// Records that a version's content is not what it was: an `asset-tampered` event and a failed read in the
    /// audit trail. Returns the error the reader gets.
    pub(super) async fn tampered(&self, ctx: &RequestContext, v: &AssetVersion, why: &str) -> ServiceError {
        let target = Some(format!("{}@{}", v.name, v.version));
        let detail = json!({
            "name": v.name, "version": v.version, "sha256": v.sha256, "integration": v.integration_id,
            "key": v.sha256.as_deref().map(asset::content_key), "reason": why,
        });
        if let Err(e) =
            self.events.emit(ctx, v.org_id, byob_core::event::ASSET_TAMPERED, target.clone(), detail.clone()).await
        {
            tracing::warn!(error = %e, "could not record an asset-tampered event");
        }
        if let Err(e) =
            self.audit(ctx, v.org_id, byob_core::actions::ASSET_READ, target, AuditOutcome::Failed, detail).await
        {
            tracing::warn!(error = %e, "could not audit a tampered read");
        }
        ServiceError::Refused {
            code: byob_core::codes::ASSET_TAMPERED,
            message: format!(
                "version {} of `{}` no longer matches its recorded SHA-256: {why}; restore a good version or run \
                 `byob assets verify`",
                v.version, v.name
            ),
        }
    }
}
