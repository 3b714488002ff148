//! A storage client confined to one prefix, with presigned access whose lifetime the operator bounds.

use std::{sync::Arc, time::Duration};

use byob_core::location::Prefix;
use chrono::{DateTime, Utc};
use object_store::{
    ObjectStore,
    list::{PaginatedListOptions, PaginatedListStore},
    path::Path,
    signer::{Method, SignedUrlOptions, Signer},
};
use url::Url;

pub use super::parts::PartRules;
pub(crate) use super::parts::{NoParts, PartSigner, S3Parts};
pub(crate) use super::put::HeaderSigning;
use super::{
    StorageError,
    inspect::{BucketInspector, NoSettings},
    leftovers::{Leftovers, UnfinishedWrite},
    writer::PartWriter,
};
use super::{checksum::Checksums, put::PutConditions};

/// What the operator decides about every storage client: lifetimes of presigned URLs (a default and a maximum)
/// and how requests the store fails are retried.
#[derive(Debug, Clone, Copy)]
pub struct ClientPolicy {
    pub default_ttl: Duration,
    pub max_ttl: Duration,
    pub retry: RetryPolicy,
}

impl Default for ClientPolicy {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(15 * 60),
            max_ttl: Duration::from_secs(12 * 60 * 60),
            retry: RetryPolicy::default(),
        }
    }
}

/// Retries of a request the store failed (5xx, 429, a connection reset): object_store's exponential backoff with
/// jitter (from 100 ms, doubling up to 15 s), a `Retry-After` the store sends waited first, at most `retries` more
/// attempts and none started after `timeout` from the first. A request that may have taken effect is repeated
/// only where repeating it is safe (object_store marks each request idempotent or not; see `docs/reliability.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub retries: usize,
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { retries: 10, timeout: Duration::from_secs(180) }
    }
}

impl RetryPolicy {
    pub(crate) fn config(self) -> object_store::RetryConfig {
        object_store::RetryConfig {
            backoff: object_store::BackoffConfig::default(),
            max_retries: self.retries,
            retry_timeout: self.timeout,
        }
    }
}

/// A URL that grants one operation on one object until it expires.
#[derive(Debug, Clone)]
pub struct PresignedUrl {
    pub method: &'static str,
    pub url: Url,
    /// Headers the client must send with the request (e.g. Azure's `x-ms-blob-type`).
    pub headers: Vec<(String, String)>,
    pub expires_at: DateTime<Utc>,
}

/// Headers a presigned download makes the store answer with, signed into the URL so its holder cannot change
/// them (S3's and GCS's `response-content-*` parameters, an Azure SAS's `rscd`/`rsct`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseHeaders {
    pub content_disposition: Option<String>,
    pub content_type: Option<String>,
}

/// How a provider's presigned URLs name the response headers they override.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResponseParams {
    pub(crate) disposition: &'static str,
    pub(crate) content_type: &'static str,
}

impl ResponseParams {
    /// S3 and GCS (XML API).
    pub(crate) const QUERY: Self =
        Self { disposition: "response-content-disposition", content_type: "response-content-type" };
    /// An Azure SAS.
    pub(crate) const AZURE_SAS: Self = Self { disposition: "rscd", content_type: "rsct" };
}

/// A checked key as object_store's path, taken as it is: `Path::from` would percent-encode characters such as
/// `é`, `%`, `#` or `?` into the key itself, and the HTTP layer would then encode them a second time.
fn object_path(full: String) -> Result<Path, StorageError> {
    Path::parse(&full)
        .map_err(|e| StorageError::InvalidKey { key: full.chars().take(200).collect(), reason: e.to_string() })
}

/// An object of a listing, with its key relative to the client's prefix.
#[derive(Debug, Clone)]
pub struct ListedObject {
    pub key: String,
    pub meta: object_store::ObjectMeta,
}

/// One page of a folder's listing.
#[derive(Debug, Clone)]
pub struct ListPage {
    pub objects: Vec<ListedObject>,
    /// The token of the next page, when there is one.
    pub next: Option<String>,
    /// Whether this call was exactly one list request (false: the provider's listing paged on its own).
    pub requests_counted: bool,
}

/// What a storage client can do, declared once (as OpenDAL's `Capability`): callers and the storage behaviour
/// tests read this instead of discovering optional parts at each call site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    /// Presigned URLs (GET, PUT, multipart parts) can be handed out: browsers reach the bucket.
    pub presign: bool,
    /// What the sender of a presigned multipart upload's parts must respect.
    pub parts: PartRules,
    /// One list request per call, resuming after a key (S3, GCS); otherwise the provider's own paging.
    pub paged_listing: bool,
    /// The bucket's own settings (region, CORS, encryption, …) can be read.
    pub inspect: bool,
    /// byob's own multipart writes carry ids that survive the process (so a crash can be cleaned up).
    pub resumable_writes: bool,
    /// Unfinished writes can be found by listing them (S3, a local directory).
    pub list_unfinished: bool,
}

/// Data access and presigned access to one integration's prefix.
#[derive(Clone)]
pub struct StorageClient {
    pub(super) store: Arc<dyn ObjectStore>,
    signer: Option<Arc<dyn Signer>>,
    parts: Arc<dyn PartSigner>,
    /// Headers a presigned PUT requires.
    put_headers: Vec<(String, String)>,
    /// How presigned downloads name the response headers they set.
    response_params: ResponseParams,
    /// How presigned PUTs bind headers (content type, length, KMS key) into their signature.
    signing: HeaderSigning,
    /// The integration's KMS key: every object byob has written through a presigned PUT is encrypted with it.
    kms_key: Option<String>,
    /// Why this client cannot presign, if it cannot (its credentials cannot be narrowed to one object).
    no_presign: Option<&'static str>,
    prefix: Prefix,
    policy: ClientPolicy,
    /// Reads the bucket's own settings; [`NoSettings`] where the provider exposes none (`inspect` says which).
    inspector: Arc<dyn BucketInspector>,
    inspect: bool,
    /// byob's own multipart writes with ids that survive the process (none for a local directory).
    pub(super) writer: Option<Arc<dyn PartWriter>>,
    /// One list request per call, with start-after (S3, GCS); others list through object_store's own paging.
    pages: Option<Arc<dyn PaginatedListStore>>,
    /// Finds unfinished writes by listing (S3, a local directory); none where the provider cannot list them.
    leftovers: Option<Arc<dyn Leftovers>>,
    /// The store's own SHA-256 of whole objects (S3); none where it keeps none.
    pub(super) checksums: Option<Arc<dyn Checksums>>,
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
    /// From a provider's store and its way of running presigned multipart uploads.
    pub(crate) fn new<S>(
        store: Arc<S>,
        parts: Arc<dyn PartSigner>,
        put_headers: Vec<(String, String)>,
        prefix: Prefix,
        policy: ClientPolicy,
    ) -> Self
    where
        S: ObjectStore + Signer,
    {
        Self {
            store: store.clone(),
            signer: Some(store),
            parts,
            put_headers,
            response_params: ResponseParams::QUERY,
            signing: HeaderSigning::Unsigned,
            kms_key: None,
            no_presign: None,
            prefix,
            policy,
            inspector: Arc::new(NoSettings),
            inspect: false,
            writer: None,
            pages: None,
            leftovers: None,
            checksums: None,
        }
    }

    /// A client for a store that hands out no URLs (a local directory, an in-memory store): byob reads and writes
    /// it itself, and relays browsers' uploads. `reason` says why, in the error a presign request gets.
    #[must_use]
    pub fn without_urls(store: Arc<dyn ObjectStore>, prefix: Prefix, reason: &'static str) -> Self {
        Self {
            store,
            signer: None,
            parts: Arc::new(NoParts),
            put_headers: Vec::new(),
            response_params: ResponseParams::QUERY,
            signing: HeaderSigning::Unsigned,
            kms_key: None,
            no_presign: Some(reason),
            prefix,
            policy: ClientPolicy::default(),
            inspector: Arc::new(NoSettings),
            inspect: false,
            writer: None,
            pages: None,
            leftovers: None,
            checksums: None,
        }
    }

    /// The same store under a deeper prefix (e.g. one org's part of the default storage).
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`] when `child` is not a valid prefix.
    pub fn narrowed(&self, child: &str) -> Result<Self, StorageError> {
        let child = Prefix::parse("prefix", child)
            .map_err(|e| StorageError::InvalidKey { key: child.into(), reason: e.message })?;
        let prefix = Prefix::parse("prefix", &self.prefix.join(child.as_str()))
            .map_err(|e| StorageError::InvalidKey { key: child.to_string(), reason: e.message })?;
        Ok(Self { prefix, ..self.clone() })
    }

    /// Presigns with `signer` rather than with the store's own.
    pub(crate) fn with_signer(mut self, signer: Arc<dyn Signer>) -> Self {
        self.signer = Some(signer);
        self
    }

    pub(crate) fn with_header_signing(mut self, signing: HeaderSigning) -> Self {
        self.signing = signing;
        self
    }

    /// Presigned PUTs write with this KMS key (S3's SSE-KMS, a GCS Cloud KMS key).
    #[must_use]
    pub fn with_kms_key(mut self, kms_key: Option<String>) -> Self {
        self.kms_key = kms_key;
        self
    }

    pub(crate) fn with_response_params(mut self, params: ResponseParams) -> Self {
        self.response_params = params;
        self
    }

    pub(crate) fn with_inspector(mut self, inspector: Arc<dyn BucketInspector>) -> Self {
        self.inspector = inspector;
        self.inspect = true;
        self
    }

    pub(crate) fn with_pages(mut self, pages: Arc<dyn PaginatedListStore>) -> Self {
        self.pages = Some(pages);
        self
    }

    pub(crate) fn with_leftovers(mut self, leftovers: Arc<dyn Leftovers>) -> Self {
        self.leftovers = Some(leftovers);
        self
    }

    /// Aborts every unfinished write of `key` (from [`Self::key`]) the bucket still holds, whoever started it and
    /// whether or not its id was recorded; returns how many. Nothing to do where the provider cannot list them
    /// (Azure's uncommitted blocks and GCS's resumable sessions are never visible and expire on their own).
    ///
    /// # Errors
    /// The bucket's errors ([`StorageError::PermissionDenied`] when it refuses listing them).
    pub async fn clear_unfinished(&self, key: &Path) -> Result<usize, StorageError> {
        self.clear(key, false, None).await
    }

    /// Aborts the unfinished writes under `folder/` that started before `started_before` (writes in progress
    /// elsewhere are left alone); returns how many.
    ///
    /// # Errors
    /// The bucket's errors.
    pub async fn clear_unfinished_under(
        &self,
        folder: &Path,
        started_before: DateTime<Utc>,
    ) -> Result<usize, StorageError> {
        self.clear(folder, true, Some(started_before)).await
    }

    async fn clear(&self, key: &Path, folder: bool, before: Option<DateTime<Utc>>) -> Result<usize, StorageError> {
        let Some(leftovers) = &self.leftovers else { return Ok(0) };
        let found: Vec<UnfinishedWrite> = leftovers
            .list(key, folder)
            .await?
            .into_iter()
            .filter(|w| before.is_none_or(|b| w.started.is_some_and(|s| s < b)))
            .collect();
        for write in &found {
            leftovers.remove(write).await?;
        }
        Ok(found.len())
    }

    /// Objects directly in a folder whose relative key starts with `starts_with` (e.g. `in/data-`, or a folder
    /// with its `/`), in key order, strictly after `start_after` when given, a page at a time: one request per call where the provider
    /// allows it (`requests_counted`), else the whole folder in one call.
    ///
    /// # Errors
    /// The bucket's errors ([`StorageError::PermissionDenied`] when listing is not allowed).
    pub async fn list_page(
        &self,
        starts_with: &str,
        start_after: Option<&str>,
        page_token: Option<String>,
    ) -> Result<ListPage, StorageError> {
        let full = |relative: &str| self.prefix.join(relative);
        let root = if self.prefix.is_root() { String::new() } else { format!("{}/", self.prefix.as_str()) };
        let relative = |location: &Path| location.as_ref().strip_prefix(&root).unwrap_or(location.as_ref()).to_string();
        let folder = starts_with.rsplit_once('/').map_or("", |(f, _)| f);
        match &self.pages {
            Some(pages) => {
                let options = PaginatedListOptions {
                    offset: start_after.map(full),
                    delimiter: Some("/".into()),
                    max_keys: None,
                    page_token,
                    ..PaginatedListOptions::default()
                };
                let page = pages.list_paginated(Some(&full(starts_with)), options).await?;
                let objects = page
                    .result
                    .objects
                    .into_iter()
                    .map(|o| ListedObject { key: relative(&o.location), meta: o })
                    .filter(|o| o.key.rsplit_once('/').map_or("", |(f, _)| f) == folder)
                    // Where the server's offset is inclusive (GCS `startOffset`) or ignored (an emulator).
                    .filter(|o| start_after.is_none_or(|after| o.key.as_str() > after))
                    .collect();
                Ok(ListPage { objects, next: page.page_token, requests_counted: true })
            }
            None => {
                let listed = self.store.list_with_delimiter(Some(&object_path(full(folder))?)).await?;
                let mut objects: Vec<ListedObject> = listed
                    .objects
                    .into_iter()
                    .map(|o| ListedObject { key: relative(&o.location), meta: o })
                    .filter(|o| {
                        o.key.starts_with(starts_with) && start_after.is_none_or(|after| o.key.as_str() > after)
                    })
                    .collect();
                // In key order, as a paged listing is (a directory lists in its own order).
                objects.sort_by(|a, b| a.key.cmp(&b.key));
                Ok(ListPage { objects, next: None, requests_counted: false })
            }
        }
    }

    /// The reader of the bucket's own settings (region, CORS, encryption…); where the provider has none
    /// ([`Capability::inspect`] is false), every setting reads as unavailable.
    #[must_use]
    pub fn inspector(&self) -> &Arc<dyn BucketInspector> {
        &self.inspector
    }

    /// A client for byob's own use only.
    pub(crate) fn without_presign(mut self, reason: &'static str) -> Self {
        self.no_presign = Some(reason);
        self
    }

    /// The longest lifetime a presigned URL may have (operator setting).
    #[must_use]
    pub fn max_ttl(&self) -> Duration {
        self.policy.max_ttl
    }

    /// What the sender of a multipart upload's parts must respect.
    #[must_use]
    pub fn part_rules(&self) -> PartRules {
        self.parts.rules()
    }

    /// Whether presigned URLs can be handed out for this client.
    #[must_use]
    pub fn can_presign(&self) -> bool {
        self.no_presign.is_none()
    }

    /// Everything this client can do.
    #[must_use]
    pub fn capability(&self) -> Capability {
        Capability {
            presign: self.can_presign(),
            parts: self.part_rules(),
            paged_listing: self.pages.is_some(),
            inspect: self.inspect,
            resumable_writes: self.writer.is_some(),
            list_unfinished: self.leftovers.is_some(),
        }
    }

    fn check_presign(&self) -> Result<(), StorageError> {
        match self.no_presign {
            Some(reason) => Err(StorageError::Config(format!("this integration cannot presign URLs: {reason}"))),
            None => Ok(()),
        }
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
        object_path(self.prefix.join(checked.as_str()))
    }

    /// The full key of an object the customer named or byob listed (an import's file), which may hold characters
    /// byob never puts in keys it builds (`:` in timestamps), but never leaves the prefix
    /// ([`byob_core::location::check_existing_key`]).
    ///
    /// # Errors
    /// [`StorageError::InvalidKey`] naming the rule broken.
    pub fn existing_key(&self, relative: &str) -> Result<Path, StorageError> {
        byob_core::location::check_existing_key("key", relative)
            .map_err(|e| StorageError::InvalidKey { key: relative.chars().take(200).collect(), reason: e.message })?;
        object_path(self.prefix.join(relative))
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
        self.check_presign()?;
        let signer =
            self.signer.as_ref().ok_or_else(|| StorageError::Config("this storage cannot presign URLs".into()))?;
        let url = signer.signed_url_opts(method.clone(), key, ttl, options).await?;
        let (method, headers) =
            if method == Method::PUT { ("PUT", self.put_headers.clone()) } else { ("GET", Vec::new()) };
        Ok(PresignedUrl { method, url, headers, expires_at: expires_at(ttl) })
    }

    /// # Errors
    /// A lifetime over the maximum; the signer's errors.
    pub async fn presign_get(&self, key: &Path, ttl: Option<Duration>) -> Result<PresignedUrl, StorageError> {
        self.presign(Method::GET, key, ttl, &SignedUrlOptions::default()).await
    }

    /// A presigned GET whose answer carries `headers` (a download's `Content-Disposition` and checked type).
    ///
    /// # Errors
    /// A lifetime over the maximum; the signer's errors.
    pub async fn presign_download(
        &self,
        key: &Path,
        ttl: Option<Duration>,
        headers: &ResponseHeaders,
    ) -> Result<PresignedUrl, StorageError> {
        let params = self.response_params;
        let query = [
            (params.disposition, headers.content_disposition.as_ref()),
            (params.content_type, headers.content_type.as_ref()),
        ];
        let options = SignedUrlOptions::default()
            .with_query(query.into_iter().filter_map(|(name, value)| value.map(|v| (name, v.clone()))));
        self.presign(Method::GET, key, ttl, &options).await
    }

    /// # Errors
    /// A lifetime over the maximum; the signer's errors.
    pub async fn presign_put(&self, key: &Path, ttl: Option<Duration>) -> Result<PresignedUrl, StorageError> {
        self.presign_put_with(key, ttl, &PutConditions::default()).await
    }

    /// A presigned PUT bound, where the provider signs headers, to `conditions` and the integration's KMS key.
    ///
    /// # Errors
    /// A lifetime over the maximum; the signer's errors.
    pub async fn presign_put_with(
        &self,
        key: &Path,
        ttl: Option<Duration>,
        conditions: &PutConditions,
    ) -> Result<PresignedUrl, StorageError> {
        let (send, options) = self.signing.bind(conditions, self.kms_key.as_deref());
        let mut url = self.presign(Method::PUT, key, ttl, &options).await?;
        url.headers.extend(send);
        Ok(url)
    }

    /// Starts a multipart upload whose parts are sent to presigned URLs.
    ///
    /// # Errors
    /// The bucket's errors.
    pub async fn start_multipart(&self, key: &Path) -> Result<String, StorageError> {
        self.check_presign()?;
        self.parts.start(key).await
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
        self.check_presign()?;
        let ttl = self.lifetime(ttl)?;
        let (url, headers) = self.parts.part(key, upload_id, part_number, ttl).await?;
        Ok(PresignedUrl { method: "PUT", url, headers, expires_at: expires_at(ttl) })
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
        self.parts.complete(key, upload_id, etags).await
    }

    /// # Errors
    /// The bucket's errors.
    pub async fn abort_multipart(&self, key: &Path, upload_id: &str) -> Result<(), StorageError> {
        self.parts.abort(key, upload_id).await
    }
}

fn expires_at(ttl: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default()
}
