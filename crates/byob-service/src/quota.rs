//! The operator's per-org limits, so one org cannot fill the shared job queue, the catalog or byob's own storage:
//! a request past a limit is refused with 429 `quota-exceeded`, naming the setting. (Two requests at the same
//! instant may both pass the check; the limit then holds from the next one.)

use byob_core::OrgId;
use byob_ports::catalog::Usage;

use crate::{Deps, ServiceError};

/// Limits per org (operator configuration, `quotas.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    pub exports_per_org: u64,
    pub imports_per_org: u64,
    pub webhooks_per_org: u64,
    /// Jobs waiting to run: loads, export and import runs.
    pub queued_jobs_per_org: u64,
    /// Bytes of uploads staged on the platform's default storage (byob's own disk or bucket).
    pub staged_bytes_per_org: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            exports_per_org: 200,
            imports_per_org: 200,
            webhooks_per_org: 25,
            queued_jobs_per_org: 100,
            staged_bytes_per_org: 100 * 1024 * 1024 * 1024,
        }
    }
}

impl Quotas {
    fn limit(&self, what: Usage) -> (u64, &'static str, &'static str) {
        match what {
            Usage::Exports => (self.exports_per_org, "quotas.exports_per_org", "exports"),
            Usage::Imports => (self.imports_per_org, "quotas.imports_per_org", "imports"),
            Usage::Webhooks => (self.webhooks_per_org, "quotas.webhooks_per_org", "webhook endpoints"),
            Usage::QueuedJobs => (self.queued_jobs_per_org, "quotas.queued_jobs_per_org", "queued jobs"),
            Usage::StagedBytes => {
                (self.staged_bytes_per_org, "quotas.staged_bytes_per_org", "bytes staged on the platform's storage")
            }
        }
    }
}

/// Refuses adding `adding` (1 for a record, the size for bytes) when the org would go past its limit.
pub(crate) async fn check(deps: &Deps, org: OrgId, what: Usage, adding: u64) -> Result<(), ServiceError> {
    let (limit, setting, noun) = deps.quotas.limit(what);
    let used = deps.catalog.org_usage(org, what).await?;
    if used.saturating_add(adding) <= limit {
        return Ok(());
    }
    Err(ServiceError::Refused {
        code: "quota-exceeded",
        message: format!(
            "the org holds {used} {noun} and may hold at most {limit} ({setting}); remove some, wait for queued work \
             to run, or ask the operator to raise the limit"
        ),
    })
}
