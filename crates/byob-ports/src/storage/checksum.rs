//! A SHA-256 of the whole object kept by the store itself (S3's `x-amz-checksum-sha256`): byob asks for it when
//! it places content, and reads it back to check content without downloading it. object_store sends neither
//! header, so these are presigned requests (the signature binds the headers), sent through byob's guarded client.
//! S3-compatible stores that reject checksum headers keep working: a refused copy falls back to a plain copy,
//! and a store that keeps no checksum answers none.

use std::{sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use object_store::{
    aws::AmazonS3,
    path::Path,
    signer::{Method, SignedUrlOptions, Signer},
};
use reqwest::header::{HeaderName, HeaderValue};

use super::StorageError;

/// How long the presigned requests live: they are sent at once.
const TTL: Duration = Duration::from_secs(300);

#[async_trait::async_trait]
pub(crate) trait Checksums: Send + Sync {
    /// Copies `from` to `to` within the bucket, the store computing and keeping the copy's SHA-256; `false` when
    /// the store refused the checksum (nothing was copied).
    async fn copy_with_sha256(&self, from: &Path, to: &Path) -> Result<bool, StorageError>;
    /// The whole object's SHA-256 (lowercase hex) the store keeps, if it keeps one.
    async fn sha256(&self, key: &Path) -> Result<Option<String>, StorageError>;
}

/// S3's checksums, for one bucket.
pub(crate) struct S3Checksums {
    pub(crate) store: Arc<AmazonS3>,
    pub(crate) http: reqwest::Client,
    pub(crate) bucket: String,
    /// Headers each write carries (SSE-KMS), signed with it.
    pub(crate) encryption: Vec<(&'static str, String)>,
}

/// A key as one part of `x-amz-copy-source`: each segment percent-encoded, the `/` between them kept.
fn copy_source(bucket: &str, key: &Path) -> String {
    let mut out = format!("/{bucket}/");
    for b in key.as_ref().bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn signed(headers: &[(&'static str, String)]) -> SignedUrlOptions {
    headers.iter().fold(SignedUrlOptions::default(), |options, (name, value)| match HeaderValue::from_str(value) {
        Ok(value) => options.with_signed_header(HeaderName::from_static(name), value),
        Err(_) => options,
    })
}

/// A full-object SHA-256 from S3's answer: base64 of 32 bytes, not a checksum of part checksums (`…-N`).
pub(crate) fn full_object_sha256(value: &str, kind: Option<&str>) -> Option<String> {
    if kind.is_some_and(|k| !k.eq_ignore_ascii_case("FULL_OBJECT")) || value.contains('-') {
        return None;
    }
    let raw = STANDARD.decode(value).ok()?;
    (raw.len() == 32).then(|| hex::encode(raw))
}

#[async_trait::async_trait]
impl Checksums for S3Checksums {
    async fn copy_with_sha256(&self, from: &Path, to: &Path) -> Result<bool, StorageError> {
        let mut headers = vec![
            ("x-amz-copy-source", copy_source(&self.bucket, from)),
            ("x-amz-checksum-algorithm", "SHA256".to_string()),
        ];
        headers.extend(self.encryption.iter().cloned());
        let url = self.store.signed_url_opts(Method::PUT, to, TTL, &signed(&headers)).await?;
        let mut request = self.http.put(url).header("content-length", "0");
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.map_err(StorageError::request)?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status.is_success() && !body.contains("<Error>") {
            return Ok(true);
        }
        match status.as_u16() {
            403 => Err(StorageError::PermissionDenied(format!("copying {from} to {to}: {status}"))),
            404 => Err(StorageError::NotFound(from.to_string())),
            // A store that does not take checksum headers (400, 501), or an error in a 200 answer.
            _ => Ok(false),
        }
    }

    async fn sha256(&self, key: &Path) -> Result<Option<String>, StorageError> {
        let headers = [("x-amz-checksum-mode", "ENABLED".to_string())];
        let url = self.store.signed_url_opts(Method::HEAD, key, TTL, &signed(&headers)).await?;
        let response =
            self.http.head(url).header("x-amz-checksum-mode", "ENABLED").send().await.map_err(StorageError::request)?;
        if !response.status().is_success() {
            return Ok(None);
        }
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(header("x-amz-checksum-sha256")
            .and_then(|value| full_object_sha256(&value, header("x-amz-checksum-type").as_deref())))
    }
}

/// The store's own SHA-256 of whole objects, through a [`super::StorageClient`].
impl super::StorageClient {
    pub(crate) fn with_checksums(mut self, checksums: Arc<dyn Checksums>) -> Self {
        self.checksums = Some(checksums);
        self
    }

    /// Copies an object within the bucket, asking the store to keep the copy's SHA-256 where it can (S3); a
    /// plain copy elsewhere, or where the store refuses checksum headers.
    ///
    /// # Errors
    /// The bucket's errors.
    pub async fn copy_keeping_sha256(&self, from: &Path, to: &Path) -> Result<(), StorageError> {
        if let Some(checksums) = &self.checksums
            && checksums.copy_with_sha256(from, to).await?
        {
            return Ok(());
        }
        self.copy(from, to).await
    }

    /// The SHA-256 (lowercase hex) the store keeps of the whole object, where it keeps one.
    ///
    /// # Errors
    /// The bucket's errors.
    pub async fn stored_sha256(&self, key: &Path) -> Result<Option<String>, StorageError> {
        match &self.checksums {
            Some(checksums) => checksums.sha256(key).await,
            None => Ok(None),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_a_whole_object_checksum_counts() {
        let sha = STANDARD.encode([7u8; 32]);
        assert_eq!(full_object_sha256(&sha, None), Some(hex::encode([7u8; 32])));
        assert_eq!(full_object_sha256(&sha, Some("FULL_OBJECT")), Some(hex::encode([7u8; 32])));
        assert_eq!(full_object_sha256(&sha, Some("COMPOSITE")), None);
        assert_eq!(full_object_sha256(&format!("{sha}-3"), None), None);
        assert_eq!(full_object_sha256("short", None), None);
    }

    #[test]
    fn copy_sources_keep_slashes_and_encode_the_rest() {
        let key = Path::parse("p/assets/objects/sha256/ab/c d").unwrap();
        assert_eq!(copy_source("b", &key), "/b/p/assets/objects/sha256/ab/c%20d");
    }
}
