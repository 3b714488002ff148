//! The GCS modes' input: a service account key, or a service account byob impersonates through the org's own
//! identity.

use byob_core::{
    integration::Credentials,
    location::{FieldError, ServiceAccountKey},
};

use crate::{
    ServiceError,
    providers::{Checked, CredentialsInput, MAX_SECRET_BYTES, NewSecret, mode_of_another_provider, secret_text},
};

pub(super) fn check(input: CredentialsInput) -> Result<Checked, ServiceError> {
    match input {
        CredentialsInput::GcsServiceAccountKey { key } => {
            secret_text("credentials.key", key.expose(), MAX_SECRET_BYTES)?;
            let parsed = ServiceAccountKey::parse("credentials.key", key.expose())?;
            let s = NewSecret::new("key", key);
            Ok(Checked {
                credentials: Credentials::GcsServiceAccountKey { client_email: parsed.client_email, key: s.id },
                secrets: vec![s],
            })
        }
        CredentialsInput::GcsImpersonation { service_account } => {
            impersonated_account(&service_account)?;
            Ok(Checked::inline(Credentials::GcsImpersonation { service_account }))
        }
        other => Err(mode_of_another_provider(&other)),
    }
}

fn impersonated_account(text: &str) -> Result<(), FieldError> {
    let ok = text.split_once('@').is_some_and(|(name, domain)| {
        !name.is_empty() && domain.ends_with(".iam.gserviceaccount.com") && !text.chars().any(char::is_whitespace)
    });
    if ok {
        return Ok(());
    }
    Err(FieldError::new(
        "credentials.service_account",
        byob_core::rules::SERVICE_ACCOUNT_EMAIL,
        "a service account is `NAME@PROJECT.iam.gserviceaccount.com`",
    ))
}

/// A Cloud KMS key name: `projects/P/locations/L/keyRings/R/cryptoKeys/K`.
pub(super) fn kms_key(text: &str) -> Result<String, FieldError> {
    let parts: Vec<&str> = text.split('/').collect();
    let shape = parts.len() == 8
        && parts[0] == "projects"
        && parts[2] == "locations"
        && parts[4] == "keyRings"
        && parts[6] == "cryptoKeys"
        && parts.iter().all(|p| !p.is_empty());
    if !shape {
        return Err(FieldError::new(
            "kms_key",
            byob_core::rules::KMS_KEY_FORMAT,
            "a Cloud KMS key is `projects/P/locations/L/keyRings/R/cryptoKeys/K`",
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impersonated_accounts_are_service_accounts() {
        assert_eq!(impersonated_account("byob@gmail.com").err().map(|e| e.rule), Some("service-account-email"));
        assert!(impersonated_account("byob@acme.iam.gserviceaccount.com").is_ok());
    }

    #[test]
    fn cloud_kms_key_names() {
        assert_eq!(kms_key("my-key").err().map(|e| e.rule), Some("kms-key-format"));
        assert!(kms_key("projects/p/locations/eu/keyRings/r/cryptoKeys/k").is_ok());
    }
}
