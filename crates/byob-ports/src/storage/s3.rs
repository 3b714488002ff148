//! Amazon S3 and S3-compatible stores (MinIO, R2, Ceph, s3s, VPC endpoints) with static access keys.

use std::sync::Arc;

use byob_core::{Sensitive, location::Prefix};
use object_store::aws::AmazonS3Builder;

use super::{PresignPolicy, StorageClient, StorageError, client::S3Parts};

/// Where and how to reach an S3 bucket with an access key.
#[derive(Debug, Clone)]
pub struct S3AccessKey {
    pub bucket: String,
    pub prefix: Prefix,
    /// `us-east-1` when the store does not care.
    pub region: String,
    /// A custom endpoint (S3-compatible store, private endpoint); AWS when absent.
    pub endpoint: Option<String>,
    pub path_style: bool,
    pub access_key_id: String,
    pub secret_access_key: Sensitive<String>,
}

/// Builds a client. No checksum headers are added, so stores that reject them work too.
///
/// # Errors
/// [`StorageError::Config`] when the settings are unusable.
pub fn connect(settings: S3AccessKey, policy: PresignPolicy) -> Result<StorageClient, StorageError> {
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(&settings.bucket)
        .with_region(&settings.region)
        .with_access_key_id(&settings.access_key_id)
        .with_secret_access_key(settings.secret_access_key.expose())
        .with_virtual_hosted_style_request(!settings.path_style);
    if let Some(endpoint) = &settings.endpoint {
        // The endpoint passed validation, which allows http only where the operator permits it.
        builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
    }
    let store = Arc::new(builder.build().map_err(|e| StorageError::Config(e.to_string()))?);
    let parts = Arc::new(S3Parts { store: store.clone() });
    Ok(StorageClient::new(store, parts, Vec::new(), settings.prefix, policy))
}
