//! Google Cloud Storage with a service-account key: V4 signed URLs for GET and PUT, and resumable upload
//! sessions for large uploads (the JSON API's way: the session URI is itself the capability, valid for a week,
//! and bound to the object byob named).

use std::{sync::Arc, time::Duration};

use byob_core::{Sensitive, location::Prefix};
use object_store::{
    ObjectStoreExt, StaticCredentialProvider,
    gcp::{GcpSigningCredential, GoogleCloudStorage, GoogleCloudStorageBuilder, ServiceAccountKey},
    path::Path,
};
use url::Url;

use super::{PresignPolicy, StorageClient, StorageError, client::PartSigner};

const DEFAULT_BASE_URL: &str = "https://storage.googleapis.com";

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
}

#[async_trait::async_trait]
impl PartSigner for GcsResumable {
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
        let response = request.send().await.map_err(|e| StorageError::Backend(e.to_string()))?;
        let status = response.status();
        if status == reqwest::StatusCode::FORBIDDEN || status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(StorageError::PermissionDenied(format!("starting a resumable upload of {key}: {status}")));
        }
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        match location {
            Some(session) if status.is_success() => Ok(session),
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
        let url =
            Url::parse(upload_id).map_err(|_| StorageError::Config("not a resumable session of this store".into()))?;
        Ok((url, Vec::new()))
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
        let response = self.http.delete(upload_id).send().await.map_err(|e| StorageError::Backend(e.to_string()))?;
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
pub fn connect(settings: GcsSettings, policy: PresignPolicy) -> Result<StorageClient, StorageError> {
    let base_url = settings.endpoint.clone().unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
    let options = object_store::ClientOptions::new().with_allow_http(base_url.starts_with("http://"));
    let signing = signing_credential(settings.service_account_key.expose())?;
    let store = GoogleCloudStorageBuilder::new()
        .with_bucket_name(&settings.bucket)
        .with_service_account_key(settings.service_account_key.expose())
        .with_signing_credentials(Arc::new(StaticCredentialProvider::new(signing)))
        .with_base_url(&base_url)
        .with_client_options(options)
        .build()
        .map_err(|e| StorageError::Config(e.to_string()))?;
    let store = Arc::new(store);
    let parts = Arc::new(GcsResumable {
        store: store.clone(),
        http: reqwest::Client::new(),
        base_url,
        bucket: settings.bucket,
    });
    Ok(StorageClient::new(store, parts, Vec::new(), settings.prefix, policy))
}
