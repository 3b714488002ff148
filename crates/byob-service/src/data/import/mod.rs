//! Imports: a fixed file or the most recent dated file of an integration's bucket, loaded into a table with the
//! same loader as uploads, on demand or on a schedule. docs/imports.md describes the contract.

mod resolve;
mod run;

use byob_core::{
    AuditOutcome, ImportId, JobId, OrgId,
    export::RunTrigger,
    import::{DatePattern, Import, ImportRun, ImportSource},
    integration::IntegrationState,
    job::JobState,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

pub use resolve::{Candidate, RejectedKey, Resolution};

use super::connections::Use;
use super::{ConnectionService, LoadRequest, Loads, load::check_request, schedule};
use crate::{Access, Auditor, Deps, RequestContext, ServiceError, StorageRouter, jobs::queued_job};

const MAX_PATH_BYTES: usize = 1024;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateImport {
    /// Unique in the org; the import's id when absent.
    pub name: Option<String>,
    /// The integration (id or name) whose bucket holds the files.
    pub integration: String,
    /// `{"mode": "fixed", "path": "folder/file.csv"}` or `{"mode": "latest", "pattern": "folder/file-{{date}}.csv"}`.
    pub source: ImportSource,
    /// The connection's name or id (`local` for the embedded warehouse).
    pub connection: String,
    /// `table` or `schema.table`.
    pub table: String,
    /// Load options as for an upload's load: `mode`, `columns`, `on_error`, `max_bad_rows`, `header`,
    /// `delimiter`, `null_tokens`, `encoding`.
    #[serde(default = "empty_object")]
    pub load: Value,
    pub schedule: Option<schedule::ScheduleRequest>,
}

fn empty_object() -> Value {
    json!({})
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunImport {
    /// Load the file even when it is the one loaded last.
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportView {
    #[serde(flatten)]
    pub import: Import,
    pub next_runs: Vec<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct ImportService {
    deps: Deps,
    auditor: Auditor,
    router: StorageRouter,
    connections: ConnectionService,
    loads: Loads,
}

/// The load request an import's options make for its table.
fn load_request(import: &Import) -> Result<LoadRequest, ServiceError> {
    let mut body = if import.load.is_object() { import.load.clone() } else { json!({}) };
    body["connection"] = json!(import.connection);
    body["table"] = json!(import.table);
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        ServiceError::invalid(format!("load.{path}"), e.into_inner().to_string())
    })
}

fn check_source(source: &ImportSource) -> Result<(), ServiceError> {
    match source {
        ImportSource::Fixed { path } => {
            if path.len() > MAX_PATH_BYTES {
                return Err(ServiceError::invalid("source.path", "at most 1024 bytes"));
            }
            byob_core::location::check_existing_key("source.path", path)?;
        }
        ImportSource::Latest { pattern } => {
            if pattern.len() > MAX_PATH_BYTES {
                return Err(ServiceError::invalid("source.pattern", "at most 1024 bytes"));
            }
            let parsed = DatePattern::parse(pattern)?;
            byob_core::location::check_existing_key("source.pattern", parsed.folder())?;
        }
    }
    Ok(())
}

impl ImportService {
    #[must_use]
    pub(crate) fn new(
        deps: Deps,
        auditor: Auditor,
        router: StorageRouter,
        connections: ConnectionService,
        loads: Loads,
    ) -> Self {
        Self { deps, auditor, router, connections, loads }
    }

    async fn member(&self, ctx: &RequestContext, org: OrgId) -> Result<(), ServiceError> {
        crate::tenancy::authorize(&self.deps, ctx, org, Access::Member).await
    }

    async fn audit(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        action: &'static str,
        target: String,
        detail: Value,
    ) -> Result<(), ServiceError> {
        self.auditor.record(ctx, org, action, Some(target), AuditOutcome::Success, detail).await
    }

    fn view(&self, import: Import) -> ImportView {
        let next_runs = schedule::next_runs(import.schedule.as_ref(), self.deps.clock.now());
        ImportView { import, next_runs }
    }

    async fn load(&self, org: OrgId, id: ImportId) -> Result<Import, ServiceError> {
        self.deps
            .catalog
            .get_import(org, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::IMPORT_NOT_FOUND, id))
    }

    /// The storage of the import's integration, usable now.
    async fn client(
        &self,
        ctx: &RequestContext,
        import: &Import,
    ) -> Result<byob_ports::storage::StorageClient, ServiceError> {
        let i = self.deps.catalog.get_integration(import.org_id, import.integration).await?.ok_or_else(|| {
            ServiceError::Refused {
                code: byob_core::codes::INTEGRATION_GONE,
                message: format!("integration `{}`, where this import reads, was deleted", import.integration),
            }
        })?;
        if i.state == IntegrationState::Disabled {
            return Err(ServiceError::Refused {
                code: byob_core::codes::INTEGRATION_DISABLED,
                message: format!("integration `{}` is disabled; enable it to import from it", i.name),
            });
        }
        self.router.client_for(ctx, &i).await
    }

    /// Creates an import (it runs on its schedule, or when asked).
    ///
    /// # Errors
    /// Not a member; invalid fields (naming the rule); unknown integration or connection.
    pub async fn create(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        req: CreateImport,
    ) -> Result<ImportView, ServiceError> {
        self.member(ctx, org).await?;
        check_source(&req.source)?;
        let integration = crate::records::all_integrations(&self.deps, org)
            .await?
            .into_iter()
            .find(|i| i.id.to_string() == req.integration || i.name == req.integration)
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::INTEGRATION_NOT_FOUND, &req.integration))?;
        let connection = self.connections.resolve_name(org, &req.connection).await?;
        let now = self.deps.clock.now();
        let (schedule, next_run_at) = schedule::from_request(req.schedule.as_ref(), now)?;
        crate::quota::check(&self.deps, org, byob_ports::catalog::Usage::Imports, 1).await?;
        let id = ImportId::generate();
        let name = req.name.unwrap_or_else(|| id.to_string());
        schedule::check_name(&name)?;
        let import = Import {
            id,
            org_id: org,
            name,
            integration: integration.id,
            source: req.source,
            connection,
            table: req.table,
            load: req.load,
            next_run_at,
            schedule,
            last_loaded: None,
            created_by: ctx.actor().key(),
            created_at: now,
            updated_at: now,
        };
        let request = load_request(&import)?;
        let (table, ..) = check_request(&request)?;
        self.connections.permit(ctx, org, &import.connection, Use::load(request.mode, &table)).await?;
        self.deps.catalog.insert_import(&import).await.map_err(|e| match e {
            byob_ports::catalog::CatalogError::Conflict(_) => {
                ServiceError::Conflict(format!("an import named `{}` already exists", import.name))
            }
            other => other.into(),
        })?;
        self.audit(
            ctx,
            org,
            byob_core::actions::IMPORT_CREATE,
            import.id.to_string(),
            json!({ "name": import.name, "source": import.source, "connection": import.connection,
                    "table": import.table, "scheduled": import.schedule.is_some() }),
        )
        .await?;
        Ok(self.view(import))
    }

    /// # Errors
    /// Not a member; not found.
    pub async fn get(&self, ctx: &RequestContext, org: OrgId, id: ImportId) -> Result<ImportView, ServiceError> {
        self.member(ctx, org).await?;
        Ok(self.view(self.load(org, id).await?))
    }

    /// # Errors
    /// Not a member.
    pub async fn list(&self, ctx: &RequestContext, org: OrgId) -> Result<Vec<ImportView>, ServiceError> {
        self.member(ctx, org).await?;
        Ok(self.deps.catalog.list_imports(org).await?.into_iter().map(|i| self.view(i)).collect())
    }

    /// # Errors
    /// Not a member; not found; a run is queued or running.
    pub async fn delete(&self, ctx: &RequestContext, org: OrgId, id: ImportId) -> Result<(), ServiceError> {
        self.member(ctx, org).await?;
        let import = self.load(org, id).await?;
        let runs = self.deps.catalog.list_import_runs(org, id, 1).await?;
        if runs.first().is_some_and(|r| !r.state.is_final()) {
            return Err(ServiceError::Refused {
                code: byob_core::codes::IMPORT_RUN_ACTIVE,
                message: "a run of this import is queued or running; cancel it or wait for it first".into(),
            });
        }
        self.deps.catalog.delete_import(org, id).await?;
        self.audit(ctx, org, byob_core::actions::IMPORT_DELETE, id.to_string(), json!({ "name": import.name })).await
    }

    /// Pauses or resumes the schedule (resuming starts from the next time after now).
    ///
    /// # Errors
    /// Not a member; not found; no schedule.
    pub async fn set_paused(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: ImportId,
        paused: bool,
    ) -> Result<ImportView, ServiceError> {
        self.member(ctx, org).await?;
        let mut import = self.load(org, id).await?;
        let now = self.deps.clock.now();
        import.next_run_at =
            schedule::set_paused(import.schedule.as_mut(), paused, now, byob_core::codes::IMPORT_NOT_SCHEDULED)?;
        import.updated_at = now;
        self.deps.catalog.update_import(&import).await?;
        let action = if paused { byob_core::actions::IMPORT_PAUSE } else { byob_core::actions::IMPORT_RESUME };
        self.audit(ctx, org, action, id.to_string(), json!({})).await?;
        Ok(self.view(import))
    }

    /// The dry run: which file a run would load now, why, and the keys it passed over.
    ///
    /// # Errors
    /// Not a member; not found; the bucket refusing the permission the mode needs (`import-list-denied`,
    /// `import-read-denied`).
    pub async fn resolve(&self, ctx: &RequestContext, org: OrgId, id: ImportId) -> Result<Resolution, ServiceError> {
        self.member(ctx, org).await?;
        let import = self.load(org, id).await?;
        let client = self.client(ctx, &import).await?;
        let mut resolution = resolve::resolve(&client, &import.source, self.deps.clock.now()).await?;
        resolution.already_loaded = already_loaded(&import, resolution.chosen.as_ref());
        Ok(resolution)
    }

    async fn enqueue(
        &self,
        ctx: &RequestContext,
        import: &Import,
        trigger: RunTrigger,
        forced: bool,
    ) -> Result<ImportRun, ServiceError> {
        crate::quota::check(&self.deps, import.org_id, byob_ports::catalog::Usage::QueuedJobs, 1).await?;
        let now = self.deps.clock.now();
        let job = queued_job(ctx, import.org_id, "import", json!({ "import": import.id, "force": forced }), None, now);
        let run = ImportRun {
            id: job.id,
            import_id: import.id,
            org_id: import.org_id,
            trigger,
            forced,
            state: JobState::Queued,
            error: None,
            outcome: None,
            key: None,
            etag: None,
            rows: 0,
            list_requests: None,
            created_at: now,
            finished_at: None,
        };
        if !self.deps.catalog.enqueue_import_run(&job, &run).await? {
            return Err(ServiceError::Refused {
                code: byob_core::codes::IMPORT_RUN_ACTIVE,
                message: format!("a run of import `{}` is already queued or running; one runs at a time", import.name),
            });
        }
        self.audit(
            ctx,
            import.org_id,
            byob_core::actions::IMPORT_RUN,
            import.id.to_string(),
            json!({ "run": run.id, "trigger": trigger.as_str(), "forced": forced }),
        )
        .await?;
        Ok(run)
    }

    /// Runs the import now.
    ///
    /// # Errors
    /// Not a member; not found; a run already queued or running (`import-run-active`).
    pub async fn trigger(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: ImportId,
        req: RunImport,
    ) -> Result<ImportRun, ServiceError> {
        self.member(ctx, org).await?;
        let import = self.load(org, id).await?;
        self.enqueue(ctx, &import, RunTrigger::Manual, req.force).await
    }

    /// # Errors
    /// Not a member; not found.
    pub async fn runs(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: ImportId,
        limit: u32,
    ) -> Result<Vec<ImportRun>, ServiceError> {
        self.member(ctx, org).await?;
        self.load(org, id).await?;
        Ok(self.deps.catalog.list_import_runs(org, id, limit).await?)
    }

    /// # Errors
    /// Not a member; not found.
    pub async fn run(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: ImportId,
        run: JobId,
    ) -> Result<ImportRun, ServiceError> {
        self.member(ctx, org).await?;
        self.deps
            .catalog
            .get_import_run(org, run)
            .await?
            .filter(|r| r.import_id == id)
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::IMPORT_RUN_NOT_FOUND, run))
    }

    /// Queues the scheduled runs whose time has come (missed times coalesce into one run, as for exports).
    ///
    /// # Errors
    /// Catalog errors.
    pub async fn tick(&self) -> Result<u32, ServiceError> {
        let now = self.deps.clock.now();
        let ctx = RequestContext::system();
        let mut queued = 0;
        for mut import in self.deps.catalog.due_imports(now, 100).await? {
            let Some(schedule::Due { next, .. }) = import.schedule.as_ref().and_then(|s| schedule::due(s, now)) else {
                continue;
            };
            import.next_run_at = next;
            import.updated_at = now;
            self.deps.catalog.update_import(&import).await?;
            match self.enqueue(&ctx, &import, RunTrigger::Schedule, false).await {
                Ok(_) => queued += 1,
                Err(ServiceError::Refused { code: byob_core::codes::IMPORT_RUN_ACTIVE, .. }) => {
                    tracing::info!(import = %import.id, "previous run still going; this time is skipped");
                }
                Err(e) => tracing::warn!(import = %import.id, error = %e, "scheduled import not queued"),
            }
        }
        Ok(queued)
    }
}

/// Whether `chosen` is the object the import loaded last: the same key and the same ETag (or generation).
fn already_loaded(import: &Import, chosen: Option<&Candidate>) -> bool {
    match (&import.last_loaded, chosen) {
        (Some(last), Some(c)) => {
            last.key == c.key
                && (last.etag.is_some() || last.version.is_some())
                && last.etag == c.etag
                && last.version == c.version
        }
        _ => false,
    }
}
