//! Presigned multipart uploads: the rules a sender of parts must respect, and how each provider starts, signs,
//! completes and aborts them (S3 here; Azure's blocks and GCS's resumable sessions in their own modules).

use std::{sync::Arc, time::Duration};

use object_store::{
    multipart::{MultipartStore, PartId},
    path::Path,
    signer::{Method, SignedUrlOptions, Signer},
};
use url::Url;

use super::StorageError;

/// What a client sending the parts of a multipart upload must respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartRules {
    /// Parts must be sent one after the other, in order (a GCS resumable session).
    pub sequential: bool,
    /// Each part carries `Content-Range: bytes FIRST-LAST/TOTAL`.
    pub content_range: bool,
    /// Every part but the last must be a multiple of this many bytes.
    pub align: u64,
}

impl Default for PartRules {
    fn default() -> Self {
        Self { sequential: false, content_range: false, align: 1 }
    }
}

/// How a provider runs a multipart upload whose parts go to presigned URLs.
#[async_trait::async_trait]
pub(crate) trait PartSigner: Send + Sync {
    fn rules(&self) -> PartRules {
        PartRules::default()
    }
    /// Starts the upload; returns its id.
    async fn start(&self, key: &Path) -> Result<String, StorageError>;
    /// The URL (and headers) for part `part_number` (1-based).
    async fn part(
        &self,
        key: &Path,
        upload_id: &str,
        part_number: u32,
        ttl: Duration,
    ) -> Result<(Url, Vec<(String, String)>), StorageError>;
    /// Completes from the parts' ETags in order (a provider that tracks parts itself may ignore them).
    async fn complete(&self, key: &Path, upload_id: &str, etags: Vec<String>) -> Result<(), StorageError>;
    async fn abort(&self, key: &Path, upload_id: &str) -> Result<(), StorageError>;
}

/// For stores that cannot hand out URLs at all (a local directory).
pub(crate) struct NoParts;

#[async_trait::async_trait]
impl PartSigner for NoParts {
    async fn start(&self, _key: &Path) -> Result<String, StorageError> {
        Err(StorageError::Config("this storage cannot take presigned uploads".into()))
    }
    async fn part(
        &self,
        _key: &Path,
        _upload_id: &str,
        _part_number: u32,
        _ttl: Duration,
    ) -> Result<(Url, Vec<(String, String)>), StorageError> {
        Err(StorageError::Config("this storage cannot take presigned uploads".into()))
    }
    async fn complete(&self, _key: &Path, _upload_id: &str, _etags: Vec<String>) -> Result<(), StorageError> {
        Err(StorageError::Config("this storage cannot take presigned uploads".into()))
    }
    async fn abort(&self, _key: &Path, _upload_id: &str) -> Result<(), StorageError> {
        Ok(())
    }
}

/// S3: `CreateMultipartUpload`, then `UploadPart` URLs with `partNumber` and `uploadId` signed in.
pub(crate) struct S3Parts<S> {
    pub(crate) store: Arc<S>,
}

#[async_trait::async_trait]
impl<S: Signer + MultipartStore> PartSigner for S3Parts<S> {
    async fn start(&self, key: &Path) -> Result<String, StorageError> {
        Ok(self.store.create_multipart(key).await?)
    }

    async fn part(
        &self,
        key: &Path,
        upload_id: &str,
        part_number: u32,
        ttl: Duration,
    ) -> Result<(Url, Vec<(String, String)>), StorageError> {
        let options = SignedUrlOptions::default()
            .with_query([("partNumber", part_number.to_string()), ("uploadId", upload_id.to_string())]);
        Ok((self.store.signed_url_opts(Method::PUT, key, ttl, &options).await?, Vec::new()))
    }

    async fn complete(&self, key: &Path, upload_id: &str, etags: Vec<String>) -> Result<(), StorageError> {
        let parts = etags.into_iter().map(|content_id| PartId { content_id }).collect();
        self.store.complete_multipart(key, &upload_id.to_string(), parts).await?;
        Ok(())
    }

    async fn abort(&self, key: &Path, upload_id: &str) -> Result<(), StorageError> {
        Ok(self.store.abort_multipart(key, &upload_id.to_string()).await?)
    }
}
