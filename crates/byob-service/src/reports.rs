//! What a verification says: named checks, each with a status, its duration, the exact cause and the fix; and
//! the stored reports, which feature routing reads too (so routing does not depend on verification itself).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use byob_core::{IntegrationId, OrgId, integration::IntegrationState, redact::url_queries_in};

use crate::{Deps, ServiceError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Passed,
    Failed,
    Warning,
    Skipped,
}

/// How to fix a failed check: what to do, the setup artifact that holds it, and the exact part to add.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Remediation {
    pub action: String,
    /// Name of the artifact in `…/setup` to apply (e.g. `iam-policy`, `trust-policy`); always one this
    /// integration's setup contains. Absent when the fix is only the `action` (a store byob emits nothing for).
    pub artifact: Option<String>,
    /// The exact statement, binding, grant or rule to add, as the artifact holds it (or, where the setup has no
    /// artifact for this store, as byob would write it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub statement: Option<Value>,
}

/// A failure that other checks depend on: those are skipped with it rather than failing for the same cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RootCause {
    /// byob's credentials themselves were refused (impersonation, the role) while the checks ran.
    CredentialsRefused,
    /// The bucket (container) does not exist.
    BucketMissing,
    /// byob may not write under the prefix.
    WriteRefused,
    /// The bucket is in another region than configured.
    RegionMismatch,
}

/// One named check (`<subject>-<predicate>`, listed in docs/verification.md).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckResult {
    pub name: String,
    pub status: CheckStatus,
    pub duration_ms: u64,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    /// For an unexpected error inside byob: the id under which it was logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
    /// Set on a failure other checks depend on; never stored or shown.
    #[serde(skip)]
    #[schema(ignore)]
    pub(crate) cause: Option<RootCause>,
}

/// The outcome of a check before it is timed.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub status: CheckStatus,
    pub message: String,
    pub remediation: Option<Remediation>,
    pub cause: Option<RootCause>,
}

/// A fix: what to do, and where byob's setup holds it. Built by `Subject::fix` and `Needed` so that an artifact
/// named is always one of the integration's own; a plain text is an inline instruction.
#[derive(Debug, Clone)]
pub(crate) struct Fix(pub(crate) Remediation);

impl From<&str> for Fix {
    fn from(action: &str) -> Self {
        Self(Remediation { action: action.to_string(), artifact: None, statement: None })
    }
}

impl From<String> for Fix {
    fn from(action: String) -> Self {
        Self(Remediation { action, artifact: None, statement: None })
    }
}

/// Every message leaves without a URL's query string: errors of presigned requests quote their URL, signature
/// included.
impl Outcome {
    pub(crate) fn passed(message: impl Into<String>) -> Self {
        Self { status: CheckStatus::Passed, message: url_queries_in(message.into()), remediation: None, cause: None }
    }

    pub(crate) fn failed(message: impl Into<String>, fix: impl Into<Fix>) -> Self {
        Self {
            status: CheckStatus::Failed,
            message: url_queries_in(message.into()),
            remediation: Some(fix.into().0),
            cause: None,
        }
    }

    pub(crate) fn warning(message: impl Into<String>, fix: impl Into<Fix>) -> Self {
        Self {
            status: CheckStatus::Warning,
            message: url_queries_in(message.into()),
            remediation: Some(fix.into().0),
            cause: None,
        }
    }

    pub(crate) fn skipped(reason: impl Into<String>) -> Self {
        Self { status: CheckStatus::Skipped, message: url_queries_in(reason.into()), remediation: None, cause: None }
    }

    /// Marks a failure the checks that need it are skipped with.
    pub(crate) fn because(mut self, cause: RootCause) -> Self {
        self.cause = Some(cause);
        self
    }
}

/// What started a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// An admin asked (API or CLI).
    Manual,
    /// The health monitor's schedule.
    Monitor,
}

/// A verification run of one integration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VerificationReport {
    pub id: String,
    pub trigger: Trigger,
    pub integration: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub state_before: IntegrationState,
    pub state_after: IntegrationState,
    pub checks: Vec<CheckResult>,
}

impl VerificationReport {
    #[must_use]
    pub fn check(&self, name: &str) -> Option<&CheckResult> {
        check_named(&self.checks, name)
    }
}

/// The check of that name in a report's list.
pub(crate) fn check_named<'a>(checks: &'a [CheckResult], name: &str) -> Option<&'a CheckResult> {
    checks.iter().find(|c| c.name == name)
}

/// The checks that changed between held (passed or warned) and failed since the previous report, with the event
/// each transition emits: `check-drifted` or `check-recovered`, once per transition.
pub(crate) fn transitions<'a>(now: &'a [CheckResult], before: &[CheckResult]) -> Vec<(&'static str, &'a CheckResult)> {
    let held = |s: CheckStatus| matches!(s, CheckStatus::Passed | CheckStatus::Warning);
    now.iter()
        .filter_map(|check| {
            let previous = check_named(before, &check.name)?;
            match (previous.status, check.status) {
                (b, CheckStatus::Failed) if held(b) => Some((byob_core::event::CHECK_DRIFTED, check)),
                (CheckStatus::Failed, n) if held(n) => Some((byob_core::event::CHECK_RECOVERED, check)),
                _ => None,
            }
        })
        .collect()
}

/// The latest reports of an integration, newest first.
pub(crate) async fn stored_reports(
    deps: &Deps,
    org: OrgId,
    id: IntegrationId,
    limit: u32,
) -> Result<Vec<VerificationReport>, ServiceError> {
    deps.catalog
        .list_verifications(org, id, limit)
        .await?
        .into_iter()
        .map(|value| {
            serde_json::from_value(value).map_err(|e| {
                ServiceError::Catalog(byob_ports::catalog::CatalogError::Corrupt(format!("verification report: {e}")))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Errors of byob's own HTTP calls quote the URL they called; a presigned URL's signature or a SAS must not
    /// reach the report.
    #[test]
    fn outcomes_never_carry_a_url_query() {
        let error = "error sending request for url (https://acme.blob.core.windows.net/c/p?sv=2023&sig=SECRET)";
        for outcome in [
            Outcome::passed(error),
            Outcome::failed(error, "fix"),
            Outcome::warning(error, "fix"),
            Outcome::skipped(error),
        ] {
            assert!(!outcome.message.contains("SECRET"), "{}", outcome.message);
            assert!(outcome.message.contains("https://acme.blob.core.windows.net/c/p?[redacted]"));
        }
    }
}
