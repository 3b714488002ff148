//! Credentials byob vends to a data platform so that it reads one staged object itself (a pulled load): an STS
//! session whose policy allows `s3:GetObject` on exactly that object's ARN (and decrypting with the bucket's KMS
//! key), for 15 minutes — the shortest STS grants. With an assumed role the session policy narrows the role;
//! with a customer's IAM user key, `GetFederationToken` narrows the user.

use std::time::Duration;

use aws_sdk_sts::{
    Client,
    config::{BehaviorVersion, Credentials, Region},
    error::DisplayErrorContext,
};
use byob_core::Sensitive;
use serde_json::json;

use super::{AssumeRole, StorageError, StsSettings, sts::AssumedRoleProvider};

/// The lifetime of vended credentials: STS's minimum.
pub const VENDED_LIFETIME: Duration = Duration::from_secs(900);

/// Temporary AWS credentials.
#[derive(Debug, Clone)]
pub struct AwsSession {
    pub access_key_id: String,
    pub secret_access_key: Sensitive<String>,
    pub session_token: Sensitive<String>,
}

/// An IAM policy allowing only `GetObject` of `bucket/key` (and `kms:Decrypt` with the bucket's key).
#[must_use]
pub fn object_read_policy(bucket: &str, key: &str, kms_key: Option<&str>) -> String {
    let mut statements = vec![json!({
        "Sid": "ByobReadOneObject",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{bucket}/{key}"),
    })];
    if let Some(kms) = kms_key {
        statements.push(json!({ "Sid": "ByobDecryptIt", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": kms }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
}

/// byob's principal assumes the customer's role with `policy` as the session policy.
///
/// # Errors
/// STS's refusal.
pub async fn assume_role_for(sts: &StsSettings, role: &AssumeRole, policy: String) -> Result<AwsSession, StorageError> {
    let narrowed = AssumeRole { session_policy: Some(policy), duration: VENDED_LIFETIME, ..role.clone() };
    let (credential, _) = AssumedRoleProvider::new(sts, narrowed).assume().await?;
    Ok(AwsSession {
        access_key_id: credential.key_id.clone(),
        secret_access_key: Sensitive::new(credential.secret_key.clone()),
        session_token: Sensitive::new(credential.token.clone().unwrap_or_default()),
    })
}

/// The customer's IAM user key asks STS for a federation token limited by `policy`.
///
/// # Errors
/// STS's refusal (a key that may not call `sts:GetFederationToken`, a store without STS).
pub async fn federation_token_for(
    endpoint: Option<&str>,
    region: &str,
    access_key_id: &str,
    secret_access_key: &Sensitive<String>,
    name: &str,
    policy: String,
) -> Result<AwsSession, StorageError> {
    let credentials = Credentials::new(access_key_id, secret_access_key.expose(), None, None, "byob-customer-key");
    let mut config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(credentials);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    let seconds = i32::try_from(VENDED_LIFETIME.as_secs()).unwrap_or(900);
    let output = Client::from_conf(config.build())
        .get_federation_token()
        .name(name.chars().take(32).collect::<String>())
        .policy(policy)
        .duration_seconds(seconds)
        .send()
        .await
        .map_err(|e| StorageError::Backend(format!("STS GetFederationToken: {}", DisplayErrorContext(&e))))?;
    let creds =
        output.credentials().ok_or_else(|| StorageError::Backend("STS returned no federation credentials".into()))?;
    Ok(AwsSession {
        access_key_id: creds.access_key_id().to_string(),
        secret_access_key: Sensitive::new(creds.secret_access_key().to_string()),
        session_token: Sensitive::new(creds.session_token().to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_exactly_one_object() {
        let policy: serde_json::Value =
            serde_json::from_str(&object_read_policy("acme", "tenants/acme/uploads/upl_1/data.csv", None))
                .unwrap_or_default();
        assert_eq!(policy["Statement"].as_array().map(Vec::len), Some(1));
        assert_eq!(policy["Statement"][0]["Action"], "s3:GetObject");
        assert_eq!(policy["Statement"][0]["Resource"], "arn:aws:s3:::acme/tenants/acme/uploads/upl_1/data.csv");
    }
}
