//! What a verification says: named checks, each with a status, its duration, the exact cause and the fix.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use byob_core::{integration::IntegrationState, redact::url_queries_in};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Passed,
    Failed,
    Warning,
    Skipped,
}

/// How to fix a failed check: what to do, and the setup artifact that holds the exact snippet.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Remediation {
    pub action: String,
    /// Name of the artifact in `…/setup` to apply (e.g. `iam-policy`, `trust-policy`).
    pub artifact: Option<String>,
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
}

/// The outcome of a check before it is timed.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub status: CheckStatus,
    pub message: String,
    pub remediation: Option<Remediation>,
}

/// Every message leaves without a URL's query string: errors of presigned requests quote their URL, signature
/// included.
impl Outcome {
    pub(crate) fn passed(message: impl Into<String>) -> Self {
        Self { status: CheckStatus::Passed, message: url_queries_in(message.into()), remediation: None }
    }

    pub(crate) fn failed(
        message: impl Into<String>,
        action: impl Into<String>,
        artifact: Option<&'static str>,
    ) -> Self {
        Self {
            status: CheckStatus::Failed,
            message: url_queries_in(message.into()),
            remediation: Some(Remediation { action: action.into(), artifact: artifact.map(str::to_string) }),
        }
    }

    pub(crate) fn warning(
        message: impl Into<String>,
        action: impl Into<String>,
        artifact: Option<&'static str>,
    ) -> Self {
        Self {
            status: CheckStatus::Warning,
            message: url_queries_in(message.into()),
            remediation: Some(Remediation { action: action.into(), artifact: artifact.map(str::to_string) }),
        }
    }

    pub(crate) fn skipped(reason: impl Into<String>) -> Self {
        Self { status: CheckStatus::Skipped, message: url_queries_in(reason.into()), remediation: None }
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
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == CheckStatus::Failed)
    }

    #[must_use]
    pub fn check(&self, name: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.name == name)
    }
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
            Outcome::failed(error, "fix", None),
            Outcome::warning(error, "fix", None),
            Outcome::skipped(error),
        ] {
            assert!(!outcome.message.contains("SECRET"), "{}", outcome.message);
            assert!(outcome.message.contains("https://acme.blob.core.windows.net/c/p?[redacted]"));
        }
    }
}
