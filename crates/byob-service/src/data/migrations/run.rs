//! The migration job: plan, copy, catch up, switch, delete the source. Each step records where it is, so a job
//! started again (after a crash, a deploy, a retryable failure) goes on from there.

use std::collections::HashMap;

use byob_core::{
    MigrationId,
    job::Job,
    migration::{self, Conflict, Migration, MigrationState, Store},
};
use byob_ports::{
    catalog::{MigrationObject, Switch},
    storage::StorageClient,
};
use futures::StreamExt;
use serde_json::{Value, json};

use super::{MigrationService, copy};
use crate::{
    RequestContext, ServiceError,
    jobs::{JobFailure, JobHandle},
};

/// The job kind that runs a migration.
pub(crate) const MIGRATION_JOB: &str = "migration";

/// An object over this size waits for its turn among large ones (see `MigrationService::large`).
const LARGE: u64 = 16 << 20;
/// Objects read from the catalog at once.
const PAGE: u32 = 500;
/// How often a migration's counts are saved while it copies.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// Catch-up passes before the switch (each copies what was written during the previous one).
const CATCH_UP_PASSES: u64 = 5;
/// How long the switch waits for asset writes already streaming into the source.
const DRAIN_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Why a step stopped.
enum Stop {
    Cancelled,
    Failed(ServiceError),
}

impl From<ServiceError> for Stop {
    fn from(e: ServiceError) -> Self {
        Self::Failed(e)
    }
}

impl From<byob_ports::catalog::CatalogError> for Stop {
    fn from(e: byob_ports::catalog::CatalogError) -> Self {
        Self::Failed(e.into())
    }
}

impl MigrationService {
    async fn client(&self, ctx: &RequestContext, m: &Migration, store: Store) -> Result<StorageClient, ServiceError> {
        self.storage.stored_in(ctx, m.org_id, store.integration()).await
    }

    fn folders(m: &Migration) -> Vec<&'static str> {
        m.features.iter().flat_map(|f| migration::folders(*f).iter().copied()).collect()
    }

    async fn save(&self, m: &Migration) -> Result<(), ServiceError> {
        Ok(self.deps.catalog.update_migration(m).await?)
    }

    pub(crate) async fn execute(&self, job: &Job, handle: &JobHandle) -> Result<Value, JobFailure> {
        let ctx = RequestContext::system();
        let id: Option<MigrationId> = job.spec.get("migration").and_then(Value::as_str).and_then(|s| s.parse().ok());
        let Some(id) = id else { return Err(JobFailure::new("job-spec-invalid", "the job names no migration")) };
        let mut m = match self.deps.catalog.get_migration(job.org_id, id).await {
            Ok(Some(m)) => m,
            Ok(None) => return Err(JobFailure::new("migration-not-found", "the migration was deleted")),
            Err(e) => return Err(JobFailure::retryable("catalog-unavailable", e.to_string())),
        };
        if !m.state.active() {
            // A process that died between saving the end and announcing it: announced now (once, whoever does).
            if m.state == MigrationState::Completed {
                self.completed(&ctx, &m).await;
            }
            return Ok(summary(&m));
        }
        match self.advance(&ctx, &mut m, handle).await {
            Ok(()) => Ok(summary(&m)),
            Err(Stop::Cancelled) => {
                m.state = MigrationState::Cancelled;
                m.finished_at = Some(self.deps.clock.now());
                self.save(&m).await.ok();
                Ok(summary(&m))
            }
            Err(Stop::Failed(e)) => {
                let last_attempt = job.attempts >= job.max_attempts;
                let refused = matches!(e, ServiceError::Invalid { .. } | ServiceError::Rule(_));
                if last_attempt || refused {
                    self.fail(&ctx, &mut m, &e.to_string()).await;
                    return Err(JobFailure::new("migration-failed", e.to_string()).with_detail(summary(&m)));
                }
                Err(JobFailure::retryable("migration-interrupted", e.to_string()))
            }
        }
    }

    async fn fail(&self, ctx: &RequestContext, m: &mut Migration, why: &str) {
        m.state = MigrationState::Failed;
        m.error = Some(why.to_string());
        m.finished_at = Some(self.deps.clock.now());
        self.save(m).await.ok();
        let payload = json!({ "migration": m.id, "from": m.from, "to": m.to, "error": why, "counts": m.counts });
        if let Err(e) =
            self.events.emit(ctx, m.org_id, byob_core::event::MIGRATION_FAILED, Some(m.id.to_string()), payload).await
        {
            tracing::warn!(error = %e, "could not record a migration-failed event");
        }
    }

    /// Runs the migration from its recorded state to its end.
    async fn advance(&self, ctx: &RequestContext, m: &mut Migration, handle: &JobHandle) -> Result<(), Stop> {
        let src = self.client(ctx, m, m.source()).await?;
        let dst = self.client(ctx, m, m.destination()).await?;
        if m.state == MigrationState::Planning {
            self.plan(m, &src, &dst).await?;
            if m.dry_run || m.counts.conflicts > 0 {
                return self.end_plan(ctx, m).await;
            }
            m.state = MigrationState::Copying;
            self.save(m).await?;
        }
        if m.state == MigrationState::Copying {
            self.copy_pending(m, &src, &dst, handle).await?;
            for _ in 0..CATCH_UP_PASSES {
                if self.catch_up(m, &src, &dst, handle).await? == 0 {
                    break;
                }
            }
            if self.cancelled(m).await? {
                return Err(Stop::Cancelled);
            }
            m.state = MigrationState::Switching;
            self.save(m).await?;
        }
        if m.state == MigrationState::Switching {
            self.switch(ctx, m, &src, &dst, handle).await?;
        }
        if m.state == MigrationState::DeletingSource {
            self.delete_source(m, &src).await?;
            m.state = MigrationState::Completed;
        }
        m.finished_at = Some(self.deps.clock.now());
        self.save(m).await?;
        self.completed(ctx, m).await;
        Ok(())
    }

    /// Whether an admin cancelled the migration meanwhile.
    async fn cancelled(&self, m: &Migration) -> Result<bool, ServiceError> {
        let now = self.deps.catalog.get_migration(m.org_id, m.id).await?;
        Ok(now.is_some_and(|n| n.state == MigrationState::Cancelled))
    }

    /// Lists both sides: what the destination lacks is to copy, what it has with the same SHA-256 is skipped,
    /// what it has with other content is a conflict.
    async fn plan(&self, m: &mut Migration, src: &StorageClient, dst: &StorageClient) -> Result<(), Stop> {
        let folders = Self::folders(m);
        let source = copy::list(src, &folders).await?;
        self.record(m, source, src, dst).await?;
        Ok(())
    }

    /// Records objects found on the source that are not recorded yet; those the destination has already are
    /// skipped when their SHA-256 is the same there, and conflicts otherwise. Returns how many were new.
    async fn record(
        &self,
        m: &mut Migration,
        source: Vec<MigrationObject>,
        src: &StorageClient,
        dst: &StorageClient,
    ) -> Result<u64, ServiceError> {
        let added = self.deps.catalog.add_migration_objects(m.id, &source).await?;
        if added.is_empty() {
            return Ok(0);
        }
        let there: HashMap<String, u64> =
            copy::list(dst, &Self::folders(m)).await?.into_iter().map(|o| (o.key, o.size)).collect();
        let sizes: HashMap<&str, u64> = source.iter().map(|o| (o.key.as_str(), o.size)).collect();
        for key in &added {
            let size = sizes.get(key.as_str()).copied().unwrap_or_default();
            m.counts.objects += 1;
            m.counts.bytes += size;
            let Some(there_size) = there.get(key) else { continue };
            let same = *there_size == size
                && copy::hash(src, key).await?.map(|h| h.0) == copy::hash(dst, key).await?.map(|h| h.0);
            if same {
                self.deps.catalog.mark_migration_object(m.id, key, "verified", None, false).await?;
                m.counts.skipped += 1;
                continue;
            }
            m.counts.conflicts += 1;
            if m.conflicts.len() < migration::MAX_CONFLICTS {
                m.conflicts.push(Conflict {
                    key: key.clone(),
                    message: format!(
                        "the destination has `{key}` with other content ({there_size} bytes; the source's has {size})"
                    ),
                });
            }
        }
        self.save(m).await?;
        Ok(added.len() as u64)
    }

    /// A dry run's or a conflicting plan's end.
    async fn end_plan(&self, ctx: &RequestContext, m: &mut Migration) -> Result<(), Stop> {
        if m.counts.conflicts > 0 && !m.dry_run {
            let why = format!(
                "{} object(s) exist on the destination with other content (first: `{}`); nothing was copied",
                m.counts.conflicts,
                m.conflicts.first().map(|c| c.key.as_str()).unwrap_or_default()
            );
            self.fail(ctx, m, &why).await;
            return Ok(());
        }
        m.state = MigrationState::Completed;
        m.finished_at = Some(self.deps.clock.now());
        self.save(m).await?;
        self.completed(ctx, m).await;
        Ok(())
    }

    /// Copies every pending object, several at once, as one pipeline: a new copy starts as soon as one ends (a
    /// large object does not hold the small ones back), and each verified object is recorded as it ends, so a
    /// restart copies none of them again.
    async fn copy_pending(
        &self,
        m: &mut Migration,
        src: &StorageClient,
        dst: &StorageClient,
        handle: &JobHandle,
    ) -> Result<(), Stop> {
        self.recount(m).await?;
        let failed = std::sync::atomic::AtomicBool::new(false);
        loop {
            if handle.should_stop() {
                return Err(if handle.cancelled() { Stop::Cancelled } else { Stop::Failed(interrupted()) });
            }
            let page = self.deps.catalog.migration_objects(m.id, "pending", None, PAGE).await?;
            if page.is_empty() {
                return Ok(());
            }
            let failed = &failed;
            let mut copies = futures::stream::iter(page.into_iter().map(|o| async move {
                // A shutdown, or a copy that failed, stops the copies not yet started; those under way end first.
                if handle.should_stop() || failed.load(std::sync::atomic::Ordering::Relaxed) {
                    return (o, None);
                }
                let _turn = if o.size > LARGE { self.large.acquire().await.ok() } else { None };
                let copied = copy::copy(src, dst, &o.key).await;
                if copied.is_err() {
                    failed.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                (o, Some(copied))
            }))
            .buffer_unordered(self.settings.parallel.max(1));
            let mut first_error = None;
            let mut saved = tokio::time::Instant::now();
            while let Some((o, copied)) = copies.next().await {
                match copied {
                    Some(Ok(sha)) => {
                        self.deps.catalog.mark_migration_object(m.id, &o.key, "verified", Some(&sha), true).await?;
                        m.counts.copied += 1;
                        m.counts.bytes_copied += o.size;
                        handle.add_bytes(o.size);
                    }
                    Some(Err(e)) => {
                        first_error.get_or_insert(e);
                    }
                    None => {}
                }
                // The counts shown while it runs.
                if saved.elapsed() >= PROGRESS_EVERY {
                    self.save(m).await?;
                    saved = tokio::time::Instant::now();
                }
            }
            self.save(m).await?;
            if handle.cancelled() {
                return Err(Stop::Cancelled);
            }
            if let Some(e) = first_error {
                return Err(Stop::Failed(e));
            }
            if handle.should_stop() {
                return Err(Stop::Failed(interrupted()));
            }
        }
    }

    /// Lists the source again and copies what was written since; returns how many objects were new.
    async fn catch_up(
        &self,
        m: &mut Migration,
        src: &StorageClient,
        dst: &StorageClient,
        handle: &JobHandle,
    ) -> Result<u64, Stop> {
        let source = copy::list(src, &Self::folders(m)).await?;
        let added = self.record(m, source, src, dst).await?;
        if m.counts.conflicts > 0 {
            return Err(Stop::Failed(ServiceError::invalid(
                "destination",
                format!("{} object(s) written meanwhile conflict with the destination", m.counts.conflicts),
            )));
        }
        if added > 0 {
            m.counts.catch_up_passes += 1;
            self.copy_pending(m, src, dst, handle).await?;
        }
        Ok(added)
    }

    /// Writes of the features answer `migration-switching` from here; the writes already streaming into the
    /// source end (or the wait does), the last catch-up copies them, and the routing moves in one transaction.
    async fn switch(
        &self,
        ctx: &RequestContext,
        m: &mut Migration,
        src: &StorageClient,
        dst: &StorageClient,
        handle: &JobHandle,
    ) -> Result<(), Stop> {
        let deadline = tokio::time::Instant::now() + DRAIN_WAIT;
        while self.deps.catalog.asset_writes_in_flight(m.org_id, m.source().integration()).await? > 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        self.catch_up(m, src, dst, handle).await?;
        let switch = Switch {
            org: m.org_id,
            from: m.source().integration(),
            to: m.destination().integration(),
            features: m.features.clone(),
            at: self.deps.clock.now(),
        };
        self.deps.catalog.switch_features(&switch).await?;
        m.switched_at = Some(switch.at);
        // Recorded before the state moves on: a crash in between switches again (the same routing) and records
        // nothing twice.
        let detail = json!({ "from": m.from, "to": m.to, "features": m.features, "counts": m.counts });
        let once = m.id.to_string();
        self.auditor
            .record_once(ctx, m.org_id, byob_core::actions::MIGRATION_SWITCH, Some(m.id.to_string()), &once, detail)
            .await?;
        m.state = if m.delete_source { MigrationState::DeletingSource } else { MigrationState::Completed };
        self.save(m).await?;
        Ok(())
    }

    /// Sets the counts from what the objects record: a run that went on after a crash finds objects recorded
    /// after the counts were last saved.
    async fn recount(&self, m: &mut Migration) -> Result<(), Stop> {
        let progress = self.deps.catalog.migration_progress(m.id).await?;
        m.counts.objects = progress.objects;
        m.counts.bytes = progress.bytes;
        m.counts.skipped = progress.skipped;
        m.counts.copied = progress.copied;
        m.counts.bytes_copied = progress.bytes_copied;
        m.counts.deleted_from_source = progress.deleted;
        Ok(())
    }

    /// Deletes the copied objects from the source, now that nothing reads them there.
    async fn delete_source(&self, m: &mut Migration, src: &StorageClient) -> Result<(), Stop> {
        self.recount(m).await?;
        loop {
            let page = self.deps.catalog.migration_objects(m.id, "verified", None, PAGE).await?;
            if page.is_empty() {
                return Ok(());
            }
            for o in page {
                let path = src.key(&o.key).map_err(ServiceError::from)?;
                match object_store::ObjectStoreExt::delete(src.store().as_ref(), &path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(Stop::Failed(byob_ports::storage::StorageError::from(e).into())),
                }
                self.deps.catalog.mark_migration_object(m.id, &o.key, "deleted", None, false).await?;
                m.counts.deleted_from_source += 1;
            }
            self.save(m).await?;
        }
    }

    async fn completed(&self, ctx: &RequestContext, m: &Migration) {
        let detail = json!({ "from": m.from, "to": m.to, "features": m.features, "dry_run": m.dry_run,
                             "counts": m.counts });
        let once = m.id.to_string();
        if let Err(e) = self
            .auditor
            .record_once(
                ctx,
                m.org_id,
                byob_core::actions::MIGRATION_COMPLETE,
                Some(once.clone()),
                &once,
                detail.clone(),
            )
            .await
        {
            tracing::warn!(error = %e, "could not audit a migration's end");
        }
        if let Err(e) = self
            .events
            .emit_once(ctx, m.org_id, byob_core::event::MIGRATION_COMPLETED, Some(once.clone()), detail, &once)
            .await
        {
            tracing::warn!(error = %e, "could not record a migration-completed event");
        }
    }
}

fn interrupted() -> ServiceError {
    ServiceError::Refused {
        code: byob_core::codes::MIGRATION_ACTIVE,
        message: "the migration was interrupted (shutdown or lease lost); it goes on from where it was".into(),
    }
}

/// The job's result: the migration as it stands.
fn summary(m: &Migration) -> Value {
    json!({ "migration": m.id, "state": m.state, "counts": m.counts, "conflicts": m.conflicts, "error": m.error })
}
