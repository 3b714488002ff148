//! Azure deletes, one blob per request (Delete Blob). object_store deletes through a blob batch, which Azure
//! accepts under an account SAS only — not under the container SAS a customer may give byob — and which Azurite
//! refuses under any SAS; a single Delete Blob works with every credential. Everything else goes to
//! object_store's client unchanged.

use std::{fmt, sync::Arc, time::Duration};

use async_trait::async_trait;
use futures::{StreamExt, stream::BoxStream};
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions,
    PutOptions, PutPayload, PutResult, RenameOptions, Result,
    azure::{AzureCredential, AzureCredentialProvider, MicrosoftAzure},
    path::Path,
    signer::{Method, SignedUrlOptions, Signer},
};
use url::Url;

/// How a single delete is authorized.
#[derive(Clone)]
pub(crate) enum DeleteAuth {
    /// The customer's SAS, appended to the blob's URL.
    Sas(Vec<(String, String)>),
    /// A URL byob signs for the one delete (the shared key's service SAS).
    Signed(Arc<dyn Signer>),
    /// An Entra ID token (a service principal).
    Token(AzureCredentialProvider),
}

/// object_store's Azure client, with deletes of its own.
#[derive(Clone)]
pub(crate) struct SingleDeletes {
    pub(crate) inner: Arc<MicrosoftAzure>,
    pub(crate) http: reqwest::Client,
    /// The blob endpoint without a trailing slash.
    pub(crate) endpoint: String,
    pub(crate) container: String,
    pub(crate) auth: DeleteAuth,
}

/// API version of the delete request when it carries a token (a SAS carries its own).
const VERSION: &str = "2023-11-03";
/// A signed delete URL lives this long.
const SIGNED_FOR: Duration = Duration::from_secs(300);

impl fmt::Debug for SingleDeletes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SingleDeletes").field("container", &self.container).finish_non_exhaustive()
    }
}

impl fmt::Display for SingleDeletes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MicrosoftAzure({})", self.container)
    }
}

fn generic(source: String) -> object_store::Error {
    object_store::Error::Generic { store: "MicrosoftAzure", source: source.into() }
}

impl SingleDeletes {
    /// The blob's URL, each segment of its name percent-encoded once.
    fn blob_url(&self, path: &Path) -> Result<Url> {
        let mut url = Url::parse(&format!("{}/", self.endpoint)).map_err(|e| generic(e.to_string()))?;
        url.path_segments_mut()
            .map_err(|()| generic("the endpoint cannot hold a path".into()))?
            .pop_if_empty()
            .push(&self.container)
            .extend(path.as_ref().split('/'));
        Ok(url)
    }

    async fn delete_one(&self, path: Path) -> Result<Path> {
        let plain = self.blob_url(&path)?;
        let mut request = match &self.auth {
            DeleteAuth::Sas(pairs) => {
                let mut url = plain.clone();
                url.query_pairs_mut().extend_pairs(pairs);
                self.http.delete(url)
            }
            DeleteAuth::Signed(signer) => self.http.delete(signer.signed_url(Method::DELETE, &path, SIGNED_FOR).await?),
            DeleteAuth::Token(tokens) => {
                let credential = tokens.get_credential().await?;
                let AzureCredential::BearerToken(token) = credential.as_ref() else {
                    return Err(generic("a service principal deletes with an Entra ID token".into()));
                };
                self.http.delete(plain.clone()).header("authorization", format!("Bearer {token}"))
            }
        };
        request = request.header("x-ms-version", VERSION);
        let response = request.send().await.map_err(|e| generic(format!("Error performing DELETE {plain}: {e}")))?;
        let status = response.status();
        if status.is_success() {
            return Ok(path);
        }
        // Worded as object_store words a refusal, so byob reads its status and code the same way (the URL quoted
        // is the blob's, without the SAS).
        let body = response.text().await.unwrap_or_default();
        let source = format!("Error performing DELETE {plain} - Server returned non-2xx status code: {status}: {body}");
        let path_text = path.to_string();
        Err(match status.as_u16() {
            404 => object_store::Error::NotFound { path: path_text, source: source.into() },
            401 | 403 => object_store::Error::PermissionDenied { path: path_text, source: source.into() },
            _ => generic(source),
        })
    }
}

#[async_trait]
impl ObjectStore for SingleDeletes {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[std::ops::Range<u64>]) -> Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        let this = Arc::new(self.clone());
        locations
            .map(move |location| {
                let this = this.clone();
                async move { this.delete_one(location?).await }
            })
            .buffered(8)
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(&self, prefix: Option<&Path>, offset: &Path) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[async_trait]
impl Signer for SingleDeletes {
    async fn signed_url(&self, method: Method, path: &Path, expires_in: Duration) -> Result<Url> {
        self.inner.signed_url(method, path, expires_in).await
    }

    async fn signed_url_opts(
        &self,
        method: Method,
        path: &Path,
        expires_in: Duration,
        options: &SignedUrlOptions,
    ) -> Result<Url> {
        self.inner.signed_url_opts(method, path, expires_in, options).await
    }
}
