//! Google Cloud Storage with a service-account key: V4 signed URLs for GET and PUT, and resumable upload
//! sessions for large uploads (the JSON API's way: the session URI is itself the capability, valid for a week,
//! and bound to the object byob named).

use std::{sync::Arc, time::Duration};

use byob_core::{Sensitive, location::Prefix};
use object_store::{
    CredentialProvider, ObjectStoreExt, StaticCredentialProvider,
    gcp::{GcpCredential, GcpSigningCredential, GoogleCloudStorage, GoogleCloudStorageBuilder, ServiceAccountKey},
    path::Path,
    signer::{Method, SignedUrlOptions, Signer},
};
use url::Url;

use crate::net::{GuardedConnector, NetworkPolicy, guarded_http_client};

use super::{ClientPolicy, StorageClient, StorageError, client::PartSigner, inspect::GcsInspector, writer::PartWriter};

const DEFAULT_BASE_URL: &str = "https://storage.googleapis.com";

/// object_store's V4 signer writes the key into the URL text as it is, and the URL parser then reads a `%` as the
/// start of an escape, a `#` as a fragment and a `?` as the query: a key holding one got a URL for another
/// object. Escaping those three first gives the URL (and the path it signs) the key's exact encoding; the URL
/// parser encodes everything else (spaces, non-ASCII) itself.
#[derive(Debug)]
struct EscapedKeys(Arc<GoogleCloudStorage>);

fn escaped(path: &Path) -> Path {
    let raw = path.as_ref();
    if !raw.contains(['%', '#', '?']) {
        return path.clone();
    }
    let text = raw.replace('%', "%25").replace('#', "%23").replace('?', "%3F");
    Path::parse(&text).unwrap_or_else(|_| path.clone())
}

#[async_trait::async_trait]
impl Signer for EscapedKeys {
    async fn signed_url(&self, method: Method, path: &Path, expires_in: Duration) -> object_store::Result<Url> {
        self.0.signed_url(method, &escaped(path), expires_in).await
    }

    async fn signed_url_opts(
        &self,
        method: Method,
        path: &Path,
        expires_in: Duration,
        options: &SignedUrlOptions,
    ) -> object_store::Result<Url> {
        self.0.signed_url_opts(method, &escaped(path), expires_in, options).await
    }
}

#[derive(Debug, Clone)]
pub struct GcsSettings {
    pub bucket: String,
    pub prefix: Prefix,
    /// A custom endpoint (Private Service Connect, an emulator); Google's when absent.
    pub endpoint: Option<String>,
    /// The key file's JSON.
    pub service_account_key: Sensitive<String>,
}

/// Large uploads go through one resumable session: `start` opens it, every part is sent to the session URI in
/// order with `Content-Range: bytes FIRST-LAST/TOTAL` (`*` for TOTAL until the last part; every part but the last
/// a multiple of 256 KiB), and the object appears only when the last part arrives.
struct GcsResumable {
    store: Arc<GoogleCloudStorage>,
    http: reqwest::Client,
    base_url: String,
    bucket: String,
    network: NetworkPolicy,
}

impl GcsResumable {
    /// A session URI is the store's answer, so it is checked as a tenant-named destination: an address literal
    /// the network policy refuses is refused here (names are checked when byob connects), and an https store
    /// cannot move the object's bytes to plain http.
    fn check_session(&self, session: &str) -> Result<Url, StorageError> {
        let url = Url::parse(session)
            .map_err(|_| StorageError::Backend("the store answered with an unusable upload session".into()))?;
        if self.base_url.starts_with("https://") && url.scheme() != "https" {
            return Err(StorageError::Backend("the store answered with an upload session over plain http".into()));
        }
        self.network.check_literal(&url)?;
        Ok(url)
    }
}

#[async_trait::async_trait]
impl PartSigner for GcsResumable {
    fn rules(&self) -> super::PartRules {
        super::PartRules { sequential: true, content_range: true, align: 256 * 1024 }
    }

    async fn start(&self, key: &Path) -> Result<String, StorageError> {
        let token = self.store.credentials().get_credential().await?;
        let url = format!("{}/upload/storage/v1/b/{}/o", self.base_url, self.bucket);
        let mut request = self
            .http
            .post(url)
            .query(&[("uploadType", "resumable"), ("name", key.as_ref())])
            .header("content-length", "0");
        if !token.bearer.is_empty() {
            request = request.bearer_auth(&token.bearer);
        }
        let response = request.send().await.map_err(StorageError::request)?;
        let status = response.status();
        if status == reqwest::StatusCode::FORBIDDEN || status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(StorageError::PermissionDenied(format!("starting a resumable upload of {key}: {status}")));
        }
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        match location {
            Some(session) if status.is_success() => {
                self.check_session(&session)?;
                Ok(session)
            }
            _ => Err(StorageError::Backend(format!("starting a resumable upload of {key}: {status}"))),
        }
    }

    async fn part(
        &self,
        _key: &Path,
        upload_id: &str,
        _part_number: u32,
        _ttl: Duration,
    ) -> Result<(Url, Vec<(String, String)>), StorageError> {
        Ok((self.check_session(upload_id)?, Vec::new()))
    }

    async fn complete(&self, key: &Path, _upload_id: &str, _etags: Vec<String>) -> Result<(), StorageError> {
        // The object exists once its last part arrived; anything else is an incomplete upload.
        match self.store.head(key).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => {
                Err(StorageError::Config(format!("the upload of {key} is incomplete: send the remaining parts first")))
            }
            Err(other) => Err(other.into()),
        }
    }

    async fn abort(&self, _key: &Path, upload_id: &str) -> Result<(), StorageError> {
        let session = self.check_session(upload_id)?;
        let response = self.http.delete(session).send().await.map_err(StorageError::request)?;
        // 499 is GCS's answer to a cancelled session.
        if response.status().is_success()
            || response.status().as_u16() == 499
            || response.status() == reqwest::StatusCode::NOT_FOUND
        {
            Ok(())
        } else {
            Err(StorageError::Backend(format!("cancelling the upload: {}", response.status())))
        }
    }
}

/// byob's own writes go through a resumable session too: chunks in order, each `Content-Range`d, the total
/// named with the last one, when the object appears.
#[async_trait::async_trait]
impl PartWriter for GcsResumable {
    fn sequential(&self) -> bool {
        true
    }

    /// The JSON API's session serves small objects as well, where object_store's single PUT uses the XML API.
    fn always(&self) -> bool {
        true
    }

    async fn begin(&self, key: &Path) -> Result<String, StorageError> {
        PartSigner::start(self, key).await
    }

    async fn put(
        &self,
        key: &Path,
        upload_id: &str,
        index: usize,
        offset: u64,
        body: bytes::Bytes,
        total: Option<u64>,
    ) -> Result<String, StorageError> {
        let len = body.len() as u64;
        let range = match (len, total) {
            (0, Some(total)) => format!("bytes */{total}"),
            (_, Some(total)) => format!("bytes {offset}-{}/{total}", offset + len - 1),
            (_, None) => format!("bytes {offset}-{}/*", offset + len - 1),
        };
        let session = self.check_session(upload_id)?;
        let response = self
            .http
            .put(session)
            .header("content-range", range)
            .body(body)
            .send()
            .await
            .map_err(StorageError::request)?;
        let status = response.status();
        // 308: chunk kept, more expected; 200/201: the object is complete.
        if status.as_u16() == 308 || status.is_success() {
            Ok(index.to_string())
        } else if status == reqwest::StatusCode::FORBIDDEN || status == reqwest::StatusCode::UNAUTHORIZED {
            Err(StorageError::PermissionDenied(format!("writing {key}: {status}")))
        } else {
            Err(StorageError::Backend(format!("writing part {} of {key}: {status}", index + 1)))
        }
    }

    async fn complete(&self, key: &Path, upload_id: &str, parts: Vec<String>) -> Result<(), StorageError> {
        PartSigner::complete(self, key, upload_id, parts).await
    }

    async fn abort(&self, key: &Path, upload_id: &str) -> Result<(), StorageError> {
        PartSigner::abort(self, key, upload_id).await
    }

    /// The JSON API's `rewriteTo` (object_store's copy uses the XML API's `x-goog-copy-source`), called again
    /// with its token until the store says it is done, as large objects take several calls.
    async fn copy(&self, from: &Path, to: &Path) -> Option<Result<(), StorageError>> {
        Some(self.rewrite(from, to).await)
    }
}

impl GcsResumable {
    async fn rewrite(&self, from: &Path, to: &Path) -> Result<(), StorageError> {
        // An object name is one path segment of the JSON API: everything but unreserved characters escaped.
        let encode = |p: &Path| {
            p.as_ref().bytes().fold(String::new(), |mut out, b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                    out.push(char::from(b));
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
                out
            })
        };
        let url = format!(
            "{}/storage/v1/b/{bucket}/o/{}/rewriteTo/b/{bucket}/o/{}",
            self.base_url,
            encode(from),
            encode(to),
            bucket = self.bucket
        );
        let mut token: Option<String> = None;
        for _ in 0..1000 {
            let credential = self.store.credentials().get_credential().await?;
            let mut request = self.http.post(&url).header("content-length", "0");
            if let Some(token) = &token {
                request = request.query(&[("rewriteToken", token)]);
            }
            if !credential.bearer.is_empty() {
                request = request.bearer_auth(&credential.bearer);
            }
            let response = request.send().await.map_err(StorageError::request)?;
            let status = response.status();
            if status == reqwest::StatusCode::NOT_FOUND {
                return Err(StorageError::NotFound(from.to_string()));
            }
            if status == reqwest::StatusCode::FORBIDDEN || status == reqwest::StatusCode::UNAUTHORIZED {
                return Err(StorageError::PermissionDenied(format!("copying {from} to {to}: {status}")));
            }
            if !status.is_success() {
                return Err(StorageError::Backend(format!("copying {from} to {to}: {status}")));
            }
            let answer: serde_json::Value = response.json().await.map_err(StorageError::request)?;
            if answer.get("done").and_then(serde_json::Value::as_bool).unwrap_or(true) {
                return Ok(());
            }
            token = answer.get("rewriteToken").and_then(serde_json::Value::as_str).map(str::to_string);
            if token.is_none() {
                return Err(StorageError::Backend(format!("copying {from} to {to}: no rewrite token to go on")));
            }
        }
        Err(StorageError::Backend(format!("copying {from} to {to}: the store never finished")))
    }
}

/// Signs URLs locally with the key file's own private key: no call to IAM `signBlob`, which the customer's
/// service account would need permission for on itself.
fn signing_credential(key_json: &str) -> Result<GcpSigningCredential, StorageError> {
    let bad = || StorageError::Config("the service-account key has no usable `private_key` and `client_email`".into());
    let value: serde_json::Value = serde_json::from_str(key_json).map_err(|_| bad())?;
    let email = value["client_email"].as_str().ok_or_else(bad)?.to_string();
    let pem = value["private_key"].as_str().ok_or_else(bad)?;
    let private_key = ServiceAccountKey::from_pem(pem.as_bytes()).map_err(|_| bad())?;
    Ok(GcpSigningCredential { email, private_key: Some(private_key) })
}

/// # Errors
/// [`StorageError::Config`] when the key or endpoint is unusable.
pub fn connect(
    settings: GcsSettings,
    policy: ClientPolicy,
    network: &NetworkPolicy,
) -> Result<StorageClient, StorageError> {
    let signing = signing_credential(settings.service_account_key.expose())?;
    let builder = GoogleCloudStorageBuilder::new().with_service_account_key(settings.service_account_key.expose());
    build(builder, signing, settings.endpoint, settings.bucket, settings.prefix, policy, network)
}

/// The part every GCS client shares: endpoint, signing, resumable uploads.
fn build(
    builder: GoogleCloudStorageBuilder,
    signing: GcpSigningCredential,
    endpoint: Option<String>,
    bucket: String,
    prefix: Prefix,
    policy: ClientPolicy,
    network: &NetworkPolicy,
) -> Result<StorageClient, StorageError> {
    super::check_endpoint(endpoint.as_deref(), network)?;
    let base_url = endpoint.unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
    let options = super::client_options().with_allow_http(base_url.starts_with("http://"));
    let store = builder
        .with_http_connector(GuardedConnector::new(network))
        .with_bucket_name(&bucket)
        .with_signing_credentials(Arc::new(StaticCredentialProvider::new(signing)))
        .with_base_url(&base_url)
        .with_client_options(options)
        .with_retry(policy.retry.config())
        .build()
        .map_err(|e| StorageError::Config(e.to_string()))?;
    let store = Arc::new(store);
    let inspector = GcsInspector::new(&base_url, &bucket, store.credentials().clone(), network);
    let http = guarded_http_client(network).build().map_err(|e| StorageError::Config(e.to_string()))?;
    let parts = Arc::new(GcsResumable { store: store.clone(), http, base_url, bucket, network: network.clone() });
    let pages = store.clone();
    Ok(StorageClient::new(store.clone(), parts.clone(), Vec::new(), prefix, policy)
        .with_header_signing(super::client::HeaderSigning::Gcs)
        .with_signer(Arc::new(EscapedKeys(store)))
        .with_inspector(Arc::new(inspector))
        .with_writer(parts)
        .with_pages(pages))
}

/// byob's own identity impersonating the customer's service account (IAM Credentials `generateAccessToken`).
#[derive(Debug, Clone)]
pub struct GcsImpersonation {
    pub bucket: String,
    pub prefix: Prefix,
    pub endpoint: Option<String>,
    /// The customer's service account, e.g. `byob-access@acme.iam.gserviceaccount.com`.
    pub service_account: String,
    /// byob's own service-account key (operator configuration).
    pub byob_key: Sensitive<String>,
    /// The IAM Credentials API, when not `https://iamcredentials.googleapis.com` (a private endpoint).
    pub iam_credentials_endpoint: Option<String>,
    /// The org's own byob-side service account, through which the token is minted (byob's key may impersonate
    /// it; the customer's account trusts only it). `None` mints directly as byob's own identity.
    pub delegate: Option<String>,
}

const IAM_CREDENTIALS: &str = "https://iamcredentials.googleapis.com";
const STORAGE_SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_write";

/// Short-lived tokens of the customer's service account, minted with byob's own identity and refreshed five
/// minutes before they expire.
#[derive(Debug)]
struct ImpersonatedTokens {
    /// byob's own identity: object_store turns its key into a self-signed JWT bearer.
    byob: Arc<dyn CredentialProvider<Credential = GcpCredential>>,
    http: reqwest::Client,
    url: String,
    /// The delegation chain (`projects/-/serviceAccounts/…`), empty to mint as byob's identity itself.
    delegates: Vec<String>,
    cached: tokio::sync::Mutex<Option<(Arc<GcpCredential>, chrono::DateTime<chrono::Utc>)>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeneratedToken {
    access_token: String,
    expire_time: chrono::DateTime<chrono::Utc>,
}

impl ImpersonatedTokens {
    async fn generate(&self) -> Result<(Arc<GcpCredential>, chrono::DateTime<chrono::Utc>), StorageError> {
        let byob = self.byob.get_credential().await?;
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(&byob.bearer)
            .json(&serde_json::json!({ "scope": [STORAGE_SCOPE], "lifetime": "3600s", "delegates": self.delegates }))
            .send()
            .await
            .map_err(StorageError::request)?;
        let status = response.status();
        if status == reqwest::StatusCode::FORBIDDEN || status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(StorageError::ImpersonationRefused(format!(
                "impersonation was refused ({status}): grant the org's byob service account (named in the setup) roles/iam.serviceAccountTokenCreator on the customer's"
            )));
        }
        if !status.is_success() {
            return Err(StorageError::Backend(format!("generateAccessToken: {status}")));
        }
        let token: GeneratedToken = response.json().await.map_err(|e| StorageError::Backend(e.to_string()))?;
        Ok((Arc::new(GcpCredential { bearer: token.access_token }), token.expire_time))
    }
}

#[async_trait::async_trait]
impl CredentialProvider for ImpersonatedTokens {
    type Credential = GcpCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<GcpCredential>> {
        let mut cached = self.cached.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && *expires - chrono::Duration::minutes(5) > chrono::Utc::now()
        {
            return Ok(token.clone());
        }
        match self.generate().await {
            Ok((token, expires)) => {
                *cached = Some((token.clone(), expires));
                Ok(token)
            }
            Err(refused @ StorageError::ImpersonationRefused(_)) => {
                Err(object_store::Error::PermissionDenied { path: self.url.clone(), source: Box::new(refused) })
            }
            Err(other) => Err(object_store::Error::Generic { store: "GCS", source: other.to_string().into() }),
        }
    }
}

/// The token source for the customer's account, minted through `delegate` when given.
fn impersonated_tokens(
    settings: &GcsImpersonation,
    delegate: Option<&str>,
) -> Result<ImpersonatedTokens, StorageError> {
    let iam = settings.iam_credentials_endpoint.clone().unwrap_or_else(|| IAM_CREDENTIALS.to_string());
    // Only byob's key's credentials are used from this store; it never makes a request of its own.
    let byob_identity = GoogleCloudStorageBuilder::new()
        .with_bucket_name("byob-identity")
        .with_service_account_key(settings.byob_key.expose())
        .build()
        .map_err(|e| StorageError::Config(format!("byob's Google service-account key is unusable: {e}")))?;
    Ok(ImpersonatedTokens {
        byob: byob_identity.credentials().clone(),
        // The operator's endpoint (Google's, or a private one it named): not a tenant's, so not policed.
        http: reqwest::Client::new(),
        url: format!(
            "{}/v1/projects/-/serviceAccounts/{}:generateAccessToken",
            iam.trim_end_matches('/'),
            settings.service_account
        ),
        delegates: delegate.map(|d| format!("projects/-/serviceAccounts/{d}")).into_iter().collect(),
        cached: tokio::sync::Mutex::new(None),
    })
}

/// Whether byob's own identity may mint the customer's tokens directly, without the org's identity: it must not
/// (any org could then name that account), so `Ok(true)` is a setup to fix.
///
/// # Errors
/// When IAM cannot be asked (not a refusal).
pub async fn root_may_impersonate(settings: &GcsImpersonation) -> Result<bool, StorageError> {
    match impersonated_tokens(settings, None)?.generate().await {
        Ok(_) => Ok(true),
        Err(StorageError::ImpersonationRefused(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// Builds a client acting as the customer's service account. Presigned URLs are signed by that account through
/// IAM `signBlob`.
///
/// # Errors
/// [`StorageError::Config`] when byob's key or the endpoint is unusable.
pub fn connect_impersonated(
    settings: GcsImpersonation,
    policy: ClientPolicy,
    network: &NetworkPolicy,
) -> Result<StorageClient, StorageError> {
    let tokens = Arc::new(impersonated_tokens(&settings, settings.delegate.as_deref())?);
    let signing = GcpSigningCredential { email: settings.service_account.clone(), private_key: None };
    let builder = GoogleCloudStorageBuilder::new().with_credentials(tokens);
    build(builder, signing, settings.endpoint, settings.bucket, settings.prefix, policy, network)
}
