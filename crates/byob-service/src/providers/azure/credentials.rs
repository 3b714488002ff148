//! The Azure modes' input: a SAS (its permissions and expiry read from it), an account key, a service principal,
//! or byob's own per-org application (the broker).

use base64::{Engine, engine::general_purpose::STANDARD};
use byob_core::{
    Sensitive,
    integration::{Credentials, Feature},
    location::{FieldError, SasToken},
};

use crate::{
    ServiceError,
    providers::{
        Checked, CredentialContext, CredentialsInput, MAX_SECRET_BYTES, NewSecret, mode_of_another_provider,
        secret_text,
    },
};

pub(super) fn check(input: CredentialsInput, cx: &CredentialContext<'_>) -> Result<Checked, ServiceError> {
    match input {
        CredentialsInput::AzureSas { account, sas_token } => {
            account_name("credentials.account", &account)?;
            secret_text("credentials.sas_token", sas_token.expose(), MAX_SECRET_BYTES)?;
            let sas = SasToken::parse("credentials.sas_token", sas_token.expose(), cx.now)?;
            sas_serves_features("credentials.sas_token", &sas.permissions, cx.features)?;
            let mut s = NewSecret::new("sas_token", Sensitive::new(sas.query.expose().clone()));
            s.expires_at = Some(sas.expiry);
            let credentials = Credentials::AzureSas {
                account,
                permissions: sas.permissions,
                expires_at: sas.expiry,
                sas_token: s.id,
            };
            Ok(Checked { credentials, secrets: vec![s] })
        }
        CredentialsInput::AzureSharedKey { account, account_key } => {
            account_name("credentials.account", &account)?;
            account_key_format("credentials.account_key", account_key.expose())?;
            let s = NewSecret::new("account_key", account_key);
            Ok(Checked { credentials: Credentials::AzureSharedKey { account, account_key: s.id }, secrets: vec![s] })
        }
        CredentialsInput::AzureServicePrincipal { account, tenant_id, client_id, client_secret } => {
            account_name("credentials.account", &account)?;
            guid("credentials.tenant_id", &tenant_id)?;
            guid("credentials.client_id", &client_id)?;
            secret_text("credentials.client_secret", client_secret.expose(), 1024)?;
            let s = NewSecret::new("client_secret", client_secret);
            let credentials = Credentials::AzureServicePrincipal { account, tenant_id, client_id, client_secret: s.id };
            Ok(Checked { credentials, secrets: vec![s] })
        }
        CredentialsInput::AzureBroker { account, tenant_id } => {
            account_name("credentials.account", &account)?;
            guid("credentials.tenant_id", &tenant_id)?;
            Ok(Checked::inline(Credentials::AzureBroker { account, tenant_id }))
        }
        other => Err(mode_of_another_provider(&other)),
    }
}

/// Refuses features a SAS granting `granted` cannot serve (an update adding uploads to a read-only SAS, as much
/// as a create); `field` is what the caller changed.
pub(super) fn sas_serves_features(field: &str, granted: &str, features: &[Feature]) -> Result<(), ServiceError> {
    let missing: String =
        byob_core::integration::sas_permissions_needed(features).chars().filter(|p| !granted.contains(*p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(FieldError::new(
        field,
        byob_core::rules::SAS_PERMISSIONS_FOR_FEATURES,
        format!(
            "the SAS lacks permission(s) `{missing}` that the enabled features need (it grants `{granted}`); give a \
             SAS that grants them, or leave those features off"
        ),
    )
    .into())
}

fn account_name(field: &str, name: &str) -> Result<(), FieldError> {
    if (3..=24).contains(&name.len()) && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Ok(());
    }
    Err(FieldError::new(
        field,
        byob_core::rules::AZURE_ACCOUNT_NAME,
        "a storage account name has 3-24 lowercase letters and digits",
    ))
}

fn account_key_format(field: &str, key: &str) -> Result<(), FieldError> {
    match STANDARD.decode(key.trim()) {
        Ok(bytes) if bytes.len() == 64 => Ok(()),
        _ => Err(FieldError::new(
            field,
            byob_core::rules::AZURE_ACCOUNT_KEY,
            "an account key is the 88-character base64 value from the portal",
        )),
    }
}

fn guid(field: &str, text: &str) -> Result<(), FieldError> {
    let groups: Vec<&str> = text.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups.iter().zip(lens).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            byob_core::rules::AZURE_GUID,
            "must be a GUID such as `72f988bf-86f1-41af-91ab-2d7cd011db47`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_rules() {
        assert_eq!(account_name("a", "My_Account").err().map(|e| e.rule), Some("azure-account-name"));
        assert_eq!(account_key_format("k", "c2hvcnQ=").err().map(|e| e.rule), Some("azure-account-key"));
        assert_eq!(guid("g", "not-a-guid").err().map(|e| e.rule), Some("azure-guid"));
        assert!(guid("g", "72f988bf-86f1-41af-91ab-2d7cd011db47").is_ok());
    }

    #[test]
    fn sas_permissions_follow_the_features() {
        assert_eq!(byob_core::integration::sas_permissions_needed(&[Feature::Imports]), "rl");
        assert_eq!(byob_core::integration::sas_permissions_needed(&[Feature::Imports, Feature::Exports]), "rwl");
        assert_eq!(byob_core::integration::sas_permissions_needed(&[]), "rl");
        assert!(sas_serves_features("f", "rl", &[Feature::Exports]).is_err());
    }
}
