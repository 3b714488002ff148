//! A storage client confined to one prefix, with presigned access whose lifetime the operator bounds.

use std::{sync::Arc, time::Duration};

use byob_core::location::Prefix;
use chrono::{DateTime, Utc};
use object_store::{
    ObjectStore,
    multipart::{MultipartStore, PartId},
    path::Path,
    signer::{Method, SignedUrlOptions, Signer},
};
use url::Url;

use super::StorageError;

/// Lifetimes of presigned URLs: a default and an operator-set maximum.
#[derive(Debug, Clone, Copy)]
pub struct PresignPolicy {
    pub default_ttl: Duration,
    pub max_ttl: Duration,
}

impl Default for PresignPolicy {
    fn default() -> Self {
        Self { default_ttl: Duration::from_secs(15 * 60), max_ttl: Duration::from_secs(12 * 60 * 60) }
    }
}

/// A URL that grants one operation on one object until it expires.
#[derive(Debug, Clone)]
pub struct PresignedUrl {
    pub method: &'static str,
    pub url: Url,
    pub expires_at: DateTime<Utc>,
}

/// Data access and presigned access to one integration's prefix.
#[derive(Clone)]
pub struct StorageClient {
    store: Arc<dyn ObjectStore>,
    signer: Arc<dyn Signer>,
    multipart: Arc<dyn MultipartStore>,
    prefix: Prefix,
    policy: PresignPolicy,
}

impl std::fmt::Debug for StorageClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageClient")
            .field("prefix", &self.prefix)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl StorageClient {
    /// From a provider's store, which signs and does multipart itself.
    pub fn new<S>(store: Arc<S>, prefix: Prefix, policy: PresignPolicy) -> Self
    where
        S: ObjectStore + Signer + MultipartStore,
    {
        Self { store: store.clone(), signer: store.clone(), multipart: store, prefix, policy }
    }

    /// The underlying store, for streaming reads, writes and listings. Keys must come from [`Self::key`].
    #[must_use]
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    #[must_use]
    pub fn prefix(&self) -> &Prefix {
        &self.prefix
    }

    /// The full key of `relative` (e.g. `uploads/2026/11/22/upl_…/data.csv`) under the prefix. Every segment is
    /// checked (no `..`, no empty segments, safe characters), so a key can never leave the prefix.
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`] naming the rule broken.
    pub fn key(&self, relative: &str) -> Result<Path, StorageError> {
        let checked = Prefix::parse("key", relative)
            .map_err(|e| StorageError::InvalidKey { key: relative.chars().take(200).collect(), reason: e.message })?;
        if checked.is_root() {
            return Err(StorageError::InvalidKey { key: String::new(), reason: "empty".into() });
        }
        Ok(Path::from(self.prefix.join(checked.as_str())))
    }

    fn lifetime(&self, requested: Option<Duration>) -> Result<Duration, StorageError> {
        let ttl = requested.unwrap_or(self.policy.default_ttl);
        if ttl > self.policy.max_ttl || ttl.is_zero() {
            return Err(StorageError::LifetimeTooLong {
                requested_secs: ttl.as_secs(),
                max_secs: self.policy.max_ttl.as_secs(),
            });
        }
        Ok(ttl)
    }

    async fn presign(
        &self,
        method: Method,
        key: &Path,
        ttl: Option<Duration>,
        options: &SignedUrlOptions,
    ) -> Result<PresignedUrl, StorageError> {
        let ttl = self.lifetime(ttl)?;
        let url = self.signer.signed_url_opts(method.clone(), key, ttl, options).await?;
        let expires_at = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
        let method = if method == Method::PUT { "PUT" } else { "GET" };
        Ok(PresignedUrl { method, url, expires_at })
    }

    /// # Errors
    /// A lifetime over the maximum; the signer's errors.
    pub async fn presign_get(&self, key: &Path, ttl: Option<Duration>) -> Result<PresignedUrl, StorageError> {
        self.presign(Method::GET, key, ttl, &SignedUrlOptions::default()).await
    }

    /// # Errors
    /// A lifetime over the maximum; the signer's errors.
    pub async fn presign_put(&self, key: &Path, ttl: Option<Duration>) -> Result<PresignedUrl, StorageError> {
        self.presign(Method::PUT, key, ttl, &SignedUrlOptions::default()).await
    }

    /// Starts a multipart upload whose parts are sent to presigned URLs.
    ///
    /// # Errors
    /// The bucket's errors.
    pub async fn start_multipart(&self, key: &Path) -> Result<String, StorageError> {
        Ok(self.multipart.create_multipart(key).await?)
    }

    /// A URL for part `part_number` (1-based) of a multipart upload.
    ///
    /// # Errors
    /// A part number outside 1-10000; a lifetime over the maximum; the signer's errors.
    pub async fn presign_part(
        &self,
        key: &Path,
        upload_id: &str,
        part_number: u32,
        ttl: Option<Duration>,
    ) -> Result<PresignedUrl, StorageError> {
        if !(1..=10_000).contains(&part_number) {
            return Err(StorageError::Config(format!("part numbers run from 1 to 10000, not {part_number}")));
        }
        let options = SignedUrlOptions::default()
            .with_query([("partNumber", part_number.to_string()), ("uploadId", upload_id.to_string())]);
        self.presign(Method::PUT, key, ttl, &options).await
    }

    /// Completes a multipart upload from the parts' ETags, in part order.
    ///
    /// # Errors
    /// The bucket's errors (a missing or too small part, a wrong ETag).
    pub async fn complete_multipart(
        &self,
        key: &Path,
        upload_id: &str,
        etags: Vec<String>,
    ) -> Result<(), StorageError> {
        let parts = etags.into_iter().map(|content_id| PartId { content_id }).collect();
        self.multipart.complete_multipart(key, &upload_id.to_string(), parts).await?;
        Ok(())
    }

    /// # Errors
    /// The bucket's errors.
    pub async fn abort_multipart(&self, key: &Path, upload_id: &str) -> Result<(), StorageError> {
        Ok(self.multipart.abort_multipart(key, &upload_id.to_string()).await?)
    }
}
