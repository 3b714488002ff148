//! The operator's per-org limits, so one org cannot fill the shared job queue, the catalog or byob's own storage:
//! a request past a limit is refused with 429 `quota-exceeded`, naming the setting. (Two requests at the same
//! instant may both pass the check; the limit then holds from the next one.)

use byob_core::OrgId;
use byob_ports::catalog::Usage;

use crate::{Deps, ServiceError};

/// Limits per org: the operator's `quotas.*` settings as they are.
pub use byob_core::config::QuotasConfig as Quotas;

/// The limit on `what`, its setting and what it counts.
fn limit(quotas: &Quotas, what: Usage) -> (u64, &'static str, &'static str) {
    match what {
        Usage::Exports => (quotas.exports_per_org, "quotas.exports_per_org", "exports"),
        Usage::Imports => (quotas.imports_per_org, "quotas.imports_per_org", "imports"),
        Usage::Webhooks => (quotas.webhooks_per_org, "quotas.webhooks_per_org", "webhook endpoints"),
        Usage::QueuedJobs => (quotas.queued_jobs_per_org, "quotas.queued_jobs_per_org", "queued jobs"),
        Usage::StagedBytes => {
            (quotas.staged_bytes_per_org, "quotas.staged_bytes_per_org", "bytes staged on the platform's storage")
        }
    }
}

/// Refuses adding `adding` (1 for a record, the size for bytes) when the org would go past its limit.
pub(crate) async fn check(deps: &Deps, org: OrgId, what: Usage, adding: u64) -> Result<(), ServiceError> {
    let (limit, setting, noun) = limit(&deps.quotas, what);
    let used = deps.catalog.org_usage(org, what).await?;
    if used.saturating_add(adding) <= limit {
        return Ok(());
    }
    Err(ServiceError::Refused {
        code: byob_core::codes::QUOTA_EXCEEDED,
        message: format!(
            "the org holds {used} {noun} and may hold at most {limit} ({setting}); remove some, wait for queued work \
             to run, or ask the operator to raise the limit"
        ),
    })
}
