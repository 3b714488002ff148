//! What connecting to an integration's store needs from the operator and the request: presign limits, byob's own
//! cloud identities, the secrets the integration owns (revealed for this request, audited as `secret.use`).

use byob_core::{OrgId, SecretId, Sensitive};
use byob_ports::storage::{ClientPolicy, StorageClient, StsSettings};

use crate::{Auditor, Deps, RequestContext, ServiceError};

/// Operator settings for reaching buckets.
#[derive(Debug, Clone)]
pub struct StorageSettings {
    pub presign: ClientPolicy,
    /// byob's own AWS principal, for assume-role integrations.
    pub sts: Option<StsSettings>,
    /// The platform-owned storage for orgs without an integration.
    pub default_storage: StorageClient,
    pub default_ttl_hours: u32,
    /// The Entra ID authority for Azure service principals, when not the public cloud's.
    pub azure_authority_host: Option<String>,
    /// byob's own Google identity, for impersonation integrations.
    pub gcp_identity: Option<GcpIdentity>,
}

/// byob's own Google service account (operator configuration).
#[derive(Debug, Clone)]
pub struct GcpIdentity {
    pub key: Sensitive<String>,
    pub iam_credentials_endpoint: Option<String>,
}

/// One connection's view of byob: its dependencies, the operator's settings, and the request on whose behalf
/// secrets are revealed.
pub(crate) struct Connector<'a> {
    pub deps: &'a Deps,
    pub settings: &'a StorageSettings,
    pub auditor: &'a Auditor,
    pub ctx: &'a RequestContext,
}

impl Connector<'_> {
    /// A secret the integration owns, for this connection.
    ///
    /// # Errors
    /// The secret is missing or cannot be opened.
    pub(crate) async fn reveal(&self, org: OrgId, id: SecretId) -> Result<Sensitive<String>, ServiceError> {
        crate::secrets::reveal_owned(self.deps, self.auditor, self.ctx, org, id).await
    }

    pub(crate) fn presign(&self) -> ClientPolicy {
        self.settings.presign
    }
}
