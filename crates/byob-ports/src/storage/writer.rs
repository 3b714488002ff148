//! byob's own streaming writes of one object, atomic on every provider: the object appears only when the write
//! finishes (S3 `CompleteMultipartUpload`, Azure Put Block List, the last chunk of a GCS resumable session, a
//! local file renamed into place). Nothing is visible after an abort or a crash. A write that fits in one chunk
//! is a single PUT.
//!
//! The multipart upload's id is handed to the caller as soon as it exists, so a process that dies mid-write can
//! have its upload aborted by the next one ([`super::StorageClient::abort_write`]).

use std::{collections::VecDeque, sync::Arc};

use bytes::Bytes;
use object_store::{
    MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload,
    multipart::{MultipartStore, PartId},
    path::Path,
};

use tokio::task::JoinHandle;

use super::StorageError;

/// Parts sent at once, where the provider allows parallel parts, and the bytes they may hold in all (at least
/// one part is always sent).
const PARTS_IN_FLIGHT: usize = 4;
const BYTES_IN_FLIGHT: u64 = 16 << 20;

/// A provider's multipart upload driven by byob itself.
#[async_trait::async_trait]
pub(crate) trait PartWriter: Send + Sync {
    /// Parts must go one after the other (a GCS resumable session).
    fn sequential(&self) -> bool {
        false
    }
    /// Even a one-chunk object goes through an upload (a store whose single PUT byob cannot use).
    fn always(&self) -> bool {
        false
    }
    async fn begin(&self, key: &Path) -> Result<String, StorageError>;
    /// Sends part `index` (0-based) holding bytes from `offset`; `total` is the object's size for the last part.
    /// Returns what completing needs to name the part.
    async fn put(
        &self,
        key: &Path,
        upload_id: &str,
        index: usize,
        offset: u64,
        body: Bytes,
        total: Option<u64>,
    ) -> Result<String, StorageError>;
    async fn complete(&self, key: &Path, upload_id: &str, parts: Vec<String>) -> Result<(), StorageError>;
    async fn abort(&self, key: &Path, upload_id: &str) -> Result<(), StorageError>;
    /// Copies an object within the bucket where the store's own copy does not serve (none: use it).
    async fn copy(&self, _from: &Path, _to: &Path) -> Option<Result<(), StorageError>> {
        None
    }
}

/// S3 and Azure, through object_store's multipart calls.
pub(crate) struct StoreParts<S> {
    pub(crate) store: Arc<S>,
}

#[async_trait::async_trait]
impl<S: MultipartStore + ObjectStore + 'static> PartWriter for StoreParts<S> {
    async fn begin(&self, key: &Path) -> Result<String, StorageError> {
        Ok(self.store.create_multipart(key).await?)
    }

    async fn put(
        &self,
        key: &Path,
        upload_id: &str,
        index: usize,
        _offset: u64,
        body: Bytes,
        _total: Option<u64>,
    ) -> Result<String, StorageError> {
        let part = self.store.put_part(key, &upload_id.to_string(), index, PutPayload::from(body)).await?;
        Ok(part.content_id)
    }

    async fn complete(&self, key: &Path, upload_id: &str, parts: Vec<String>) -> Result<(), StorageError> {
        let expected = multipart_etag(&parts);
        let ids = parts.into_iter().map(|content_id| PartId { content_id }).collect();
        match self.store.complete_multipart(key, &upload_id.to_string(), ids).await {
            Ok(_) => Ok(()),
            // A retried completion whose first attempt took effect but whose answer was lost finds the upload
            // gone (S3 `NoSuchUpload`): the write succeeded if the object now there is exactly the one these parts
            // make, which its ETag (the MD5 of the parts' MD5s) says.
            Err(object_store::Error::NotFound { .. }) if expected.is_some() => {
                let found = self.store.head(key).await.ok().and_then(|meta| meta.e_tag);
                if found.as_deref().map(|t| t.trim_matches('"')) == expected.as_deref() {
                    Ok(())
                } else {
                    Err(StorageError::NotFound(format!("the multipart upload of {key} ended before it completed")))
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn abort(&self, key: &Path, upload_id: &str) -> Result<(), StorageError> {
        Ok(self.store.abort_multipart(key, &upload_id.to_string()).await?)
    }
}

/// The ETag S3 gives an object completed from these parts (each part's ETag its MD5): the MD5 of the parts' MD5s,
/// then `-` and their count. None when a part's tag is not an MD5 (another store's block ids).
fn multipart_etag(parts: &[String]) -> Option<String> {
    use md5::{Digest, Md5};
    let mut digests = Md5::new();
    for part in parts {
        let digest = hex::decode(part.trim_matches('"')).ok().filter(|d| d.len() == 16)?;
        digests.update(digest);
    }
    Some(format!("{}-{}", hex::encode(digests.finalize()), parts.len()))
}

enum State {
    /// Nothing sent yet: a write that ends here is one PUT.
    Idle,
    Multipart {
        upload_id: String,
        /// Parts in flight, oldest first, each its own task (so it progresses while the caller produces the next),
        /// with its size.
        parts: VecDeque<(JoinHandle<Result<String, StorageError>>, u64)>,
    },
    /// A store without multipart ids (a local directory): object_store's own upload, renamed into place.
    Local(Box<dyn MultipartUpload>),
}

/// One object being written. Chunks every provider accepts: all but the last at least 5 MiB and a multiple of
/// 256 KiB.
pub struct ObjectWriter {
    store: Arc<dyn ObjectStore>,
    parts: Option<Arc<dyn PartWriter>>,
    key: Path,
    state: State,
    /// The latest chunk, held back until the next one arrives: only then is it known not to be the last.
    held: Option<Bytes>,
    done_parts: Vec<String>,
    next_index: usize,
    offset: u64,
}

impl std::fmt::Debug for ObjectWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectWriter").field("key", &self.key).field("offset", &self.offset).finish_non_exhaustive()
    }
}

impl ObjectWriter {
    pub(crate) fn new(store: Arc<dyn ObjectStore>, parts: Option<Arc<dyn PartWriter>>, key: Path) -> Self {
        Self { store, parts, key, state: State::Idle, held: None, done_parts: Vec::new(), next_index: 0, offset: 0 }
    }

    #[must_use]
    pub fn key(&self) -> &Path {
        &self.key
    }

    /// The provider's upload id, once the write became a multipart upload.
    #[must_use]
    pub fn upload_id(&self) -> Option<&str> {
        match &self.state {
            State::Multipart { upload_id, .. } => Some(upload_id),
            _ => None,
        }
    }

    /// Adds a chunk. Returns the upload id when this call started the multipart upload, for the caller to record.
    ///
    /// # Errors
    /// The bucket's errors.
    pub async fn write(&mut self, chunk: Bytes) -> Result<Option<String>, StorageError> {
        if chunk.is_empty() {
            return Ok(None);
        }
        let Some(previous) = self.held.replace(chunk) else {
            return Ok(None);
        };
        let started = self.start_if_idle().await?;
        self.send(previous, None).await?;
        Ok(started)
    }

    async fn start_if_idle(&mut self) -> Result<Option<String>, StorageError> {
        if !matches!(self.state, State::Idle) {
            return Ok(None);
        }
        match &self.parts {
            Some(parts) => {
                let upload_id = parts.begin(&self.key).await?;
                self.state = State::Multipart { upload_id: upload_id.clone(), parts: VecDeque::new() };
                Ok(Some(upload_id))
            }
            None => {
                self.state = State::Local(self.store.put_multipart(&self.key).await?);
                Ok(None)
            }
        }
    }

    async fn send(&mut self, body: Bytes, total: Option<u64>) -> Result<(), StorageError> {
        let len = body.len() as u64;
        let index = self.next_index;
        let offset = self.offset;
        self.next_index += 1;
        self.offset += len;
        match &mut self.state {
            State::Idle => Err(StorageError::Config("the write was not started".into())),
            State::Local(upload) => upload.put_part(PutPayload::from(body)).await.map_err(StorageError::from),
            State::Multipart { upload_id, parts } => {
                let writer = self.parts.clone().ok_or_else(|| StorageError::Config("no multipart writer".into()))?;
                let (key, id) = (self.key.clone(), upload_id.clone());
                let sequential = writer.sequential();
                if sequential {
                    // One after the other: the previous part must have landed first.
                    while let Some((task, _)) = parts.pop_front() {
                        self.done_parts.push(joined(task).await?);
                    }
                }
                let task = tokio::spawn(async move { writer.put(&key, &id, index, offset, body, total).await });
                parts.push_back((task, len));
                while parts.len() > PARTS_IN_FLIGHT
                    || (parts.len() > 1 && parts.iter().map(|(_, n)| n).sum::<u64>() > BYTES_IN_FLIGHT)
                {
                    match parts.pop_front() {
                        Some((task, _)) => self.done_parts.push(joined(task).await?),
                        None => break,
                    }
                }
                Ok(())
            }
        }
    }

    /// Sends what is left and makes the object appear; returns its size.
    ///
    /// # Errors
    /// The bucket's errors; the object is then not there (abort the upload).
    pub async fn finish(mut self) -> Result<u64, StorageError> {
        let last = self.held.take().unwrap_or_default();
        let single_put = self.parts.as_ref().is_none_or(|p| !p.always());
        if matches!(self.state, State::Idle) && single_put {
            let size = last.len() as u64;
            self.store.put(&self.key, PutPayload::from(last)).await?;
            return Ok(size);
        }
        self.start_if_idle().await?;
        let total = self.offset + last.len() as u64;
        self.send(last, Some(total)).await?;
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Idle => {}
            State::Local(mut upload) => {
                upload.complete().await?;
            }
            State::Multipart { upload_id, mut parts } => {
                while let Some((task, _)) = parts.pop_front() {
                    self.done_parts.push(joined(task).await?);
                }
                let writer = self.parts.clone().ok_or_else(|| StorageError::Config("no multipart writer".into()))?;
                writer.complete(&self.key, &upload_id, std::mem::take(&mut self.done_parts)).await?;
            }
        }
        Ok(total)
    }

    /// Drops what was sent: the object never appears.
    ///
    /// # Errors
    /// The bucket's errors (the provider's lifecycle rule then removes the upload).
    pub async fn abort(mut self) -> Result<(), StorageError> {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Idle => Ok(()),
            State::Local(mut upload) => upload.abort().await.map_err(StorageError::from),
            State::Multipart { upload_id, parts } => {
                // Parts still in flight are stopped before the abort, so none lands after it.
                for (task, _) in parts {
                    task.abort();
                    let _ = task.await;
                }
                match &self.parts {
                    Some(writer) => writer.abort(&self.key, &upload_id).await,
                    None => Ok(()),
                }
            }
        }
    }
}

async fn joined(task: JoinHandle<Result<String, StorageError>>) -> Result<String, StorageError> {
    task.await.map_err(|e| StorageError::Backend(format!("a part upload stopped: {e}")))?
}

/// byob's own atomic writes and server-side copies, through a [`super::StorageClient`].
impl super::StorageClient {
    pub(crate) fn with_writer(mut self, writer: Arc<dyn PartWriter>) -> Self {
        self.writer = Some(writer);
        self
    }

    /// Starts an atomic streaming write of `key` (from [`Self::key`]): the object appears only when the writer
    /// finishes.
    #[must_use]
    pub fn object_writer(&self, key: Path) -> ObjectWriter {
        ObjectWriter::new(self.store.clone(), self.writer.clone(), key)
    }

    /// Writes a small object whole, atomically (through the same path as [`Self::object_writer`], which every
    /// provider and emulator takes).
    ///
    /// # Errors
    /// The bucket's errors.
    pub async fn put_atomic(&self, key: Path, body: bytes::Bytes) -> Result<(), StorageError> {
        let mut writer = self.object_writer(key);
        writer.write(body).await?;
        writer.finish().await?;
        Ok(())
    }

    /// Copies an object within the bucket, server-side (keys from [`Self::key`]).
    ///
    /// # Errors
    /// The bucket's errors ([`StorageError::NotFound`] when `from` is not there).
    pub async fn copy(&self, from: &Path, to: &Path) -> Result<(), StorageError> {
        if let Some(writer) = &self.writer
            && let Some(done) = writer.copy(from, to).await
        {
            return done;
        }
        Ok(object_store::ObjectStoreExt::copy(self.store.as_ref(), from, to).await?)
    }

    /// Aborts a multipart upload an [`ObjectWriter`] started (e.g. in a process that died since).
    ///
    /// # Errors
    /// The bucket's errors; an upload that no longer exists is not one.
    pub async fn abort_write(&self, key: &Path, upload_id: &str) -> Result<(), StorageError> {
        match &self.writer {
            Some(writer) => match writer.abort(key, upload_id).await {
                Ok(()) | Err(StorageError::NotFound(_)) => Ok(()),
                Err(e) => Err(e),
            },
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::multipart_etag;

    #[test]
    fn the_multipart_etag_is_the_md5_of_the_parts_md5s_and_their_count() {
        // Parts "hello" and "world", tagged as S3 tags them (quoted MD5s); the sum as S3 computes it.
        let parts =
            ["\"5d41402abc4b2a76b9719d911017c592\"".to_string(), "7d793037a0760186574b0282f2f435e7".to_string()];
        assert_eq!(multipart_etag(&parts).as_deref(), Some("065947336a2f2a95ba8899f3675c3be6-2"));
        assert_eq!(multipart_etag(&["AAAAAQ==".to_string()]), None, "an Azure block id is no MD5");
    }
}
