//! The worker side of the queue: claim a job, run it while a heartbeat renews the lease and reports progress,
//! then record how it ended.

use std::time::Duration;

use byob_core::{
    JobId,
    job::{Job, JobError, JobState},
};
use serde_json::Value;
use tokio::sync::watch;

use super::{JobFailure, JobHandle};
use crate::{
    Deps, ServiceError,
    data::{AssetService, AttachmentService, ExportService, ImportService, Loads, MigrationService},
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
    /// How long one attempt may run before it is stopped (`job-deadline`).
    pub deadline: Duration,
    /// How long stopped work (cancelled, past its deadline, shutting down) gets to end on its own before it is
    /// dropped: a statement that does not return is abandoned, which closes its connection.
    pub stop_grace: Duration,
    /// Jobs of one org running at once, across every process sharing the catalog: no org takes every worker.
    pub max_running_per_org: u32,
}

/// What the heartbeat reports to the job it renews.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Beat {
    CancelRequested,
    /// Another process took the job over.
    LeaseLost,
}

/// Stops a spawned task when its owner returns.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why the runner stopped a job's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopReason {
    /// A cancel was requested, or another process took the job over.
    Requested,
    Deadline,
    Shutdown,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            owner: format!("byob-{}-{}", std::process::id(), ulid::Ulid::new().to_string().to_ascii_lowercase()),
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(2),
            retry_backoff: Duration::from_secs(5),
            deadline: Duration::from_secs(6 * 3600),
            // Long enough for stopped work to clean up after itself (an export deletes what it wrote).
            stop_grace: Duration::from_secs(10),
            max_running_per_org: 1,
        }
    }
}

/// The use cases whose work runs as jobs, one per kind.
#[derive(Debug, Clone)]
pub(crate) struct JobKinds {
    pub(crate) loads: Loads,
    pub(crate) exports: ExportService,
    pub(crate) imports: ImportService,
    pub(crate) attachments: AttachmentService,
    pub(crate) assets: AssetService,
    pub(crate) migrations: MigrationService,
}

#[derive(Debug, Clone)]
pub struct JobRunner {
    deps: Deps,
    settings: JobSettings,
    kinds: JobKinds,
}

fn span(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::seconds(30))
}

impl JobRunner {
    #[must_use]
    pub(crate) fn new(deps: Deps, settings: JobSettings, kinds: JobKinds) -> Self {
        Self { deps, settings, kinds }
    }

    /// Claims one runnable job and runs it to its end; returns its id (its outcome is in the catalog), or
    /// `None` when there was none.
    ///
    /// # Errors
    /// Catalog errors while claiming or recording the outcome.
    pub async fn run_one(&self) -> Result<Option<JobId>, ServiceError> {
        let (_never, shutdown) = tokio::sync::watch::channel(false);
        self.run_one_until(shutdown).await
    }

    async fn run_one_until(&self, shutdown: watch::Receiver<bool>) -> Result<Option<JobId>, ServiceError> {
        let now = self.deps.clock.now();
        let owner = &self.settings.owner;
        let lease_until = now + span(self.settings.lease);
        let per_org = self.settings.max_running_per_org.max(1);
        let Some(job) = self.deps.catalog.claim_job(owner, now, lease_until, per_org).await? else {
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
            self.run_with_heartbeat(&job, &handle, shutdown).await
        };
        self.record(&job, &handle, outcome).await?;
        Ok(Some(job.id))
    }

    /// Runs the work while renewing the lease. The work is stopped when a cancel is requested, the lease is lost,
    /// the deadline passes or the process shuts down; work that does not end within the grace is dropped.
    async fn run_with_heartbeat(
        &self,
        job: &Job,
        handle: &JobHandle,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<Value, JobFailure> {
        let work = self.execute(job, handle);
        tokio::pin!(work);
        let (beats_tx, mut beats) = tokio::sync::mpsc::channel(1);
        let _heartbeat = AbortOnDrop(tokio::spawn(self.heartbeat(job.id, handle.clone(), beats_tx)));
        let deadline = tokio::time::sleep(self.settings.deadline);
        tokio::pin!(deadline);
        let mut stopped: Option<StopReason> = None;
        let abandon = tokio::time::sleep(Duration::MAX / 4);
        tokio::pin!(abandon);
        let grace = self.settings.stop_grace;
        let stop = |stopped: &mut Option<StopReason>, reason, abandon: std::pin::Pin<&mut tokio::time::Sleep>| {
            if stopped.is_none() {
                *stopped = Some(reason);
                handle.stop(false);
                abandon.reset(tokio::time::Instant::now() + grace);
            }
        };
        let outcome = loop {
            tokio::select! {
                outcome = &mut work => break outcome,
                () = &mut abandon => {
                    tracing::warn!(job = %job.id, "the stopped work did not end within its grace; abandoning it");
                    break Err(JobFailure::new("job-stopped", "the work was stopped"));
                }
                () = &mut deadline, if stopped.is_none() => stop(&mut stopped, StopReason::Deadline, abandon.as_mut()),
                Ok(()) = shutdown.changed(), if stopped.is_none() => {
                    if *shutdown.borrow() {
                        stop(&mut stopped, StopReason::Shutdown, abandon.as_mut());
                    }
                }
                Some(beat) = beats.recv() => {
                    if beat == Beat::CancelRequested {
                        handle.stop(true);
                    }
                    stop(&mut stopped, StopReason::Requested, abandon.as_mut());
                }
            }
        };
        // Work that failed because it was stopped failed for the runner's reason.
        match (outcome, stopped) {
            (Err(_), Some(StopReason::Deadline)) => Err(JobFailure::new(
                "job-deadline",
                format!(
                    "the job ran longer than {} s (jobs.deadline_secs) and was stopped; nothing was written",
                    self.settings.deadline.as_secs()
                ),
            )),
            (Err(_), Some(StopReason::Shutdown)) => Err(JobFailure::retryable(
                "job-interrupted",
                "byob stopped while the job ran; it runs again from the start",
            )),
            (outcome, _) => outcome,
        }
    }

    /// Renews the lease and saves the progress on its own task, so work that keeps its thread busy between awaits
    /// (encoding a large batch) cannot delay a renewal past the lease and lose the job to another runner. Says
    /// when a cancel was requested or the lease was lost.
    fn heartbeat(
        &self,
        id: JobId,
        handle: JobHandle,
        beats: tokio::sync::mpsc::Sender<Beat>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (catalog, clock) = (self.deps.catalog.clone(), self.deps.clock.clone());
        let (owner, lease, every) = (self.settings.owner.clone(), self.settings.lease, self.settings.heartbeat);
        async move {
            let mut ticker = tokio::time::interval(every);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let until = clock.now() + span(lease);
                match catalog.heartbeat_job(id, &owner, until, &handle.progress()).await {
                    Ok(Some(false)) => {}
                    Ok(Some(true)) => {
                        let _ = beats.try_send(Beat::CancelRequested);
                    }
                    Ok(None) => {
                        tracing::warn!(job = %id, "lease lost; stopping");
                        let _ = beats.try_send(Beat::LeaseLost);
                        return;
                    }
                    Err(e) => tracing::warn!(job = %id, error = %e, "could not renew the lease"),
                }
            }
        }
    }

    async fn execute(&self, job: &Job, handle: &JobHandle) -> Result<Value, JobFailure> {
        match job.kind.as_str() {
            // Each kind's future on the heap: one inline future as large as the largest kind would sit on the
            // stack of whoever runs the job (a test's thread overflowed once the migration kind came).
            "load" => Box::pin(self.kinds.loads.execute(job, handle)).await,
            "export" => Box::pin(self.kinds.exports.execute(job, handle)).await,
            "import" => Box::pin(self.kinds.imports.execute(job, handle)).await,
            crate::data::SCAN_JOB => Box::pin(self.kinds.attachments.execute_scan(job, handle)).await,
            crate::data::ASSET_CHECK_JOB => Box::pin(self.kinds.assets.execute_check(job, handle)).await,
            crate::data::MIGRATION_JOB => Box::pin(self.kinds.migrations.execute(job, handle)).await,
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

    /// Runs jobs until `shutdown` resolves, polling every `idle` when the queue is empty. A job running at
    /// shutdown is stopped (within the stop grace) and queued again, to run from the start in another process or
    /// after the restart.
    pub async fn run_until(&self, idle: Duration, shutdown: impl std::future::Future<Output = ()>) {
        let (stop, stopping) = watch::channel(false);
        let jobs = async {
            loop {
                let wait = match self.run_one_until(stopping.clone()).await {
                    Ok(Some(_)) => Duration::ZERO,
                    Ok(None) => idle,
                    Err(e) => {
                        tracing::warn!(error = %e, "job queue unavailable");
                        idle
                    }
                };
                if *stopping.borrow() {
                    return;
                }
                let mut woken = stopping.clone();
                tokio::select! {
                    _ = woken.wait_for(|s| *s) => return,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        };
        tokio::pin!(jobs);
        tokio::select! {
            () = &mut jobs => {}
            () = shutdown => {
                let _ = stop.send(true);
                jobs.await;
            }
        }
    }
}
