//! Relay uploads, for storage that has no URLs to hand out: byob receives each part itself, streams it into the
//! storage next to the upload, and concatenates the parts into the object at completion.

use byob_core::{
    OrgId, UploadId,
    upload::{Transfer, Upload, UploadState},
};
use byob_ports::storage::{StorageClient, StorageError};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use object_store::{ObjectStoreExt, WriteMultipart, path::Path};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{UploadService, not_pending};
use crate::{RequestContext, ServiceError, auth::token_hash, data::plan};

/// Where relayed part `part` waits for completion, next to the upload's object.
pub(super) fn relay_part_key(upload: &Upload, part: u32) -> String {
    let dir = upload.key.rsplit_once('/').map_or("", |(d, _)| d);
    format!("{dir}/parts/{part:05}")
}

impl UploadService {
    /// Receives one part of a relay upload, streaming it into the default storage. Returns its ETag.
    ///
    /// # Errors
    /// `upload-token-invalid` for a wrong or expired token (the same for an unknown upload); a part outside the
    /// plan or of the wrong length; storage errors.
    pub async fn relay_part<S>(
        &self,
        org: OrgId,
        id: UploadId,
        part_number: u32,
        token: &str,
        mut body: S,
    ) -> Result<String, ServiceError>
    where
        S: Stream<Item = Result<Bytes, String>> + Unpin + Send,
    {
        let refused = || ServiceError::Refused {
            code: byob_core::codes::UPLOAD_TOKEN_INVALID,
            message: "this part URL is not valid (wrong or expired token); refresh the upload's part URLs".into(),
        };
        let upload = self.deps.catalog.get_upload(org, id).await?.ok_or_else(refused)?;
        let Transfer::Relay { token_hash: hash, token_expires_at, part_count, .. } = &upload.transfer else {
            return Err(refused());
        };
        if !bool::from(token_hash(token).as_bytes().ct_eq(hash.as_bytes())) || *token_expires_at < self.deps.clock.now()
        {
            return Err(refused());
        }
        if upload.state != UploadState::Pending {
            return Err(not_pending(&upload));
        }
        if !(1..=*part_count).contains(&part_number) {
            return Err(ServiceError::invalid("part", format!("part {part_number} is not in 1-{part_count}")));
        }
        let (_, expected) = plan::part_span(&upload, part_number);
        let ctx = RequestContext::system();
        let client = self.storage.stored_in(&ctx, org, upload.integration_id).await?;
        let key = client.key(&relay_part_key(&upload, part_number))?;
        let mut writer = WriteMultipart::new(client.store().put_multipart(&key).await.map_err(StorageError::from)?);
        let mut hasher = Sha256::new();
        let mut received = 0u64;
        let rate = self.settings.relay_min_rate;
        let mut window_end = tokio::time::Instant::now() + rate.window;
        let mut in_window = 0u64;
        loop {
            let chunk = match tokio::time::timeout_at(window_end, body.next()).await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(_) if in_window >= rate.bytes => {
                    (window_end, in_window) = (tokio::time::Instant::now() + rate.window, 0);
                    continue;
                }
                Err(_) => {
                    writer.abort().await.ok();
                    return Err(ServiceError::Refused {
                        code: byob_core::codes::RELAY_TOO_SLOW,
                        message: format!(
                            "part {part_number} arrived slower than {} bytes in {} s; send it again",
                            rate.bytes,
                            rate.window.as_secs_f64()
                        ),
                    });
                }
            };
            if let Ok(chunk) = &chunk {
                in_window += chunk.len() as u64;
                if tokio::time::Instant::now() >= window_end && in_window >= rate.bytes {
                    (window_end, in_window) = (tokio::time::Instant::now() + rate.window, 0);
                }
            }
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    writer.abort().await.ok();
                    return Err(ServiceError::invalid("body", format!("the part's body could not be read: {e}")));
                }
            };
            received += chunk.len() as u64;
            if received > expected {
                writer.abort().await.ok();
                return Err(ServiceError::invalid(
                    "body",
                    format!("part {part_number} is {expected} bytes; more arrived"),
                ));
            }
            hasher.update(&chunk);
            writer.write(&chunk);
        }
        if received != expected {
            writer.abort().await.ok();
            return Err(ServiceError::invalid(
                "body",
                format!("part {part_number} is {expected} bytes; {received} arrived"),
            ));
        }
        writer.finish().await.map_err(StorageError::from)?;
        Ok(format!("\"{}\"", hex::encode(&hasher.finalize()[..16])))
    }

    /// Concatenates a relay upload's parts into the object, streaming, then removes the parts.
    pub(super) async fn assemble(
        &self,
        client: &StorageClient,
        key: &Path,
        upload: &Upload,
        parts: u32,
    ) -> Result<(), ServiceError> {
        let store = client.store();
        let mut keys = Vec::new();
        for n in 1..=parts {
            let part = client.key(&relay_part_key(upload, n))?;
            match store.head(&part).await {
                Ok(meta) if meta.size == plan::part_span(upload, n).1 => keys.push(part),
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {
                    return Err(ServiceError::Refused {
                        code: byob_core::codes::UPLOAD_INCOMPLETE,
                        message: format!("part {n} has not arrived; send it before completing"),
                    });
                }
                Err(e) => return Err(StorageError::from(e).into()),
            }
        }
        let mut writer = WriteMultipart::new(store.put_multipart(key).await.map_err(StorageError::from)?);
        for part in &keys {
            let mut stream = store.get(part).await.map_err(StorageError::from)?.into_stream();
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(chunk) => {
                        writer.wait_for_capacity(4).await.map_err(StorageError::from)?;
                        writer.write(&chunk);
                    }
                    Err(e) => {
                        writer.abort().await.ok();
                        return Err(StorageError::from(e).into());
                    }
                }
            }
        }
        writer.finish().await.map_err(StorageError::from)?;
        for part in keys {
            store.delete(&part).await.ok();
        }
        Ok(())
    }
}
