//! Exports: definitions, their runs (jobs of kind `export`), schedules, acknowledgement of staging runs, and the
//! janitor's cleanup. docs/exports.md describes the contract.

mod encode;
mod run;
mod staging;
mod template;

use byob_core::{
    AuditOutcome, ExportId, IntegrationId, JobId, OrgId,
    export::{Compression, Export, ExportFormat, ExportOptions, ExportRun, ExportSource, RunTrigger},
    integration::{Feature, IntegrationState},
    job::JobState,
    table::TableName,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use template::{PathTemplate, RunValues, beside};

use super::{ConnectionService, ScheduleRequest, schedule};
use crate::{Access, Auditor, Deps, RequestContext, ServiceError, StorageRouter, health::Events, jobs::queued_job};

/// Hours a staging run's files live unless acknowledged (seed 002's seven days).
pub(crate) const DEFAULT_STAGING_TTL_HOURS: u32 = 7 * 24;
const MAX_STAGING_TTL_HOURS: u32 = 366 * 24;
/// Longest query text accepted.
const MAX_QUERY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExport {
    /// Unique in the org; the export's id when absent.
    pub name: Option<String>,
    /// A connection's name or id (`local` for the embedded warehouse).
    pub connection: String,
    /// A table (`name` or `schema.name`); give this or `query`.
    pub table: Option<String>,
    /// One read-only statement; give this or `table`.
    pub query: Option<String>,
    #[serde(default = "csv")]
    pub format: ExportFormat,
    /// CSV/JSON Lines: `none` (default), `gzip`, `zstd`; Parquet: `snappy` (default), `zstd`, `none`.
    pub compression: Option<Compression>,
    /// An integration's id or name; when absent, the integration serving exports, else the default storage.
    pub integration: Option<String>,
    /// Default `exports/{{export}}/{{date}}/{{run_id}}/part-{{part}}.{ext}`.
    pub path_template: Option<String>,
    #[serde(default)]
    pub options: ExportOptions,
    /// Delete each run's files once acknowledged or after `staging_ttl_hours`. Default: on for the default
    /// storage, off for an integration.
    pub staging: Option<bool>,
    #[schema(minimum = 1, maximum = 8784)]
    pub staging_ttl_hours: Option<u32>,
    /// Runs on a schedule instead of once now.
    pub schedule: Option<ScheduleRequest>,
}

fn csv() -> ExportFormat {
    ExportFormat::Csv
}

/// What a template and schedule give, before any run.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewExport {
    pub path_template: Option<String>,
    #[serde(default = "csv")]
    pub format: ExportFormat,
    pub compression: Option<Compression>,
    #[serde(default)]
    pub options: ExportOptions,
    pub schedule: Option<ScheduleRequest>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportPreview {
    /// The first files' keys under the destination's prefix (ids and times of a sample run).
    pub files: Vec<String>,
    pub manifest: String,
    pub success_marker: String,
    /// The schedule's next times (UTC).
    pub next_runs: Vec<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportView {
    #[serde(flatten)]
    pub export: Export,
    /// The schedule's next times (UTC), while it is active.
    pub next_runs: Vec<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportCreated {
    pub export: ExportView,
    /// The run started now (an export without a schedule).
    pub run: Option<ExportRun>,
}

#[derive(Debug, Clone)]
pub struct ExportService {
    deps: Deps,
    auditor: Auditor,
    router: StorageRouter,
    connections: ConnectionService,
    events: Events,
}

fn default_template(format: ExportFormat, compression: Compression) -> String {
    format!(
        "exports/{{{{export}}}}/{{{{date}}}}/{{{{run_id}}}}/part-{{{{part}}}}.{}{}",
        format.extension(),
        compression.suffix(format)
    )
}

fn split(options: &ExportOptions) -> bool {
    options.max_rows_per_file.is_some() || options.max_bytes_per_file.is_some()
}

fn check_options(format: ExportFormat, compression: Compression, options: &ExportOptions) -> Result<(), ServiceError> {
    if !compression.fits(format) {
        let allowed = match format {
            ExportFormat::Parquet => "snappy, zstd or none",
            ExportFormat::Csv | ExportFormat::Jsonl => "none, gzip or zstd",
        };
        return Err(ServiceError::invalid(
            "compression",
            format!("{} files take {allowed}, not {}", format.extension(), compression.as_str()),
        ));
    }
    if options.max_rows_per_file.is_some_and(|r| !(1..=1_000_000_000_000).contains(&r)) {
        return Err(ServiceError::invalid("options.max_rows_per_file", "from 1 to 1000000000000"));
    }
    if options.max_bytes_per_file.is_some_and(|b| !(1 << 20..=5 << 40).contains(&b)) {
        return Err(ServiceError::invalid("options.max_bytes_per_file", "from 1048576 (1 MiB) to 5 TiB"));
    }
    if options.null_value.len() > 64 || options.null_value.contains(['\n', '\r', '"', ',']) {
        return Err(ServiceError::invalid(
            "options.null_value",
            "at most 64 bytes, without quotes, commas or line breaks",
        ));
    }
    Ok(())
}

impl ExportService {
    #[must_use]
    pub(crate) fn new(
        deps: Deps,
        auditor: Auditor,
        router: StorageRouter,
        connections: ConnectionService,
        events: Events,
    ) -> Self {
        Self { deps, auditor, router, connections, events }
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
        detail: serde_json::Value,
    ) -> Result<(), ServiceError> {
        self.auditor.record(ctx, org, action, Some(target), AuditOutcome::Success, detail).await
    }

    fn view(&self, export: Export) -> ExportView {
        let next_runs = schedule::next_runs(export.schedule.as_ref(), self.deps.clock.now());
        ExportView { export, next_runs }
    }

    async fn integration_id(&self, org: OrgId, text: &str) -> Result<IntegrationId, ServiceError> {
        let all = crate::records::all_integrations(&self.deps, org).await?;
        all.iter()
            .find(|i| i.id.to_string() == text || i.name == text)
            .map(|i| i.id)
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::INTEGRATION_NOT_FOUND, text))
    }

    /// The integration a run of `export` writes to (`None`: the default storage), checked usable now.
    async fn destination(&self, ctx: &RequestContext, export: &Export) -> Result<Option<IntegrationId>, ServiceError> {
        match export.integration {
            Some(id) => {
                let i = self
                    .deps
                    .catalog
                    .get_integration(export.org_id, id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found(byob_core::codes::INTEGRATION_NOT_FOUND, id))?;
                if i.state == IntegrationState::Disabled {
                    return Err(ServiceError::Refused {
                        code: byob_core::codes::INTEGRATION_DISABLED,
                        message: format!("integration `{}` is disabled; enable it to export into it", i.name),
                    });
                }
                self.router.client_for(ctx, &i).await?;
                Ok(Some(id))
            }
            None => {
                let routed = self.router.for_feature(ctx, export.org_id, Feature::Exports).await?;
                Ok(routed.integration)
            }
        }
    }

    /// Creates an export; one without a schedule starts its run at once.
    ///
    /// # Errors
    /// Not a member; invalid fields (names the rule); unknown connection or integration; a table that does not
    /// exist.
    pub async fn create(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        req: CreateExport,
    ) -> Result<ExportCreated, ServiceError> {
        self.member(ctx, org).await?;
        let source = match (req.table, req.query) {
            (Some(table), None) => {
                TableName::parse("table", &table)?;
                ExportSource::Table { table }
            }
            (None, Some(sql)) => {
                if sql.trim().is_empty() || sql.len() > MAX_QUERY_BYTES {
                    return Err(ServiceError::invalid("query", "one read-only statement of at most 64 KiB"));
                }
                byob_core::export::check_read_only_query("query", &sql)?;
                ExportSource::Query { sql }
            }
            _ => return Err(ServiceError::invalid("table", "give either `table` or `query`")),
        };
        let compression = req.compression.unwrap_or_else(|| Compression::default_for(req.format));
        check_options(req.format, compression, &req.options)?;
        let path_template = req.path_template.unwrap_or_else(|| default_template(req.format, compression));
        PathTemplate::parse(&path_template, split(&req.options))?;
        let connection = self.connections.resolve_name(org, &req.connection).await?;
        if let ExportSource::Query { sql } = &source {
            self.connections.check_query(org, &connection, sql).await?;
        }
        let used = match &source {
            ExportSource::Table { .. } => super::connections::Use::ExportTable,
            ExportSource::Query { .. } => super::connections::Use::Query,
        };
        self.connections.permit(ctx, org, &connection, used).await?;
        let integration = match &req.integration {
            Some(text) => Some(self.integration_id(org, text).await?),
            None => None,
        };
        let staging_ttl_hours = match (req.staging, req.staging_ttl_hours) {
            (Some(false), Some(_)) => {
                return Err(ServiceError::invalid("staging_ttl_hours", "applies only to staging exports"));
            }
            (_, Some(h)) if h == 0 || h > MAX_STAGING_TTL_HOURS => {
                return Err(ServiceError::invalid("staging_ttl_hours", format!("1 to {MAX_STAGING_TTL_HOURS}")));
            }
            (_, Some(h)) => Some(h),
            (Some(true), None) => Some(DEFAULT_STAGING_TTL_HOURS),
            (Some(false), None) => None,
            (None, None) => None,
        };
        let now = self.deps.clock.now();
        let (schedule, next_run_at) = schedule::from_request(req.schedule.as_ref(), now)?;
        crate::quota::check(&self.deps, org, byob_ports::catalog::Usage::Exports, 1).await?;
        if schedule.is_none() {
            crate::quota::check(&self.deps, org, byob_ports::catalog::Usage::QueuedJobs, 1).await?;
        }
        let id = ExportId::generate();
        let name = req.name.unwrap_or_else(|| id.to_string());
        schedule::check_name(&name)?;
        let mut export = Export {
            id,
            org_id: org,
            name,
            connection,
            source,
            format: req.format,
            compression,
            options: req.options,
            integration,
            path_template,
            staging_ttl_hours,
            next_run_at,
            schedule,
            created_by: ctx.actor().key(),
            created_at: now,
            updated_at: now,
        };
        let destination = self.destination(ctx, &export).await?;
        if export.staging_ttl_hours.is_none() && req.staging.is_none() && destination.is_none() {
            // The default storage is byob's, not the customer's: files there are staging by nature.
            export.staging_ttl_hours = Some(DEFAULT_STAGING_TTL_HOURS);
        }
        if let ExportSource::Table { table } = &export.source {
            let opened = self.connections.open(ctx, org, &export.connection).await?;
            let name = TableName::parse("table", table)?;
            if opened.warehouse.columns(&name).await.map_err(super::connections::warehouse_error)?.is_none() {
                return Err(ServiceError::Invalid {
                    field: "table".into(),
                    message: format!("table {name} does not exist in connection `{}`", export.connection),
                });
            }
        }
        self.deps.catalog.insert_export(&export).await.map_err(|e| match e {
            byob_ports::catalog::CatalogError::Conflict(_) => {
                ServiceError::Conflict(format!("an export named `{}` already exists", export.name))
            }
            other => other.into(),
        })?;
        self.audit(
            ctx,
            org,
            byob_core::actions::EXPORT_CREATE,
            export.id.to_string(),
            json!({ "name": export.name, "connection": export.connection, "format": export.format,
                    "scheduled": export.schedule.is_some() }),
        )
        .await?;
        let run = if export.schedule.is_none() {
            Some(self.enqueue(ctx, &export, RunTrigger::Manual, None).await?)
        } else {
            None
        };
        Ok(ExportCreated { export: self.view(export), run })
    }

    async fn load(&self, org: OrgId, id: ExportId) -> Result<Export, ServiceError> {
        self.deps
            .catalog
            .get_export(org, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::EXPORT_NOT_FOUND, id))
    }

    /// # Errors
    /// Not a member; not found.
    pub async fn get(&self, ctx: &RequestContext, org: OrgId, id: ExportId) -> Result<ExportView, ServiceError> {
        self.member(ctx, org).await?;
        Ok(self.view(self.load(org, id).await?))
    }

    /// # Errors
    /// Not a member.
    pub async fn list(&self, ctx: &RequestContext, org: OrgId) -> Result<Vec<ExportView>, ServiceError> {
        self.member(ctx, org).await?;
        Ok(self.deps.catalog.list_exports(org).await?.into_iter().map(|e| self.view(e)).collect())
    }

    /// Deletes the definition and its run history (files already delivered stay).
    ///
    /// # Errors
    /// Not a member; not found; a run is queued or running.
    pub async fn delete(&self, ctx: &RequestContext, org: OrgId, id: ExportId) -> Result<(), ServiceError> {
        self.member(ctx, org).await?;
        let export = self.load(org, id).await?;
        let runs = self.deps.catalog.list_export_runs(org, id, 1).await?;
        if runs.first().is_some_and(|r| !r.state.is_final()) {
            return Err(ServiceError::Refused {
                code: byob_core::codes::EXPORT_RUN_ACTIVE,
                message: "a run of this export is queued or running; cancel it or wait for it first".into(),
            });
        }
        self.deps.catalog.delete_export(org, id).await?;
        self.audit(ctx, org, byob_core::actions::EXPORT_DELETE, id.to_string(), json!({ "name": export.name })).await
    }

    /// Pauses or resumes the schedule. Resuming starts from the next time after now (nothing missed is run).
    ///
    /// # Errors
    /// Not a member; not found; no schedule.
    pub async fn set_paused(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: ExportId,
        paused: bool,
    ) -> Result<ExportView, ServiceError> {
        self.member(ctx, org).await?;
        let mut export = self.load(org, id).await?;
        let now = self.deps.clock.now();
        export.next_run_at =
            schedule::set_paused(export.schedule.as_mut(), paused, now, byob_core::codes::EXPORT_NOT_SCHEDULED)?;
        export.updated_at = now;
        self.deps.catalog.update_export(&export).await?;
        let action = if paused { byob_core::actions::EXPORT_PAUSE } else { byob_core::actions::EXPORT_RESUME };
        self.audit(ctx, org, action, id.to_string(), json!({})).await?;
        Ok(self.view(export))
    }

    /// Renders a template and a schedule for a sample run.
    ///
    /// # Errors
    /// Not a member; the template's or schedule's rule broken.
    pub async fn preview(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        req: PreviewExport,
    ) -> Result<ExportPreview, ServiceError> {
        self.member(ctx, org).await?;
        let compression = req.compression.unwrap_or_else(|| Compression::default_for(req.format));
        check_options(req.format, compression, &req.options)?;
        let text = req.path_template.unwrap_or_else(|| default_template(req.format, compression));
        let template = PathTemplate::parse(&text, split(&req.options))?;
        let now = self.deps.clock.now();
        let values = RunValues {
            org: org.to_string(),
            export: ExportId::generate().to_string(),
            run_id: JobId::generate().to_string(),
            started_at: now,
        };
        let files = if split(&req.options) { vec![1, 2, 3] } else { vec![1] };
        let folder = template.folder(&values);
        Ok(ExportPreview {
            files: files.into_iter().map(|p| template.render(&values, p)).collect(),
            manifest: beside(&folder, "_manifest.json"),
            success_marker: beside(&folder, "_SUCCESS"),
            next_runs: schedule::next_runs(schedule::from_request(req.schedule.as_ref(), now)?.0.as_ref(), now),
        })
    }

    /// Queues a run unless one is queued or running.
    async fn enqueue(
        &self,
        ctx: &RequestContext,
        export: &Export,
        trigger: RunTrigger,
        scheduled_for: Option<DateTime<Utc>>,
    ) -> Result<ExportRun, ServiceError> {
        crate::quota::check(&self.deps, export.org_id, byob_ports::catalog::Usage::QueuedJobs, 1).await?;
        let destination = self.destination(ctx, export).await?;
        let now = self.deps.clock.now();
        let job = queued_job(ctx, export.org_id, "export", json!({ "export": export.id }), None, now);
        let id = job.id;
        let run = ExportRun {
            id,
            export_id: export.id,
            org_id: export.org_id,
            trigger,
            scheduled_for,
            state: JobState::Queued,
            error: None,
            integration: destination,
            files: Vec::new(),
            manifest_key: None,
            rows: 0,
            bytes: 0,
            pending: Vec::new(),
            expires_at: None,
            acked_at: None,
            cleaned_at: None,
            created_at: now,
            finished_at: None,
        };
        if !self.deps.catalog.enqueue_export_run(&job, &run).await? {
            return Err(ServiceError::Refused {
                code: byob_core::codes::EXPORT_RUN_ACTIVE,
                message: format!("a run of export `{}` is already queued or running; one runs at a time", export.name),
            });
        }
        self.audit(
            ctx,
            export.org_id,
            byob_core::actions::EXPORT_RUN,
            export.id.to_string(),
            json!({ "run": id, "trigger": trigger.as_str(), "scheduled_for": scheduled_for }),
        )
        .await?;
        Ok(run)
    }

    /// Starts a run now.
    ///
    /// # Errors
    /// Not a member; not found; a run is already queued or running (`export-run-active`).
    pub async fn trigger(&self, ctx: &RequestContext, org: OrgId, id: ExportId) -> Result<ExportRun, ServiceError> {
        self.member(ctx, org).await?;
        let export = self.load(org, id).await?;
        self.enqueue(ctx, &export, RunTrigger::Manual, None).await
    }

    /// # Errors
    /// Not a member; not found.
    pub async fn runs(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: ExportId,
        limit: u32,
    ) -> Result<Vec<ExportRun>, ServiceError> {
        self.member(ctx, org).await?;
        self.load(org, id).await?;
        Ok(self.deps.catalog.list_export_runs(org, id, limit).await?)
    }

    async fn load_run(&self, org: OrgId, export: ExportId, run: JobId) -> Result<ExportRun, ServiceError> {
        self.deps
            .catalog
            .get_export_run(org, run)
            .await?
            .filter(|r| r.export_id == export)
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::EXPORT_RUN_NOT_FOUND, run))
    }

    /// # Errors
    /// Not a member; not found.
    pub async fn run(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        export: ExportId,
        run: JobId,
    ) -> Result<ExportRun, ServiceError> {
        self.member(ctx, org).await?;
        self.load_run(org, export, run).await
    }

    /// Queues the runs whose time has come, once per export (see [`schedule`] for missed runs).
    ///
    /// # Errors
    /// Catalog errors; one export's failure is logged and the others go on.
    pub async fn tick(&self) -> Result<u32, ServiceError> {
        let now = self.deps.clock.now();
        let ctx = RequestContext::system();
        let mut queued = 0;
        for mut export in self.deps.catalog.due_exports(now, 100).await? {
            let Some(schedule::Due { scheduled_for, next }) =
                export.schedule.as_ref().and_then(|s| schedule::due(s, now))
            else {
                tracing::warn!(export = %export.id, "schedule unreadable; not run");
                continue;
            };
            let due = scheduled_for.or(export.next_run_at);
            export.next_run_at = next;
            export.updated_at = now;
            self.deps.catalog.update_export(&export).await?;
            match self.enqueue(&ctx, &export, RunTrigger::Schedule, due).await {
                Ok(_) => queued += 1,
                Err(ServiceError::Refused { code: byob_core::codes::EXPORT_RUN_ACTIVE, .. }) => {
                    tracing::info!(export = %export.id, "previous run still going; this time is skipped");
                }
                Err(e) => {
                    tracing::warn!(export = %export.id, error = %e, "scheduled run not queued");
                    self.events
                        .emit(
                            &ctx,
                            export.org_id,
                            byob_core::event::EXPORT_FAILED,
                            Some(export.id.to_string()),
                            json!({ "export": export.id, "name": export.name, "run": null,
                                    "code": "export-not-started", "message": e.to_string() }),
                        )
                        .await?;
                }
            }
        }
        Ok(queued)
    }
}
