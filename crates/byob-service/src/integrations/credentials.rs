//! Checking a credential input against its provider and turning it into what is stored: identities inline,
//! secret values as new secrets the integration owns.

use byob_core::{
    SecretId, Sensitive,
    integration::{Credentials, Feature},
    location::{FieldError, Provider, Region, RoleArn, SasToken, ServiceAccountKey},
    random,
};
use chrono::{DateTime, Utc};

use super::{CredentialsInput, check};
use crate::ServiceError;

/// A secret value to store, owned by the integration.
#[derive(Debug)]
pub(super) struct NewSecret {
    pub id: SecretId,
    /// Which credential field it is, e.g. `secret_access_key`.
    pub field: &'static str,
    pub value: Sensitive<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The checked credential and the secrets to store with it.
#[derive(Debug)]
pub(super) struct Checked {
    pub credentials: Credentials,
    pub secrets: Vec<NewSecret>,
}

/// Where the credential will be used.
pub(super) struct Context<'a> {
    pub provider: Provider,
    pub custom_endpoint: bool,
    pub region: Option<&'a Region>,
    pub features: &'a [Feature],
    pub allow_local: bool,
    pub now: DateTime<Utc>,
}

const MAX_SECRET_BYTES: usize = 16 * 1024;

fn mode_provider(input: &CredentialsInput) -> Provider {
    match input {
        CredentialsInput::S3AssumeRole { .. } | CredentialsInput::S3AccessKey { .. } => Provider::S3,
        CredentialsInput::GcsServiceAccountKey { .. } | CredentialsInput::GcsImpersonation { .. } => Provider::Gcs,
        CredentialsInput::AzureSas { .. }
        | CredentialsInput::AzureSharedKey { .. }
        | CredentialsInput::AzureServicePrincipal { .. }
        | CredentialsInput::AzureBroker { .. } => Provider::Azure,
        CredentialsInput::Local => Provider::Local,
    }
}

/// An external id for a trust policy: 128 random bits, in characters AWS accepts.
pub(super) fn new_external_id() -> Result<String, ServiceError> {
    let bytes = random::bytes::<16>().map_err(|e| ServiceError::SecretBox(e.into()))?;
    Ok(format!("byob-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

fn secret(field: &'static str, value: Sensitive<String>) -> NewSecret {
    NewSecret { id: SecretId::generate(), field, value, expires_at: None }
}

/// Refuses features a SAS granting `granted` cannot serve (an update adding uploads to a read-only SAS, as much
/// as a create); `field` is what the caller changed.
pub(super) fn sas_serves_features(field: &str, granted: &str, features: &[Feature]) -> Result<(), ServiceError> {
    let missing: String =
        byob_core::integration::sas_permissions_needed(features).chars().filter(|p| !granted.contains(*p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(check::rule(
        field,
        byob_core::rules::SAS_PERMISSIONS_FOR_FEATURES,
        format!(
            "the SAS lacks permission(s) `{missing}` that the enabled features need (it grants `{granted}`); give a \
             SAS that grants them, or leave those features off"
        ),
    )
    .into())
}

pub(super) fn check(input: CredentialsInput, cx: &Context<'_>) -> Result<Checked, ServiceError> {
    let expected = mode_provider(&input);
    if expected != cx.provider {
        return Err(FieldError::new(
            "credentials.mode",
            byob_core::rules::CREDENTIALS_MODE_PROVIDER,
            format!(
                "this mode is for {}, but the integration's provider is {}",
                expected.as_str(),
                cx.provider.as_str()
            ),
        )
        .into());
    }
    let checked = match input {
        CredentialsInput::S3AssumeRole { role_arn } => {
            // A custom endpoint is allowed: a private (VPC) S3 endpoint works with STS like AWS's own; a store with
            // no STS behind it fails verification's `credentials-obtain` with STS's own reason.
            let arn = RoleArn::parse("credentials.role_arn", &role_arn)?;
            if let Some(region) = cx.region
                && region.aws_partition() != arn.partition()
            {
                return Err(check::rule(
                    "credentials.role_arn",
                    byob_core::rules::ARN_PARTITION_REGION,
                    format!(
                        "the role is in partition `{}` but region `{region}` is in `{}`",
                        arn.partition().as_str(),
                        region.aws_partition().as_str()
                    ),
                )
                .into());
            }
            Checked {
                credentials: Credentials::S3AssumeRole {
                    role_arn,
                    external_id: new_external_id()?,
                    pending_external_id: None,
                },
                secrets: Vec::new(),
            }
        }
        CredentialsInput::S3AccessKey { access_key_id, secret_access_key } => {
            check::access_key_id(cx.custom_endpoint, &access_key_id)?;
            check::secret_text("credentials.secret_access_key", secret_access_key.expose(), 256)?;
            let s = secret("secret_access_key", secret_access_key);
            Checked {
                credentials: Credentials::S3AccessKey { access_key_id, secret_access_key: s.id },
                secrets: vec![s],
            }
        }
        CredentialsInput::GcsServiceAccountKey { key } => {
            check::secret_text("credentials.key", key.expose(), MAX_SECRET_BYTES)?;
            let parsed = ServiceAccountKey::parse("credentials.key", key.expose())?;
            let s = secret("key", key);
            Checked {
                credentials: Credentials::GcsServiceAccountKey { client_email: parsed.client_email, key: s.id },
                secrets: vec![s],
            }
        }
        CredentialsInput::GcsImpersonation { service_account } => {
            check::impersonated_account(&service_account)?;
            Checked { credentials: Credentials::GcsImpersonation { service_account }, secrets: Vec::new() }
        }
        CredentialsInput::AzureSas { account, sas_token } => {
            check::azure_account("credentials.account", &account)?;
            check::secret_text("credentials.sas_token", sas_token.expose(), MAX_SECRET_BYTES)?;
            let sas = SasToken::parse("credentials.sas_token", sas_token.expose(), cx.now)?;
            sas_serves_features("credentials.sas_token", &sas.permissions, cx.features)?;
            let mut s = secret("sas_token", Sensitive::new(sas.query.expose().clone()));
            s.expires_at = Some(sas.expiry);
            let credentials = Credentials::AzureSas {
                account,
                permissions: sas.permissions,
                expires_at: sas.expiry,
                sas_token: s.id,
            };
            Checked { credentials, secrets: vec![s] }
        }
        CredentialsInput::AzureSharedKey { account, account_key } => {
            check::azure_account("credentials.account", &account)?;
            check::azure_account_key("credentials.account_key", account_key.expose())?;
            let s = secret("account_key", account_key);
            Checked { credentials: Credentials::AzureSharedKey { account, account_key: s.id }, secrets: vec![s] }
        }
        CredentialsInput::AzureServicePrincipal { account, tenant_id, client_id, client_secret } => {
            check::azure_account("credentials.account", &account)?;
            check::guid("credentials.tenant_id", &tenant_id)?;
            check::guid("credentials.client_id", &client_id)?;
            check::secret_text("credentials.client_secret", client_secret.expose(), 1024)?;
            let s = secret("client_secret", client_secret);
            let credentials = Credentials::AzureServicePrincipal { account, tenant_id, client_id, client_secret: s.id };
            Checked { credentials, secrets: vec![s] }
        }
        CredentialsInput::AzureBroker { account, tenant_id } => {
            check::azure_account("credentials.account", &account)?;
            check::guid("credentials.tenant_id", &tenant_id)?;
            Checked { credentials: Credentials::AzureBroker { account, tenant_id }, secrets: Vec::new() }
        }
        CredentialsInput::Local => {
            if !cx.allow_local {
                return Err(check::rule(
                    "provider",
                    byob_core::rules::PROVIDER_LOCAL_DISABLED,
                    "local-directory integrations are for development; the operator has not enabled them",
                )
                .into());
            }
            Checked { credentials: Credentials::Local, secrets: Vec::new() }
        }
    };
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use byob_core::location::Region;

    use super::*;

    fn cx<'a>(
        provider: Provider,
        custom_endpoint: bool,
        region: Option<&'a Region>,
        features: &'a [Feature],
        allow_local: bool,
    ) -> Context<'a> {
        Context { provider, custom_endpoint, region, features, allow_local, now: Utc::now() }
    }

    fn rule(input: CredentialsInput, cx: &Context<'_>) -> Option<&'static str> {
        match check(input, cx) {
            Err(ServiceError::Rule(e)) => Some(e.rule),
            Err(other) => panic!("{other:?}"),
            Ok(_) => None,
        }
    }

    #[test]
    fn assume_role_works_through_a_private_endpoint_too() {
        let input = CredentialsInput::S3AssumeRole { role_arn: "arn:aws:iam::123456789012:role/byob".into() };
        assert_eq!(rule(input.clone(), &cx(Provider::S3, true, None, &[], false)), None);
        assert_eq!(rule(input, &cx(Provider::S3, false, None, &[], false)), None);
    }

    #[test]
    fn local_needs_the_operators_permission() {
        assert_eq!(
            rule(CredentialsInput::Local, &cx(Provider::Local, false, None, &[], false)),
            Some("provider-local-disabled")
        );
        assert_eq!(rule(CredentialsInput::Local, &cx(Provider::Local, false, None, &[], true)), None);
    }

    #[test]
    fn external_ids_are_fresh_128_bit_values() -> Result<(), ServiceError> {
        let a = new_external_id()?;
        assert_eq!(a.len(), "byob-".len() + 32);
        assert_ne!(a, new_external_id()?);
        Ok(())
    }

    #[test]
    fn sas_permissions_follow_the_features() {
        assert_eq!(byob_core::integration::sas_permissions_needed(&[Feature::Imports]), "rl");
        assert_eq!(byob_core::integration::sas_permissions_needed(&[Feature::Imports, Feature::Exports]), "rwl");
        assert_eq!(byob_core::integration::sas_permissions_needed(&[]), "rl");
    }
}
