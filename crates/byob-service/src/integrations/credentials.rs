//! Checking a credential input: the mode must be one of the integration's provider's, whose module checks the
//! rest and splits it into what is stored (identities inline, secret values as secrets the integration owns).

use byob_core::location::FieldError;

use crate::{
    ServiceError,
    providers::{self, Checked, CredentialContext, CredentialsInput},
};

pub(super) fn check(input: CredentialsInput, cx: &CredentialContext<'_>) -> Result<Checked, ServiceError> {
    let module = providers::of(cx.provider);
    if !module.takes(&input) {
        let Some(owner) = providers::taking(&input) else {
            return Err(providers::mode_of_another_provider(&input));
        };
        return Err(FieldError::new(
            "credentials.mode",
            byob_core::rules::CREDENTIALS_MODE_PROVIDER,
            format!("this mode is for {}, but the integration's provider is {}", owner.as_str(), cx.provider.as_str()),
        )
        .into());
    }
    module.check_credentials(input, cx)
}

#[cfg(test)]
mod tests {
    use byob_core::location::Provider;
    use chrono::Utc;

    use super::*;

    fn cx(provider: Provider, allow_local: bool) -> CredentialContext<'static> {
        CredentialContext {
            provider,
            custom_endpoint: false,
            region: None,
            features: &[],
            allow_local,
            now: Utc::now(),
        }
    }

    fn rule(input: CredentialsInput, cx: &CredentialContext<'_>) -> Option<&'static str> {
        match check(input, cx) {
            Err(ServiceError::Rule(e)) => Some(e.rule),
            Err(other) => panic!("{other:?}"),
            Ok(_) => None,
        }
    }

    #[test]
    fn local_needs_the_operators_permission() {
        assert_eq!(rule(CredentialsInput::Local, &cx(Provider::Local, false)), Some("provider-local-disabled"));
        assert_eq!(rule(CredentialsInput::Local, &cx(Provider::Local, true)), None);
    }

    #[test]
    fn a_mode_belongs_to_one_provider() {
        let input = CredentialsInput::GcsImpersonation { service_account: "byob@acme.iam.gserviceaccount.com".into() };
        assert_eq!(rule(input.clone(), &cx(Provider::S3, false)), Some("credentials-mode-provider"));
        assert_eq!(rule(input, &cx(Provider::Gcs, false)), None);
    }
}
