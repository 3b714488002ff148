//! Amazon S3 and S3-compatible stores (MinIO, R2, Ceph, s3s, VPC endpoints): static access keys, or byob's own
//! principal assuming the customer's role.

use std::sync::Arc;

use byob_core::{Sensitive, location::Prefix};
use object_store::aws::AmazonS3Builder;

use crate::net::{GuardedConnector, NetworkPolicy};

use super::{
    ClientPolicy, StorageClient, StorageError,
    checksum::S3Checksums,
    client::S3Parts,
    inspect::S3Inspector,
    sts::{AssumeRole, AssumedRoleProvider, StsSettings},
    writer::StoreParts,
};

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
    /// A KMS key every object byob writes is encrypted with (SSE-KMS), presigned single PUTs included.
    pub kms_key: Option<String>,
}

/// Builds a client. No checksum headers are added, so stores that reject them work too.
///
/// # Errors
/// [`StorageError::Config`] when the settings are unusable.
pub fn connect(
    settings: S3AccessKey,
    policy: ClientPolicy,
    network: &NetworkPolicy,
) -> Result<StorageClient, StorageError> {
    super::check_endpoint(settings.endpoint.as_deref(), network)?;
    let mut builder = AmazonS3Builder::new()
        .with_client_options(super::client_options())
        .with_http_connector(GuardedConnector::new(network))
        .with_retry(policy.retry.config())
        .with_bucket_name(&settings.bucket)
        .with_region(&settings.region)
        .with_access_key_id(&settings.access_key_id)
        .with_secret_access_key(settings.secret_access_key.expose())
        .with_virtual_hosted_style_request(!settings.path_style);
    if let Some(endpoint) = &settings.endpoint {
        // The endpoint passed validation, which allows http only where the operator permits it.
        builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
    }
    if let Some(key) = &settings.kms_key {
        // byob's own writes and the multipart uploads it starts for browsers carry the key too.
        builder = builder.with_sse_kms_encryption(key);
    }
    let store = Arc::new(builder.build().map_err(|e| StorageError::Config(e.to_string()))?);
    let inspector = Arc::new(S3Inspector::new(
        &settings.bucket,
        &settings.region,
        settings.endpoint.as_deref(),
        settings.path_style,
        store.credentials().clone(),
        network,
    ));
    let parts = Arc::new(S3Parts { store: store.clone() });
    let checksums = checksums(&store, &settings.bucket, settings.kms_key.as_deref(), network)?;
    Ok(StorageClient::new(store.clone(), parts, Vec::new(), settings.prefix, policy)
        .with_header_signing(super::client::HeaderSigning::Aws)
        .with_checksums(checksums)
        .with_kms_key(settings.kms_key)
        .with_inspector(inspector.clone())
        .with_leftovers(inspector)
        .with_writer(Arc::new(StoreParts { store: store.clone() }))
        .with_pages(store))
}

/// The store's own SHA-256 of objects byob places, through presigned requests of the same credentials.
fn checksums(
    store: &Arc<object_store::aws::AmazonS3>,
    bucket: &str,
    kms_key: Option<&str>,
    network: &NetworkPolicy,
) -> Result<Arc<S3Checksums>, StorageError> {
    let http = crate::net::guarded_http_client(network).build().map_err(|e| StorageError::Config(e.to_string()))?;
    let encryption = kms_key
        .map(|key| {
            vec![
                ("x-amz-server-side-encryption", "aws:kms".to_string()),
                ("x-amz-server-side-encryption-aws-kms-key-id", key.to_string()),
            ]
        })
        .unwrap_or_default();
    Ok(Arc::new(S3Checksums { store: store.clone(), http, bucket: bucket.to_string(), encryption }))
}

/// Where the bucket is, for an assumed role.
#[derive(Debug, Clone)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: Prefix,
    pub region: String,
    /// A private (VPC) endpoint, or an emulator; AWS's regional endpoint when absent. Path-style when set.
    pub endpoint: Option<String>,
    /// A KMS key every object byob writes is encrypted with (SSE-KMS), presigned single PUTs included.
    pub kms_key: Option<String>,
}

/// Builds a client whose requests are signed with the role's temporary credentials, obtained on first use and
/// refreshed before they expire.
///
/// # Errors
/// [`StorageError::Config`] when the settings are unusable.
pub fn connect_assumed_role(
    location: S3Location,
    sts: &StsSettings,
    role: AssumeRole,
    policy: ClientPolicy,
    network: &NetworkPolicy,
) -> Result<StorageClient, StorageError> {
    super::check_endpoint(location.endpoint.as_deref(), network)?;
    let provider = Arc::new(AssumedRoleProvider::new(sts, role));
    let mut builder = AmazonS3Builder::new()
        .with_client_options(super::client_options())
        .with_http_connector(GuardedConnector::new(network))
        .with_retry(policy.retry.config())
        .with_bucket_name(&location.bucket)
        .with_region(&location.region)
        .with_credentials(provider);
    if let Some(endpoint) = &location.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    if let Some(key) = &location.kms_key {
        builder = builder.with_sse_kms_encryption(key);
    }
    let store = builder.build().map_err(|e| StorageError::Config(e.to_string()))?;
    let store = Arc::new(store);
    let inspector = Arc::new(S3Inspector::new(
        &location.bucket,
        &location.region,
        location.endpoint.as_deref(),
        location.endpoint.is_some(),
        store.credentials().clone(),
        network,
    ));
    let parts = Arc::new(S3Parts { store: store.clone() });
    let checksums = checksums(&store, &location.bucket, location.kms_key.as_deref(), network)?;
    Ok(StorageClient::new(store.clone(), parts, Vec::new(), location.prefix, policy)
        .with_header_signing(super::client::HeaderSigning::Aws)
        .with_checksums(checksums)
        .with_kms_key(location.kms_key)
        .with_inspector(inspector.clone())
        .with_leftovers(inspector)
        .with_writer(Arc::new(StoreParts { store: store.clone() }))
        .with_pages(store))
}

/// Assumes the role once and returns when the credentials expire: what verification's `credentials-assume`
/// check needs, and the way to see a trust-policy problem before any object request.
///
/// # Errors
/// [`StorageError::PermissionDenied`] when STS refuses (wrong external id, untrusted principal).
pub async fn check_assume_role(
    sts: &StsSettings,
    role: AssumeRole,
) -> Result<chrono::DateTime<chrono::Utc>, StorageError> {
    Ok(AssumedRoleProvider::new(sts, role).assume().await?.1)
}
