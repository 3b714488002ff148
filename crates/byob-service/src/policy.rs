//! What the operator allows integrations to do, and who byob is on each cloud.

use byob_core::location::HttpPolicy;

use crate::{ServiceError, artifacts::ByobIdentity};

/// What the operator allows integrations to do, and who byob is on each cloud.
#[derive(Debug, Clone, Default)]
pub struct IntegrationPolicy {
    /// Whether custom endpoints may use plain http (emulators, local S3-compatible stores).
    pub http_endpoints: HttpPolicy,
    /// Whether the `local` provider (a directory on byob's host) may be used: development only.
    pub allow_local: bool,
    /// byob's own identities, shown in setup artifacts.
    pub identity: ByobIdentity,
    /// byob-side Google service accounts, one per org (byob's own key may impersonate each).
    pub gcp_org_accounts: Vec<String>,
    /// Endpoints besides Google's to which tokens minted for a customer's account may be sent.
    pub gcp_token_endpoints: Vec<String>,
    /// byob's own Entra ID applications, one per org (`azure_broker`).
    pub azure_broker_apps: Vec<byob_core::config::AzureBrokerApp>,
}

/// Google's storage endpoint, where impersonated tokens may always go.
pub(crate) const GOOGLE_STORAGE: &str = "https://storage.googleapis.com";

impl IntegrationPolicy {
    /// Refuses an endpoint that tokens minted for a customer's account may not be sent to: Google's own, or one
    /// the operator allowed (a private endpoint, an emulator), never a tenant's choice.
    pub(crate) fn check_token_endpoint(&self, endpoint: Option<&str>) -> Result<(), ServiceError> {
        match endpoint {
            None => Ok(()),
            Some(e) if e.trim_end_matches('/') == GOOGLE_STORAGE => Ok(()),
            Some(e) if self.gcp_token_endpoints.iter().any(|a| a.trim_end_matches('/') == e.trim_end_matches('/')) => {
                Ok(())
            }
            Some(e) => Err(ServiceError::Refused {
                code: byob_core::codes::ENDPOINT_NOT_ALLOWED,
                message: format!(
                    "impersonated tokens go to Google's endpoint or one the operator allows \
                     (integrations.gcp_token_endpoints); `{e}` is neither"
                ),
            }),
        }
    }
}
