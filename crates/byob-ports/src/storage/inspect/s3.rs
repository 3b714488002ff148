//! S3 bucket settings through aws-sdk-s3 (the only crate with typed bucket-configuration reads), signed with the
//! same credentials as the integration's object access, and KMS key checks through aws-sdk-kms.

use std::sync::Arc;

use aws_credential_types::{
    Credentials,
    provider::{ProvideCredentials, error::CredentialsError, future},
};
use aws_sdk_s3::{
    config::{BehaviorVersion, Region, http::HttpResponse},
    error::{DisplayErrorContext, ProvideErrorMetadata, SdkError},
    primitives::ByteStream,
    types::ServerSideEncryption,
};
use chrono::{DateTime, Utc};
use object_store::{aws::AwsCredential, client::CredentialProvider, path::Path};

use super::{BucketInspector, BucketSettings, CorsRule, Encryption, ExpiryRule, PublicAccess, Setting, date_header};
use crate::net::{NetworkPolicy, guarded_http_client, guarded_smithy_client};
use crate::storage::{
    StorageError,
    leftovers::{Leftovers, UnfinishedWrite},
};

/// The integration's object-store credentials, handed to the AWS SDK clients.
#[derive(Debug)]
struct SharedCredentials(Arc<dyn CredentialProvider<Credential = AwsCredential>>);

impl ProvideCredentials for SharedCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let c = self.0.get_credential().await.map_err(CredentialsError::provider_error)?;
            Ok(Credentials::new(&c.key_id, &c.secret_key, c.token.clone(), None, "byob-integration"))
        })
    }
}

#[derive(Debug, Clone)]
pub struct S3Inspector {
    s3: aws_sdk_s3::Client,
    kms: aws_sdk_kms::Client,
    http: reqwest::Client,
    bucket: String,
    /// Where an unauthenticated request reaches the bucket, for the server's clock.
    bucket_url: String,
}

impl S3Inspector {
    pub(crate) fn new(
        bucket: &str,
        region: &str,
        endpoint: Option<&str>,
        path_style: bool,
        credentials: Arc<dyn CredentialProvider<Credential = AwsCredential>>,
        network: &NetworkPolicy,
    ) -> Self {
        // Both SDK clients and the clock probe reach the tenant-named endpoint: through the network policy.
        let http_client = guarded_smithy_client(network);
        let provider = aws_credential_types::provider::SharedCredentialsProvider::new(SharedCredentials(credentials));
        let mut s3 = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(provider.clone())
            .http_client(http_client.clone())
            .force_path_style(path_style || endpoint.is_some());
        let mut kms = aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_sdk_kms::config::Region::new(region.to_string()))
            .credentials_provider(provider)
            .http_client(http_client);
        let bucket_url = match endpoint {
            Some(endpoint) => {
                s3 = s3.endpoint_url(endpoint);
                kms = kms.endpoint_url(endpoint);
                format!("{}/{bucket}", endpoint.trim_end_matches('/'))
            }
            None => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        };
        Self {
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            kms: aws_sdk_kms::Client::from_conf(kms.build()),
            http: guarded_http_client(network).build().unwrap_or_default(),
            bucket: bucket.to_string(),
            bucket_url,
        }
    }
}

/// An SDK error as a setting: the codes that mean "not configured" are [`Setting::Unset`], a store that does not
/// implement the call is [`Setting::Unavailable`], a refusal is a permission error.
fn classify<T, E>(what: &str, err: &SdkError<E, HttpResponse>, unset_codes: &[&str]) -> Result<Setting<T>, StorageError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.code().unwrap_or_default();
    let status = err.raw_response().map(|r| r.status().as_u16());
    if unset_codes.contains(&code) {
        return Ok(Setting::Unset);
    }
    if let Some(refused) = crate::storage::error::refused_address(err) {
        return Err(StorageError::AddressRefused(refused));
    }
    let message = err.message().unwrap_or(code).to_string();
    match (code, status) {
        ("AccessDenied", _) | (_, Some(403)) => {
            Err(StorageError::refusal(Some(code), format!("reading the bucket's {what}: {message}")))
        }
        ("NotImplemented" | "MethodNotAllowed", _) | (_, Some(501 | 405)) => {
            Ok(Setting::Unavailable(format!("this store does not implement reading the bucket's {what}")))
        }
        ("NoSuchBucket", _) => Err(StorageError::NotFound("the bucket".into())),
        _ => Err(StorageError::Backend(format!("reading the bucket's {what}: {}", DisplayErrorContext(err)))),
    }
}

/// `<Status>Enabled</Status>` in a versioning reply the SDK could not parse (moto answers with a root element the
/// SDK does not expect).
fn versioning_from_raw(body: &[u8]) -> Option<bool> {
    let text = std::str::from_utf8(body).ok()?;
    let status = text.split("<Status>").nth(1).and_then(|rest| rest.split("</Status>").next());
    Some(status == Some("Enabled"))
}

/// One request per setting: S3 has no call that returns them together.
impl S3Inspector {
    async fn location(&self) -> Result<Setting<String>, StorageError> {
        match self.s3.get_bucket_location().bucket(&self.bucket).send().await {
            Ok(out) => Ok(Setting::Set(match out.location_constraint().map(|c| c.as_str()) {
                None | Some("") => "us-east-1".to_string(),
                Some("EU") => "eu-west-1".to_string(),
                Some(other) => other.to_string(),
            })),
            Err(err) => {
                // A redirect names the bucket's real region.
                let redirected =
                    err.raw_response().and_then(|r| r.headers().get("x-amz-bucket-region")).map(str::to_string);
                match redirected {
                    Some(region) => Ok(Setting::Set(region)),
                    None => classify("location", &err, &[]),
                }
            }
        }
    }

    async fn cors(&self) -> Result<Setting<Vec<CorsRule>>, StorageError> {
        match self.s3.get_bucket_cors().bucket(&self.bucket).send().await {
            Ok(out) => Ok(Setting::Set(
                out.cors_rules()
                    .iter()
                    .map(|r| CorsRule {
                        allowed_origins: r.allowed_origins().to_vec(),
                        allowed_methods: r.allowed_methods().to_vec(),
                        allowed_headers: r.allowed_headers().to_vec(),
                        expose_headers: r.expose_headers().to_vec(),
                    })
                    .collect(),
            )),
            Err(err) => classify("CORS configuration", &err, &["NoSuchCORSConfiguration"]),
        }
    }

    async fn encryption(&self) -> Result<Setting<Encryption>, StorageError> {
        match self.s3.get_bucket_encryption().bucket(&self.bucket).send().await {
            Ok(out) => {
                let default = out
                    .server_side_encryption_configuration()
                    .and_then(|c| c.rules().iter().find_map(|r| r.apply_server_side_encryption_by_default()));
                Ok(match default {
                    None => Setting::Unset,
                    Some(d)
                        if matches!(
                            d.sse_algorithm(),
                            ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse
                        ) =>
                    {
                        Setting::Set(Encryption::Kms(d.kms_master_key_id().map(str::to_string)))
                    }
                    Some(_) => Setting::Set(Encryption::ProviderManaged),
                })
            }
            Err(err) => classify("default encryption", &err, &["ServerSideEncryptionConfigurationNotFoundError"]),
        }
    }

    async fn versioning(&self) -> Result<Setting<bool>, StorageError> {
        match self.s3.get_bucket_versioning().bucket(&self.bucket).send().await {
            Ok(out) => Ok(Setting::Set(out.status().is_some_and(|s| s.as_str() == "Enabled"))),
            Err(err) => {
                let raw = err.raw_response().filter(|r| r.status().is_success()).and_then(|r| r.body().bytes());
                match raw.and_then(versioning_from_raw) {
                    Some(enabled) => Ok(Setting::Set(enabled)),
                    None => classify("versioning", &err, &[]),
                }
            }
        }
    }

    async fn public_access(&self) -> Result<Setting<PublicAccess>, StorageError> {
        match self.s3.get_public_access_block().bucket(&self.bucket).send().await {
            Ok(out) => {
                let Some(c) = out.public_access_block_configuration() else { return Ok(Setting::Unset) };
                let flags = [
                    ("BlockPublicAcls", c.block_public_acls()),
                    ("IgnorePublicAcls", c.ignore_public_acls()),
                    ("BlockPublicPolicy", c.block_public_policy()),
                    ("RestrictPublicBuckets", c.restrict_public_buckets()),
                ];
                let off: Vec<&str> = flags.iter().filter(|(_, on)| *on != Some(true)).map(|(n, _)| *n).collect();
                Ok(Setting::Set(PublicAccess {
                    blocked: off.is_empty(),
                    detail: if off.is_empty() {
                        "all four public-access-block settings are on".into()
                    } else {
                        format!("off: {}", off.join(", "))
                    },
                }))
            }
            Err(err) => classify("public access block", &err, &["NoSuchPublicAccessBlockConfiguration"]),
        }
    }

    async fn lifecycle(&self) -> Result<Setting<Vec<ExpiryRule>>, StorageError> {
        match self.s3.get_bucket_lifecycle_configuration().bucket(&self.bucket).send().await {
            Ok(out) => Ok(Setting::Set(
                out.rules()
                    .iter()
                    .filter(|r| r.status().as_str() == "Enabled")
                    .map(|r| {
                        let filter = r.filter();
                        #[allow(deprecated)]
                        let prefix = filter
                            .and_then(|f| f.prefix().or_else(|| f.and().and_then(|a| a.prefix())))
                            .or_else(|| r.prefix())
                            .unwrap_or_default();
                        ExpiryRule {
                            id: r.id().map(str::to_string),
                            prefix: prefix.to_string(),
                            expire_days: r.expiration().and_then(|e| e.days()).and_then(|d| u32::try_from(d).ok()),
                            abort_incomplete_days: r
                                .abort_incomplete_multipart_upload()
                                .and_then(|a| a.days_after_initiation())
                                .and_then(|d| u32::try_from(d).ok()),
                        }
                    })
                    .collect(),
            )),
            Err(err) => classify("lifecycle configuration", &err, &["NoSuchLifecycleConfiguration"]),
        }
    }
}

#[async_trait::async_trait]
impl BucketInspector for S3Inspector {
    async fn settings(&self) -> BucketSettings {
        let (location, cors, encryption, versioning, public_access, lifecycle) = tokio::join!(
            self.location(),
            self.cors(),
            self.encryption(),
            self.versioning(),
            self.public_access(),
            self.lifecycle()
        );
        BucketSettings { location, cors, encryption, versioning, public_access, lifecycle }
    }

    async fn kms_key(&self, key: &str) -> Result<Setting<()>, StorageError> {
        match self.kms.describe_key().key_id(key).send().await {
            Ok(out) => match out.key_metadata().map(|m| m.enabled()) {
                Some(true) => Ok(Setting::Set(())),
                _ => Err(StorageError::Config(format!("the KMS key {key} is disabled"))),
            },
            Err(err) => {
                let code = err.code().unwrap_or_default();
                let status = err.raw_response().map(|r| r.status().as_u16());
                match (code, status) {
                    ("NotFoundException", _) => Ok(Setting::Unset),
                    ("AccessDeniedException", _) | (_, Some(403)) => Ok(Setting::Unavailable(format!(
                        "byob may not describe the key ({}); the encrypted write below shows whether it can use it",
                        err.message().unwrap_or(code)
                    ))),
                    _ => Ok(Setting::Unavailable(format!(
                        "the KMS key could not be looked up: {}",
                        DisplayErrorContext(&err)
                    ))),
                }
            }
        }
    }

    async fn put_encrypted(&self, key: &Path, body: Vec<u8>, kms_key: &str) -> Result<Setting<()>, StorageError> {
        let result = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_ref())
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(kms_key)
            .body(ByteStream::from(body))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Setting::Set(())),
            Err(err) => classify("KMS-encrypted write", &err, &[]),
        }
    }

    async fn server_time(&self) -> Result<DateTime<Utc>, StorageError> {
        date_header(&self.http, &self.bucket_url).await
    }
}

/// An SDK error of a call on objects: a refusal is a permission error, anything else the store's failure.
fn object_call_error<E>(what: &str, err: &SdkError<E, HttpResponse>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.code().unwrap_or_default();
    let status = err.raw_response().map(|r| r.status().as_u16());
    match (code, status) {
        ("AccessDenied", _) | (_, Some(403)) => {
            StorageError::refusal(Some(code), format!("{what}: {}", err.message().unwrap_or(code)))
        }
        ("NoSuchBucket", _) => StorageError::NotFound("the bucket".into()),
        _ => StorageError::Backend(format!("{what}: {}", DisplayErrorContext(err))),
    }
}

/// `ListMultipartUploads` under the key (a page of 1,000 at a time) and `AbortMultipartUpload`.
#[async_trait::async_trait]
impl Leftovers for S3Inspector {
    async fn list(&self, key: &Path, folder: bool) -> Result<Vec<UnfinishedWrite>, StorageError> {
        let prefix = if folder { format!("{}/", key.as_ref()) } else { key.as_ref().to_string() };
        let mut found = Vec::new();
        let (mut key_marker, mut id_marker) = (None, None);
        loop {
            let reply = self
                .s3
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(id_marker.take())
                .send()
                .await
                .map_err(|e| object_call_error("listing unfinished multipart uploads", &e))?;
            for upload in reply.uploads() {
                let (Some(name), Some(id)) = (upload.key(), upload.upload_id()) else { continue };
                if folder || name == prefix {
                    let started = upload.initiated().and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()));
                    found.push(UnfinishedWrite { key: name.to_string(), upload_id: id.to_string(), started });
                }
            }
            key_marker = reply.next_key_marker().map(str::to_string);
            id_marker = reply.next_upload_id_marker().map(str::to_string);
            if reply.is_truncated() != Some(true) || key_marker.is_none() {
                return Ok(found);
            }
        }
    }

    async fn remove(&self, write: &UnfinishedWrite) -> Result<(), StorageError> {
        let result = self
            .s3
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&write.key)
            .upload_id(&write.upload_id)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.code() == Some("NoSuchUpload") || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Ok(())
            }
            Err(e) => Err(object_call_error("aborting an unfinished multipart upload", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::versioning_from_raw;

    #[test]
    fn raw_versioning_replies() {
        let moto = br#"<?xml version="1.0"?><VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
        assert_eq!(versioning_from_raw(moto), Some(true));
        assert_eq!(versioning_from_raw(b"<VersioningConfiguration/>"), Some(false));
        assert_eq!(versioning_from_raw(b"<V><Status>Suspended</Status></V>"), Some(false));
    }
}
