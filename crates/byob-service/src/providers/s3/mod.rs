//! Amazon S3 and S3-compatible stores (a custom endpoint): an assumed role or an access key, IAM policies, KMS
//! keys in the bucket's region.

pub(crate) mod aws;
mod credentials;
mod grants;
mod setup;

use async_trait::async_trait;
use byob_core::{
    integration::{Credentials, Integration},
    location::{BucketNaming, FieldError, KmsKeyArn, Prefix, Provider, Region, RegionShape},
};
use byob_ports::{
    storage::{
        StorageClient,
        s3::{self as client, S3AccessKey, S3Location},
        vend,
    },
    warehouse::PullCredentials,
};

use super::{AssumedRole, BrowserUploads, Checked, Connector, CredentialContext, CredentialsInput, StorageProvider};
use crate::{
    ServiceError,
    artifacts::ProviderSetup,
    permissions::{Limit, Needed, Operation, Subject},
};

pub(crate) struct S3;

#[async_trait]
impl StorageProvider for S3 {
    fn bucket_naming(&self) -> BucketNaming {
        BucketNaming::S3
    }
    fn region_shape(&self, custom_endpoint: bool) -> RegionShape {
        if custom_endpoint { RegionShape::Token } else { RegionShape::Aws }
    }
    fn region_required(&self, custom_endpoint: bool) -> Option<&'static str> {
        (!custom_endpoint).then_some("AWS S3 needs the bucket's region, e.g. `eu-central-1`")
    }
    fn kms_key(&self, _: Provider, region: Option<&Region>, text: &str) -> Result<String, FieldError> {
        let arn = KmsKeyArn::parse("kms_key", text)?;
        if let Some(region) = region
            && arn.region() != region.as_str()
        {
            return Err(FieldError::new(
                "kms_key",
                byob_core::rules::KMS_KEY_REGION,
                format!(
                    "the key is in `{}`, the bucket in `{region}`; S3 needs a key in the bucket's region",
                    arn.region()
                ),
            ));
        }
        Ok(arn.as_str().to_string())
    }
    fn takes(&self, input: &CredentialsInput) -> bool {
        matches!(input, CredentialsInput::S3AssumeRole { .. } | CredentialsInput::S3AccessKey { .. })
    }
    fn check_credentials(&self, input: CredentialsInput, cx: &CredentialContext<'_>) -> Result<Checked, ServiceError> {
        credentials::check(input, cx)
    }

    async fn connect(&self, c: &Connector<'_>, i: &Integration, prefix: Prefix) -> Result<StorageClient, ServiceError> {
        let location = S3Location {
            bucket: i.bucket.clone(),
            prefix,
            region: i.region.clone().unwrap_or_else(|| "us-east-1".into()),
            endpoint: i.endpoint.clone(),
            kms_key: i.kms_key.clone(),
        };
        let client = match &i.credentials {
            Credentials::S3AccessKey { access_key_id, secret_access_key } => client::connect(
                S3AccessKey {
                    bucket: location.bucket,
                    prefix: location.prefix,
                    region: location.region,
                    endpoint: location.endpoint,
                    path_style: i.path_style,
                    access_key_id: access_key_id.clone(),
                    secret_access_key: c.reveal(i.org_id, *secret_access_key).await?,
                    kms_key: location.kms_key,
                },
                c.presign(),
                &c.deps.network,
            )?,
            Credentials::S3AssumeRole { role_arn, external_id, .. } => {
                let sts = c.settings.sts.as_ref().ok_or_else(aws::aws_credentials_missing)?;
                let role = aws::assume_role(i, role_arn, external_id, std::time::Duration::from_secs(3600));
                client::connect_assumed_role(location, sts, role, c.presign(), &c.deps.network)?
            }
            other => return Err(super::unavailable(other)),
        };
        Ok(client)
    }
    fn object_url(&self, i: &Integration, key: &str) -> Option<String> {
        // Also with a custom endpoint (a VPC endpoint is still AWS S3): a platform that cannot reach an
        // S3-compatible store refuses, and the load is streamed.
        Some(format!("s3://{}/{key}", i.bucket))
    }
    async fn vend_object_read(&self, c: &Connector<'_>, i: &Integration, key: &str) -> Result<PullCredentials, String> {
        let policy = vend::object_read_policy(&i.bucket, key, i.kms_key.as_deref());
        let region = i.region.clone().unwrap_or_else(|| "us-east-1".into());
        let session = match &i.credentials {
            Credentials::S3AssumeRole { role_arn, external_id, .. } => {
                let sts = c.settings.sts.as_ref().ok_or(aws::AWS_CREDENTIALS_MISSING)?;
                let role = aws::assume_role(i, role_arn, external_id, vend::VENDED_LIFETIME);
                vend::assume_role_for(sts, &role, policy).await.map_err(|e| e.to_string())?
            }
            Credentials::S3AccessKey { access_key_id, secret_access_key } => {
                let secret = c.reveal(i.org_id, *secret_access_key).await.map_err(|e| e.to_string())?;
                let name = format!("byob-{}", i.id.to_string().chars().rev().take(20).collect::<String>());
                vend::federation_token_for(i.endpoint.as_deref(), &region, access_key_id, &secret, &name, policy)
                    .await
                    .map_err(|e| format!("the integration's key cannot get a federation token: {e}"))?
            }
            other => return Err(format!("byob does not vend read credentials for `{}` integrations", other.mode())),
        };
        Ok(PullCredentials::AwsSession {
            access_key_id: session.access_key_id,
            secret_access_key: session.secret_access_key,
            session_token: session.session_token,
        })
    }
    fn assumed_role<'i>(&self, i: &'i Integration) -> Option<AssumedRole<'i>> {
        match &i.credentials {
            Credentials::S3AssumeRole { role_arn, external_id, .. } => Some(AssumedRole { role_arn, external_id }),
            _ => None,
        }
    }

    fn setup(&self) -> &'static dyn ProviderSetup {
        &setup::S3Setup
    }

    fn needs(&self, s: &Subject<'_>, op: Operation) -> Needed {
        grants::needs(s, op)
    }
    fn prefix_limit(&self, i: &Integration) -> Option<Limit> {
        let static_keys = matches!(i.credentials, Credentials::S3AccessKey { .. });
        (static_keys && i.endpoint.is_some()).then(|| Limit {
            reason: "static keys on an S3-compatible store are limited only by that store's own policies, which byob \
                     neither writes nor reads"
                .into(),
            instead: format!(
                "use the `s3_assume_role` mode where the store has STS (byob then limits every session to the prefix), \
                 or limit the key to `{}/*` in the store's own policy, {}",
                i.prefix,
                super::OWN_BUCKET
            ),
        })
    }
    fn browser_uploads(&self) -> BrowserUploads {
        BrowserUploads { parts_need_etag: true, ..BrowserUploads::default() }
    }
}

/// An assume-role integration's external ids: the current one and the one being rotated in.
pub(crate) struct ExternalIds<'i> {
    pub role_arn: &'i str,
    pub current: &'i mut String,
    pub pending: &'i mut Option<String>,
}

/// The external ids of an assume-role integration; `None` for other modes.
pub(crate) fn external_ids(credentials: &mut Credentials) -> Option<ExternalIds<'_>> {
    match credentials {
        Credentials::S3AssumeRole { role_arn, external_id, pending_external_id } => {
            Some(ExternalIds { role_arn, current: external_id, pending: pending_external_id })
        }
        _ => None,
    }
}
