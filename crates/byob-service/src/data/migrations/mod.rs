//! Migrations: an org's files moved between byob's default storage and its integrations (or between two
//! integrations, any providers), copied with bounded memory and several streams at once, each object verified by
//! SHA-256 on the destination, writes made meanwhile caught up, then the features' routing switched in one
//! catalog transaction. A job: restarted after a crash or a cancel, it goes on from each object's recorded
//! progress and copies no verified object again.

mod copy;
mod run;

use byob_core::{
    AuditOutcome, MigrationId, OrgId,
    integration::{Feature, IntegrationState},
    job::Job,
    migration::{self, Migration, MigrationCounts, MigrationState, Store},
};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

pub(crate) use run::MIGRATION_JOB;

use crate::{Access, Auditor, Deps, RequestContext, ServiceError, StorageRouter, health::Events, jobs::JobService};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMigration {
    /// `default` (byob's own storage) or an integration id.
    pub from: String,
    /// `default` or an integration id.
    pub to: String,
    /// `uploads`, `attachments`, `assets`; all three when absent.
    pub features: Option<Vec<Feature>>,
    /// Plan and report what would be copied, skipped and in conflict; copy nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Delete the copied objects from the source once the features go to the destination.
    #[serde(default)]
    pub delete_source: bool,
}

/// Operator settings of migrations.
#[derive(Debug, Clone)]
pub struct MigrationSettings {
    /// Objects copied at once by one migration.
    pub parallel: usize,
}

impl Default for MigrationSettings {
    fn default() -> Self {
        Self { parallel: 8 }
    }
}

#[derive(Debug, Clone)]
pub struct MigrationService {
    deps: Deps,
    auditor: Auditor,
    storage: StorageRouter,
    jobs: JobService,
    events: Events,
    settings: MigrationSettings,
    /// Large objects copied at once, server-wide: each holds its ranges and parts in flight (about 40 MiB), so
    /// memory stays bounded however many large files migrations meet; small objects go in parallel.
    large: std::sync::Arc<tokio::sync::Semaphore>,
}

impl MigrationService {
    #[must_use]
    pub(crate) fn new(
        deps: Deps,
        auditor: Auditor,
        storage: StorageRouter,
        jobs: JobService,
        events: Events,
        settings: MigrationSettings,
    ) -> Self {
        let large = std::sync::Arc::new(tokio::sync::Semaphore::new(2));
        Self { deps, auditor, storage, jobs, events, settings, large }
    }

    async fn authorize(&self, ctx: &RequestContext, org: OrgId, access: Access) -> Result<(), ServiceError> {
        crate::tenancy::authorize(&self.deps, ctx, org, access).await
    }

    async fn find(&self, org: OrgId, id: MigrationId) -> Result<Migration, ServiceError> {
        self.deps
            .catalog
            .get_migration(org, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::MIGRATION_NOT_FOUND, id))
    }

    /// Checks a store the org names: its own integration, not disabled.
    async fn check_store(&self, org: OrgId, field: &str, store: Store) -> Result<(), ServiceError> {
        let Store::Integration(id) = store else { return Ok(()) };
        let i = self
            .deps
            .catalog
            .get_integration(org, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::INTEGRATION_NOT_FOUND, id))?;
        if i.state == IntegrationState::Disabled {
            return Err(ServiceError::Refused {
                code: byob_core::codes::INTEGRATION_DISABLED,
                message: format!("integration `{}` ({field}) is disabled; enable it first", i.name),
            });
        }
        Ok(())
    }

    /// Starts a migration (a job): plan, copy, verify, catch up, switch.
    ///
    /// # Errors
    /// Not an admin; `migration-store`, the same store twice, features a migration does not move, attachments on
    /// the default storage; an unknown or disabled integration; `migration-active`.
    pub async fn start(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        req: CreateMigration,
    ) -> Result<Migration, ServiceError> {
        self.authorize(ctx, org, Access::Admin).await?;
        let from = Store::parse("from", &req.from)?;
        let to = Store::parse("to", &req.to)?;
        if from == to {
            return Err(ServiceError::invalid("to", "the destination is the source; name another store"));
        }
        let features = req.features.unwrap_or_else(|| migration::MOVABLE.to_vec());
        if features.is_empty() {
            return Err(ServiceError::invalid("features", "name at least one of uploads, attachments, assets"));
        }
        if let Some(f) = features.iter().find(|f| !migration::MOVABLE.contains(f)) {
            return Err(ServiceError::invalid(
                "features",
                format!("{} are not moved by a migration: only uploads, attachments and assets", f.as_str()),
            ));
        }
        if features.contains(&Feature::Attachments) && (from == Store::Default || to == Store::Default) {
            return Err(ServiceError::invalid(
                "features",
                "attachments are never on the default storage: leave them out, or migrate between integrations",
            ));
        }
        self.check_store(org, "from", from).await?;
        self.check_store(org, "to", to).await?;
        self.retire_stale(org).await?;
        let mut m = Migration {
            id: MigrationId::generate(),
            org_id: org,
            from: from.to_string(),
            to: to.to_string(),
            features,
            dry_run: req.dry_run,
            delete_source: req.delete_source,
            state: MigrationState::Planning,
            job_id: None,
            counts: MigrationCounts::default(),
            conflicts: Vec::new(),
            error: None,
            created_by: ctx.actor().key(),
            created_at: self.deps.clock.now(),
            switched_at: None,
            finished_at: None,
        };
        if !self.deps.catalog.insert_migration(&m).await? {
            return Err(ServiceError::Refused {
                code: byob_core::codes::MIGRATION_ACTIVE,
                message: "the org has a migration running; wait for it to end or cancel it".into(),
            });
        }
        let job = match self.jobs.enqueue(ctx, org, MIGRATION_JOB, json!({ "migration": m.id }), None).await {
            Ok(job) => job,
            Err(e) => {
                m.state = MigrationState::Failed;
                m.error = Some(e.to_string());
                self.deps.catalog.update_migration(&m).await?;
                return Err(e);
            }
        };
        m.job_id = Some(job.id);
        self.deps.catalog.update_migration(&m).await?;
        let detail = json!({ "from": m.from, "to": m.to, "features": m.features, "dry_run": m.dry_run,
                             "delete_source": m.delete_source, "job": job.id });
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::MIGRATION_START,
                Some(m.id.to_string()),
                AuditOutcome::Success,
                detail,
            )
            .await?;
        Ok(m)
    }

    /// A migration whose job ended without ending it (its attempts spent) no longer blocks the org.
    async fn retire_stale(&self, org: OrgId) -> Result<(), ServiceError> {
        let Some(mut m) = self.deps.catalog.active_migration(org).await? else { return Ok(()) };
        let job: Option<Job> = match m.job_id {
            Some(id) => self.deps.catalog.get_job(org, id).await?,
            None => None,
        };
        if job.is_none_or(|j| j.state.is_final()) {
            m.state = MigrationState::Failed;
            m.error.get_or_insert_with(|| "its job ended before the migration did".into());
            m.finished_at = Some(self.deps.clock.now());
            self.deps.catalog.update_migration(&m).await?;
        }
        Ok(())
    }

    /// # Errors
    /// Not a member; not found.
    pub async fn get(&self, ctx: &RequestContext, org: OrgId, id: MigrationId) -> Result<Migration, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        self.find(org, id).await
    }

    /// Newest first.
    ///
    /// # Errors
    /// Not a member.
    pub async fn list(&self, ctx: &RequestContext, org: OrgId, limit: u32) -> Result<Vec<Migration>, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        Ok(self.deps.catalog.list_migrations(org, limit).await?)
    }

    /// Stops a migration before its switch; what was copied stays recorded (a new migration of the same stores
    /// skips it after checking it), and the features stay on the source.
    ///
    /// # Errors
    /// Not an admin; not found; `migration-finished`, also once the switch began.
    pub async fn cancel(&self, ctx: &RequestContext, org: OrgId, id: MigrationId) -> Result<Migration, ServiceError> {
        self.authorize(ctx, org, Access::Admin).await?;
        let mut m = self.find(org, id).await?;
        if !matches!(m.state, MigrationState::Planning | MigrationState::Copying) {
            return Err(ServiceError::Refused {
                code: byob_core::codes::MIGRATION_FINISHED,
                message: format!(
                    "migration `{id}` is {}; only a planning or copying one can be cancelled",
                    m.state.as_str()
                ),
            });
        }
        if let Some(job) = m.job_id {
            match self.jobs.cancel(ctx, org, job).await {
                Ok(_) | Err(ServiceError::Refused { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        m.state = MigrationState::Cancelled;
        m.finished_at = Some(self.deps.clock.now());
        self.deps.catalog.update_migration(&m).await?;
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::MIGRATION_CANCEL,
                Some(id.to_string()),
                AuditOutcome::Success,
                json!({}),
            )
            .await?;
        Ok(m)
    }
}
