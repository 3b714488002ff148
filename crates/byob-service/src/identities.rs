//! Identities bound to one org (the fix for a confused deputy): byob never lends its own cloud identity to an
//! org that could name another org's resources.
//!
//! - Google: each org gets its own byob-side service account from the operator's pool
//!   (`integrations.gcp_org_service_accounts`), which byob's own key may impersonate. A customer's account trusts
//!   that identity only, and byob mints the customer's tokens through it (a delegation chain), so org A naming
//!   org B's account gets nothing. A customer account named by one org is refused to every other.
//! - Identities are never reassigned, not even after their org is deleted: a customer who trusted one org's
//!   identity must never find it serving another org.

use byob_core::OrgId;

use crate::{Deps, ServiceError};

/// The byob-side Google service account an org's customers trust.
pub(crate) const GCP_ORG_IDENTITY: &str = "gcp-org-identity";
/// byob's own Entra ID application serving an org (its client id).
pub(crate) const AZURE_BROKER_APP: &str = "azure-broker-app";
/// A customer's Google service account, named by one org.
pub(crate) const GCP_CUSTOMER_ACCOUNT: &str = "gcp-customer-account";

/// The org's identity of `kind`, taking the next free one from `pool` the first time.
///
/// # Errors
/// `credential-mode-unavailable` when the operator provisioned no pool; `identity-pool-exhausted` when every
/// identity is taken.
pub(crate) async fn org_identity(
    deps: &Deps,
    org: OrgId,
    kind: &str,
    pool: &[String],
    setting: &str,
) -> Result<String, ServiceError> {
    if let Some(identity) = deps.catalog.org_identity(kind, org).await? {
        return Ok(identity);
    }
    if pool.is_empty() {
        return Err(ServiceError::Refused {
            code: byob_core::codes::CREDENTIAL_MODE_UNAVAILABLE,
            message: format!("the operator has not provisioned per-org identities for this mode ({setting})"),
        });
    }
    let now = deps.clock.now();
    for candidate in pool {
        if deps.catalog.claim_identity(kind, candidate, org, now).await? == org {
            return Ok(candidate.clone());
        }
    }
    Err(ServiceError::Refused {
        code: byob_core::codes::IDENTITY_POOL_EXHAUSTED,
        message: format!("every per-org identity ({setting}) is taken; ask the operator to provision more"),
    })
}

/// Binds a customer account to the org, refusing one another org named first.
///
/// # Errors
/// `identity-in-use`.
pub(crate) async fn claim_customer_account(
    deps: &Deps,
    org: OrgId,
    kind: &str,
    account: &str,
) -> Result<(), ServiceError> {
    let holder = deps.catalog.claim_identity(kind, account, org, deps.clock.now()).await?;
    if holder == org {
        Ok(())
    } else {
        Err(ServiceError::Refused {
            code: byob_core::codes::IDENTITY_IN_USE,
            message: format!(
                "`{account}` is already used by another organization; each customer account serves one org"
            ),
        })
    }
}

/// The org's own Entra ID application (client id and secret), assigned from the operator's list on first use.
///
/// # Errors
/// As [`org_identity`].
pub(crate) async fn azure_broker_app(
    deps: &Deps,
    org: OrgId,
) -> Result<byob_core::config::AzureBrokerApp, ServiceError> {
    let apps = &deps.integrations.azure_broker_apps;
    let pool: Vec<String> = apps.iter().map(|a| a.client_id.clone()).collect();
    let client_id = org_identity(deps, org, AZURE_BROKER_APP, &pool, "integrations.azure_broker_apps").await?;
    apps.iter().find(|a| a.client_id == client_id).cloned().ok_or_else(|| ServiceError::Refused {
        code: byob_core::codes::CREDENTIAL_MODE_UNAVAILABLE,
        message: format!(
            "the org's application `{client_id}` is no longer configured (integrations.azure_broker_apps)"
        ),
    })
}
