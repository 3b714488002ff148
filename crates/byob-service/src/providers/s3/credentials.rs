//! The S3 modes' input: a role byob assumes (with an external id byob generates), or an access key.

use byob_core::{
    integration::Credentials,
    location::{FieldError, RoleArn},
};

use crate::{
    ServiceError,
    providers::{Checked, CredentialContext, CredentialsInput, NewSecret, new_external_id, secret_text},
};

pub(super) fn check(input: CredentialsInput, cx: &CredentialContext<'_>) -> Result<Checked, ServiceError> {
    match input {
        CredentialsInput::S3AssumeRole { role_arn } => {
            // A custom endpoint is allowed: a private (VPC) S3 endpoint works with STS like AWS's own; a store with
            // no STS behind it fails verification's `credentials-obtain` with STS's own reason.
            let arn = RoleArn::parse("credentials.role_arn", &role_arn)?;
            if let Some(region) = cx.region
                && region.aws_partition() != arn.partition()
            {
                return Err(FieldError::new(
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
            Ok(Checked::inline(Credentials::S3AssumeRole {
                role_arn,
                external_id: new_external_id()?,
                pending_external_id: None,
            }))
        }
        CredentialsInput::S3AccessKey { access_key_id: id, secret_access_key } => {
            access_key_id(cx.custom_endpoint, &id)?;
            secret_text("credentials.secret_access_key", secret_access_key.expose(), 256)?;
            let s = NewSecret::new("secret_access_key", secret_access_key);
            Ok(Checked {
                credentials: Credentials::S3AccessKey { access_key_id: id, secret_access_key: s.id },
                secrets: vec![s],
            })
        }
        other => Err(crate::providers::mode_of_another_provider(&other)),
    }
}

/// AWS's own key ids are 20 characters (`AKIA…`, `ASIA…`); an S3-compatible store's may be anything printable.
fn access_key_id(custom_endpoint: bool, text: &str) -> Result<(), FieldError> {
    let field = "credentials.access_key_id";
    let aws = text.len() == 20
        && (text.starts_with("AKIA") || text.starts_with("ASIA"))
        && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let other = (3..=128).contains(&text.len()) && text.chars().all(|c| c.is_ascii_graphic());
    if custom_endpoint && other || aws {
        return Ok(());
    }
    Err(FieldError::new(
        field,
        byob_core::rules::ACCESS_KEY_ID_FORMAT,
        if custom_endpoint {
            "3-128 printable characters".to_string()
        } else {
            "an AWS access key id is 20 characters starting with AKIA (or ASIA)".to_string()
        },
    ))
}

#[cfg(test)]
mod tests {
    use byob_core::location::Provider;
    use chrono::Utc;

    use super::*;

    #[test]
    fn assume_role_works_through_a_private_endpoint_too() {
        let input = CredentialsInput::S3AssumeRole { role_arn: "arn:aws:iam::123456789012:role/byob".into() };
        for custom_endpoint in [true, false] {
            let cx = CredentialContext {
                provider: Provider::S3,
                custom_endpoint,
                region: None,
                features: &[],
                allow_local: false,
                now: Utc::now(),
            };
            assert!(check(input.clone(), &cx).is_ok());
        }
    }

    #[test]
    fn access_key_ids() {
        assert!(access_key_id(false, "AKIAIOSFODNN7EXAMPLE").is_ok());
        assert_eq!(access_key_id(false, "minioadmin").err().map(|e| e.rule), Some("access-key-id-format"));
        assert!(access_key_id(true, "minioadmin").is_ok());
    }
}
