//! Durable jobs: created by a use case (a load), claimed by any byob process sharing the catalog, run under a
//! renewed lease, retried after transient failures, and taken over when their process dies.

mod handle;
mod runner;

use byob_core::{
    AuditOutcome, JobId, OrgId,
    job::{Job, JobState, Progress},
};
use serde_json::{Value, json};

pub(crate) use handle::JobFailure;
pub use handle::JobHandle;
pub(crate) use runner::JobKinds;
pub use runner::{JobRunner, JobSettings};

use crate::{Access, Auditor, Deps, RequestContext, ServiceError};

/// Attempts a job gets in all: the first, and retries after transient failures or a crash.
pub const MAX_ATTEMPTS: u32 = 3;

/// A new job of `kind`, queued to run at once, not yet stored.
pub(crate) fn queued_job(
    ctx: &RequestContext,
    org: OrgId,
    kind: &str,
    spec: Value,
    bytes_total: Option<u64>,
    now: chrono::DateTime<chrono::Utc>,
) -> Job {
    Job {
        id: JobId::generate(),
        org_id: org,
        kind: kind.to_string(),
        state: JobState::Queued,
        spec,
        progress: Progress { bytes_total, ..Progress::default() },
        result: None,
        error: None,
        attempts: 0,
        max_attempts: MAX_ATTEMPTS,
        cancel_requested: false,
        lease_owner: None,
        lease_until: None,
        run_after: now,
        created_by: ctx.actor().key(),
        created_at: now,
        started_at: None,
        finished_at: None,
        commit_record: None,
    }
}

#[derive(Debug, Clone)]
pub struct JobService {
    deps: Deps,
    auditor: Auditor,
}

impl JobService {
    #[must_use]
    pub fn new(deps: Deps, auditor: Auditor) -> Self {
        Self { deps, auditor }
    }

    async fn member(&self, ctx: &RequestContext, org: OrgId) -> Result<(), ServiceError> {
        crate::tenancy::authorize(&self.deps, ctx, org, Access::Member).await
    }

    /// Queues a job of `kind` (the caller has checked access and audited the request).
    pub(crate) async fn enqueue(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        kind: &str,
        spec: Value,
        bytes_total: Option<u64>,
    ) -> Result<Job, ServiceError> {
        crate::quota::check(&self.deps, org, byob_ports::catalog::Usage::QueuedJobs, 1).await?;
        let job = queued_job(ctx, org, kind, spec, bytes_total, self.deps.clock.now());
        self.deps.catalog.insert_job(&job).await?;
        Ok(job)
    }

    /// # Errors
    /// Not a member; not found.
    pub async fn get(&self, ctx: &RequestContext, org: OrgId, id: JobId) -> Result<Job, ServiceError> {
        self.member(ctx, org).await?;
        self.deps
            .catalog
            .get_job(org, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::JOB_NOT_FOUND, id))
    }

    /// Newest first.
    ///
    /// # Errors
    /// Not a member; catalog errors.
    pub async fn list(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        state: Option<JobState>,
        limit: u32,
    ) -> Result<Vec<Job>, ServiceError> {
        self.member(ctx, org).await?;
        Ok(self.deps.catalog.list_jobs(org, state, limit).await?)
    }

    /// Cancels a queued job at once; a running one stops at its next progress report, leaving nothing behind.
    ///
    /// # Errors
    /// Not a member; not found; `job-finished` for a job that already ended.
    pub async fn cancel(&self, ctx: &RequestContext, org: OrgId, id: JobId) -> Result<Job, ServiceError> {
        self.member(ctx, org).await?;
        let job = self
            .deps
            .catalog
            .get_job(org, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::JOB_NOT_FOUND, id))?;
        if job.state.is_final() {
            return Err(ServiceError::Refused {
                code: byob_core::codes::JOB_FINISHED,
                message: format!("job `{id}` already ended ({}); there is nothing to cancel", job.state.as_str()),
            });
        }
        let now = self.deps.clock.now();
        let job = self
            .deps
            .catalog
            .cancel_job(org, id, now)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::JOB_NOT_FOUND, id))?;
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::JOB_CANCEL,
                Some(id.to_string()),
                AuditOutcome::Success,
                json!({ "kind": job.kind }),
            )
            .await?;
        Ok(job)
    }
}
