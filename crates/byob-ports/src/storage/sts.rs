//! byob's own AWS principal assuming a customer's role: STS `AssumeRole` with the integration's external id and
//! an inline session policy limited to the prefix; the temporary credentials are cached and refreshed five
//! minutes before they expire.

use std::{sync::Arc, time::Duration};

use aws_sdk_sts::{
    Client,
    config::{BehaviorVersion, Credentials, Region},
    error::ProvideErrorMetadata,
};
use byob_core::Sensitive;
use chrono::{DateTime, Utc};
use object_store::{aws::AwsCredential, client::CredentialProvider};
use tokio::sync::Mutex;

use super::StorageError;

/// How byob reaches STS as itself (operator configuration).
#[derive(Debug, Clone)]
pub struct StsSettings {
    /// A custom STS endpoint (a VPC endpoint, moto); AWS's regional endpoint when absent.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Sensitive<String>,
}

/// The role to assume and how.
#[derive(Debug, Clone)]
pub struct AssumeRole {
    pub role_arn: String,
    pub external_id: String,
    /// Inline session policy (JSON) further limiting the session, e.g. to the integration's prefix.
    pub session_policy: Option<String>,
    pub session_name: String,
    pub duration: Duration,
}

const REFRESH_BEFORE: chrono::Duration = chrono::Duration::minutes(5);

#[derive(Debug)]
pub(super) struct AssumedRoleProvider {
    client: Client,
    role: AssumeRole,
    cached: Mutex<Option<(Arc<AwsCredential>, DateTime<Utc>)>>,
}

impl AssumedRoleProvider {
    pub(super) fn new(sts: &StsSettings, role: AssumeRole) -> Self {
        let credentials =
            Credentials::new(&sts.access_key_id, sts.secret_access_key.expose(), None, None, "byob-operator");
        let mut config = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(sts.region.clone()))
            .credentials_provider(credentials);
        if let Some(endpoint) = &sts.endpoint {
            config = config.endpoint_url(endpoint);
        }
        Self { client: Client::from_conf(config.build()), role, cached: Mutex::new(None) }
    }

    /// Calls STS; an `AccessDenied` (wrong external id, untrusted principal, no such role) is
    /// [`StorageError::RoleRefused`], a refusal of byob's own key a configuration error.
    pub(super) async fn assume(&self) -> Result<(Arc<AwsCredential>, DateTime<Utc>), StorageError> {
        let duration = i32::try_from(self.role.duration.as_secs()).unwrap_or(3600).clamp(900, 43_200);
        let mut request = self
            .client
            .assume_role()
            .role_arn(&self.role.role_arn)
            .role_session_name(&self.role.session_name)
            .external_id(&self.role.external_id)
            .duration_seconds(duration);
        if let Some(policy) = &self.role.session_policy {
            request = request.policy(policy);
        }
        let output = request.send().await.map_err(|err| {
            let code = err.code().unwrap_or_default().to_string();
            let status = err.raw_response().map(|r| r.status().as_u16());
            // Some STS-compatible services wrap errors differently from AWS; the raw body still names the cause.
            let message = err.message().map(str::to_string).unwrap_or_else(|| {
                err.raw_response()
                    .and_then(|r| r.body().bytes())
                    .map(|b| xml_text(&String::from_utf8_lossy(b), "Message"))
                    .unwrap_or_default()
            });
            match code.as_str() {
                // byob's own key, not the customer's role: the operator's to fix.
                "InvalidClientTokenId" | "SignatureDoesNotMatch" | "ExpiredToken" | "UnrecognizedClientException" => {
                    StorageError::Config(format!(
                        "STS refused byob's own AWS credentials ({code}): the operator must correct \
                         integrations.aws_access_key_id and integrations.aws_secret_access_key"
                    ))
                }
                _ if code == "AccessDenied" || status == Some(403) => StorageError::RoleRefused {
                    role_arn: self.role.role_arn.clone(),
                    detail: if message.is_empty() { code } else { message },
                },
                _ => StorageError::Backend(format!(
                    "assuming {}: {}",
                    self.role.role_arn,
                    aws_sdk_sts::error::DisplayErrorContext(&err)
                )),
            }
        })?;
        let creds = output.credentials().ok_or_else(|| StorageError::Backend("STS returned no credentials".into()))?;
        let expires = DateTime::from_timestamp(creds.expiration().secs(), 0).unwrap_or_else(Utc::now);
        let credential = AwsCredential {
            key_id: creds.access_key_id().to_string(),
            secret_key: creds.secret_access_key().to_string(),
            token: Some(creds.session_token().to_string()),
        };
        Ok((Arc::new(credential), expires))
    }
}

/// The text of the first `<tag>` element, or nothing.
fn xml_text(body: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    body.find(&open)
        .and_then(|start| {
            let rest = &body[start + open.len()..];
            rest.find(&format!("</{tag}>")).map(|end| rest[..end].to_string())
        })
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl CredentialProvider for AssumedRoleProvider {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        if let Some((credential, expires)) = cached.as_ref()
            && *expires - REFRESH_BEFORE > Utc::now()
        {
            return Ok(credential.clone());
        }
        match self.assume().await {
            Ok((credential, expires)) => {
                *cached = Some((credential.clone(), expires));
                Ok(credential)
            }
            Err(refused @ StorageError::RoleRefused { .. }) => Err(object_store::Error::PermissionDenied {
                path: self.role.role_arn.clone(),
                source: Box::new(refused),
            }),
            Err(other) => Err(object_store::Error::Generic { store: "S3", source: other.to_string().into() }),
        }
    }
}
