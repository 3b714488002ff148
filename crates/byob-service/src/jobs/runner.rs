//! The worker side of the queue: claim a job, run it while a heartbeat renews the lease and reports progress,
//! then record how it ended.

use std::time::Duration;

use byob_core::{
    JobId,
    job::{Job, JobError, JobState},
};
use serde_json::Value;

use super::{JobFailure, JobHandle};
use crate::{
    Deps, ServiceError,
    data::{ExportService, ImportService, Loads},
};

/// Operator settings for running jobs.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Name of this process in leases (host and pid, plus a random part).
    pub owner: String,
    /// How long a claim holds without renewal; a process that dies loses its jobs after this.
    pub lease: Duration,
    /// How often a running job renews its lease and saves its progress.
    pub heartbeat: Duration,
    /// First wait before a retry; doubled for each further attempt.
    pub retry_backoff: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            owner: format!("byob-{}-{}", std::process::id(), ulid::Ulid::new().to_string().to_ascii_lowercase()),
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(2),
            retry_backoff: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone)]
pub struct JobRunner {
    deps: Deps,
    settings: JobSettings,
    loads: Loads,
    exports: ExportService,
    imports: ImportService,
}

fn span(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::seconds(30))
}

impl JobRunner {
    #[must_use]
    pub(crate) fn new(
        deps: Deps,
        settings: JobSettings,
        loads: Loads,
        exports: ExportService,
        imports: ImportService,
    ) -> Self {
        Self { deps, settings, loads, exports, imports }
    }

    /// Claims one runnable job and runs it to its end; returns its id (its outcome is in the catalog), or
    /// `None` when there was none.
    ///
    /// # Errors
    /// Catalog errors while claiming or recording the outcome.
    pub async fn run_one(&self) -> Result<Option<JobId>, ServiceError> {
        let now = self.deps.clock.now();
        let owner = &self.settings.owner;
        let Some(job) = self.deps.catalog.claim_job(owner, now, now + span(self.settings.lease)).await? else {
            return Ok(None);
        };
        tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, "job claimed");
        let handle = JobHandle::new(job.progress.bytes_total);
        let outcome = if job.attempts > job.max_attempts {
            Err(JobFailure::new(
                "job-abandoned",
                format!(
                    "the job was interrupted {} times (its byob process stopped while it ran); start it again",
                    job.attempts - 1
                ),
            ))
        } else if job.cancel_requested {
            handle.stop(true);
            Err(JobFailure::new("cancelled", "cancelled before it started"))
        } else {
            self.run_with_heartbeat(&job, &handle).await
        };
        self.record(&job, &handle, outcome).await?;
        Ok(Some(job.id))
    }

    async fn run_with_heartbeat(&self, job: &Job, handle: &JobHandle) -> Result<Value, JobFailure> {
        let work = self.execute(job, handle);
        tokio::pin!(work);
        let mut ticker = tokio::time::interval(self.settings.heartbeat);
        ticker.tick().await;
        loop {
            tokio::select! {
                outcome = &mut work => return outcome,
                _ = ticker.tick() => {
                    let until = self.deps.clock.now() + span(self.settings.lease);
                    match self.deps.catalog.heartbeat_job(job.id, &self.settings.owner, until, &handle.progress()).await {
                        Ok(Some(false)) => {}
                        Ok(Some(true)) => handle.stop(true),
                        Ok(None) => {
                            tracing::warn!(job = %job.id, "lease lost; stopping");
                            handle.stop(false);
                        }
                        Err(e) => tracing::warn!(job = %job.id, error = %e, "could not renew the lease"),
                    }
                }
            }
        }
    }

    async fn execute(&self, job: &Job, handle: &JobHandle) -> Result<Value, JobFailure> {
        match job.kind.as_str() {
            "load" => self.loads.execute(job, handle).await,
            "export" => self.exports.execute(job, handle).await,
            "import" => self.imports.execute(job, handle).await,
            other => {
                Err(JobFailure::new("job-kind-unknown", format!("this byob does not know jobs of kind `{other}`")))
            }
        }
    }

    async fn record(
        &self,
        job: &Job,
        handle: &JobHandle,
        outcome: Result<Value, JobFailure>,
    ) -> Result<(), ServiceError> {
        let now = self.deps.clock.now();
        let progress = handle.progress();
        let owner = &self.settings.owner;
        let (state, result, error, at) = match outcome {
            Ok(mut result) => {
                // Which process ran it: visible proof that a job ran once, and where.
                result["worker"] = Value::String(owner.clone());
                (JobState::Succeeded, Some(result), None, now)
            }
            Err(f) => {
                let error = JobError { code: f.code.to_string(), message: f.message.clone() };
                if handle.cancelled() {
                    let error = JobError {
                        code: "cancelled".into(),
                        message: "cancelled on request; nothing was written".into(),
                    };
                    (JobState::Cancelled, f.detail, Some(error), now)
                } else if f.retryable && job.attempts < job.max_attempts {
                    let wait = self.settings.retry_backoff * 2u32.saturating_pow(job.attempts.saturating_sub(1));
                    tracing::warn!(job = %job.id, code = f.code, "attempt failed; retrying in {wait:?}");
                    (JobState::Queued, f.detail, Some(error), now + span(wait))
                } else {
                    (JobState::Failed, f.detail, Some(error), now)
                }
            }
        };
        let held =
            self.deps.catalog.finish_job(job.id, owner, state, &progress, result.as_ref(), error.as_ref(), at).await?;
        if held {
            tracing::info!(job = %job.id, state = state.as_str(), "job ended");
        } else {
            tracing::warn!(job = %job.id, "the job was taken over before it ended; its outcome is not recorded here");
        }
        Ok(())
    }

    /// Runs jobs until `shutdown` resolves, polling every `idle` when the queue is empty.
    pub async fn run_until(&self, idle: Duration, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let wait = match self.run_one().await {
                Ok(Some(_)) => Duration::ZERO,
                Ok(None) => idle,
                Err(e) => {
                    tracing::warn!(error = %e, "job queue unavailable");
                    idle
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}
