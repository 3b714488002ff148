//! Export definitions and their runs. A run row sits next to the job that runs it and takes its state from it;
//! a run is queued only while no other run of its export is queued or running.

use byob_core::{
    ExportId, JobId, OrgId,
    export::{Export, ExportRun, RunTrigger},
    job::{Job, JobState},
};
use chrono::{DateTime, Utc};
use sqlx::{AnyPool, Row, any::AnyRow};

use super::{
    definitions, jobs,
    row::{json, limit, ms, opt_ms, opt_parsed, opt_text, opt_time, parsed, sql, text, time, to_json},
};
use crate::catalog::CatalogError;

const COLUMNS: &str = "id, org_id, name, definition, schedule, next_run_at, created_by, created_at, updated_at";

/// The parts of an export kept as one JSON document.
#[derive(serde::Serialize, serde::Deserialize)]
struct Definition {
    connection: String,
    source: byob_core::export::ExportSource,
    format: byob_core::export::ExportFormat,
    compression: byob_core::export::Compression,
    options: byob_core::export::ExportOptions,
    integration: Option<byob_core::IntegrationId>,
    path_template: String,
    staging_ttl_hours: Option<u32>,
}

fn from_row(row: &AnyRow) -> Result<Export, CatalogError> {
    let d: Definition = json(row, "definition")?;
    let schedule = opt_text(row, "schedule")?
        .map(|t| serde_json::from_str(&t).map_err(|e| CatalogError::Corrupt(format!("schedule: {e}"))))
        .transpose()?;
    Ok(Export {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        name: text(row, "name")?,
        connection: d.connection,
        source: d.source,
        format: d.format,
        compression: d.compression,
        options: d.options,
        integration: d.integration,
        path_template: d.path_template,
        staging_ttl_hours: d.staging_ttl_hours,
        schedule,
        next_run_at: opt_time(row, "next_run_at")?,
        created_by: text(row, "created_by")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn definition(e: &Export) -> String {
    to_json(&Definition {
        connection: e.connection.clone(),
        source: e.source.clone(),
        format: e.format,
        compression: e.compression,
        options: e.options.clone(),
        integration: e.integration,
        path_template: e.path_template.clone(),
        staging_ttl_hours: e.staging_ttl_hours,
    })
}

pub(super) async fn insert(pool: &AnyPool, e: &Export) -> Result<(), CatalogError> {
    sqlx::query(sql!("INSERT INTO exports ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
        .bind(e.id.to_string())
        .bind(e.org_id.to_string())
        .bind(&e.name)
        .bind(definition(e))
        .bind(e.schedule.as_ref().map(to_json))
        .bind(opt_ms(e.next_run_at))
        .bind(&e.created_by)
        .bind(ms(e.created_at))
        .bind(ms(e.updated_at))
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn get(pool: &AnyPool, org: OrgId, id: ExportId) -> Result<Option<Export>, CatalogError> {
    definitions::get(pool, "exports", COLUMNS, org, &id.to_string(), from_row).await
}

pub(super) async fn list(pool: &AnyPool, org: OrgId) -> Result<Vec<Export>, CatalogError> {
    definitions::list(pool, "exports", COLUMNS, org, from_row).await
}

pub(super) async fn update(pool: &AnyPool, e: &Export) -> Result<bool, CatalogError> {
    let done = sqlx::query(
        "UPDATE exports SET name = $1, definition = $2, schedule = $3, next_run_at = $4, updated_at = $5 \
         WHERE org_id = $6 AND id = $7",
    )
    .bind(&e.name)
    .bind(definition(e))
    .bind(e.schedule.as_ref().map(to_json))
    .bind(opt_ms(e.next_run_at))
    .bind(ms(e.updated_at))
    .bind(e.org_id.to_string())
    .bind(e.id.to_string())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delete(pool: &AnyPool, org: OrgId, id: ExportId) -> Result<bool, CatalogError> {
    definitions::delete(pool, "exports", org, &id.to_string()).await
}

/// Exports whose schedule is due.
pub(super) async fn due(pool: &AnyPool, now: DateTime<Utc>, max: u32) -> Result<Vec<Export>, CatalogError> {
    definitions::due(pool, "exports", COLUMNS, now, max, from_row).await
}

const RUN_COLUMNS: &str = "r.id, r.org_id, r.export_id, r.run_trigger, r.scheduled_for, r.integration_id, r.files, \
                           r.manifest_key, r.row_count, r.byte_count, r.pending, r.expires_at, r.acked_at, \
                           r.cleaned_at, r.created_at, j.state, j.error, j.finished_at";

pub(super) fn count(row: &AnyRow, column: &str) -> Result<u64, CatalogError> {
    let value: i64 = row.try_get(column)?;
    u64::try_from(value).map_err(|_| CatalogError::Corrupt(format!("{column} = {value}")))
}

fn run_from_row(row: &AnyRow) -> Result<ExportRun, CatalogError> {
    let state = text(row, "state")?;
    let trigger = text(row, "run_trigger")?;
    Ok(ExportRun {
        id: parsed(row, "id")?,
        export_id: parsed(row, "export_id")?,
        org_id: parsed(row, "org_id")?,
        trigger: match trigger.as_str() {
            "schedule" => RunTrigger::Schedule,
            "manual" => RunTrigger::Manual,
            other => return Err(CatalogError::Corrupt(format!("run_trigger = {other}"))),
        },
        scheduled_for: opt_time(row, "scheduled_for")?,
        state: JobState::parse(&state).ok_or_else(|| CatalogError::Corrupt(format!("state = {state}")))?,
        error: opt_text(row, "error")?
            .map(|t| serde_json::from_str(&t).map_err(|e| CatalogError::Corrupt(format!("error: {e}"))))
            .transpose()?,
        integration: opt_parsed(row, "integration_id")?,
        files: json(row, "files")?,
        manifest_key: opt_text(row, "manifest_key")?,
        rows: count(row, "row_count")?,
        bytes: count(row, "byte_count")?,
        pending: json(row, "pending")?,
        expires_at: opt_time(row, "expires_at")?,
        acked_at: opt_time(row, "acked_at")?,
        cleaned_at: opt_time(row, "cleaned_at")?,
        created_at: time(row, "created_at")?,
        finished_at: opt_time(row, "finished_at")?,
    })
}

/// Serializes the enqueues of one definition's runs: a row lock on PostgreSQL (across processes); on SQLite the
/// transaction holds the single writer's lock since it began ([`super::begin_write`]), so the check that follows
/// and the inserts see one state.
pub(super) async fn lock_for_enqueue(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: &str,
    table: &'static str,
    id: &str,
) -> Result<(), CatalogError> {
    if backend == "postgres" {
        sqlx::query(sql!("SELECT id FROM {table} WHERE id = $1 FOR UPDATE")).bind(id).fetch_optional(&mut **tx).await?;
    }
    Ok(())
}

/// Queues `job` and its run unless another run of the export is queued or running; `false` when one is.
pub(super) async fn enqueue_run(
    pool: &AnyPool,
    backend: &str,
    job: &Job,
    run: &ExportRun,
) -> Result<bool, CatalogError> {
    let mut tx = super::begin_write(pool).await?;
    lock_for_enqueue(&mut tx, backend, "exports", &run.export_id.to_string()).await?;
    if definitions::has_active_run(&mut tx, "export_runs", "export_id", &run.export_id.to_string()).await? {
        return Ok(false);
    }
    jobs::insert(&mut *tx, job).await?;
    sqlx::query(
        "INSERT INTO export_runs (id, org_id, export_id, run_trigger, scheduled_for, integration_id, files, \
         manifest_key, row_count, byte_count, pending, expires_at, acked_at, cleaned_at, created_at) VALUES ($1, $2, \
         $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(run.id.to_string())
    .bind(run.org_id.to_string())
    .bind(run.export_id.to_string())
    .bind(run.trigger.as_str())
    .bind(opt_ms(run.scheduled_for))
    .bind(run.integration.map(|i| i.to_string()))
    .bind(to_json(&run.files))
    .bind(run.manifest_key.clone())
    .bind(i64::try_from(run.rows).unwrap_or(i64::MAX))
    .bind(i64::try_from(run.bytes).unwrap_or(i64::MAX))
    .bind(to_json(&run.pending))
    .bind(opt_ms(run.expires_at))
    .bind(opt_ms(run.acked_at))
    .bind(opt_ms(run.cleaned_at))
    .bind(ms(run.created_at))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn get_run(pool: &AnyPool, org: OrgId, id: JobId) -> Result<Option<ExportRun>, CatalogError> {
    definitions::get_run(pool, "export_runs", RUN_COLUMNS, org, &id.to_string(), run_from_row).await
}

pub(super) async fn list_runs(
    pool: &AnyPool,
    org: OrgId,
    parent: ExportId,
    max: u32,
) -> Result<Vec<ExportRun>, CatalogError> {
    definitions::list_runs(pool, "export_runs", "export_id", RUN_COLUMNS, org, &parent.to_string(), max, run_from_row)
        .await
}

/// Saves what a run delivered, what it has pending and its cleanup state.
pub(super) async fn update_run(pool: &AnyPool, run: &ExportRun) -> Result<(), CatalogError> {
    sqlx::query(
        "UPDATE export_runs SET files = $1, manifest_key = $2, row_count = $3, byte_count = $4, pending = $5, \
         expires_at = $6, acked_at = $7, cleaned_at = $8 WHERE id = $9",
    )
    .bind(to_json(&run.files))
    .bind(run.manifest_key.clone())
    .bind(i64::try_from(run.rows).unwrap_or(i64::MAX))
    .bind(i64::try_from(run.bytes).unwrap_or(i64::MAX))
    .bind(to_json(&run.pending))
    .bind(opt_ms(run.expires_at))
    .bind(opt_ms(run.acked_at))
    .bind(opt_ms(run.cleaned_at))
    .bind(run.id.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

/// Runs whose files should go: staging runs past their time to live, and failed or cancelled runs that left
/// uploads or files behind (an interrupted process's).
pub(super) async fn runs_to_clean(
    pool: &AnyPool,
    now: DateTime<Utc>,
    max: u32,
) -> Result<Vec<ExportRun>, CatalogError> {
    let rows = sqlx::query(sql!(
        "SELECT {RUN_COLUMNS} FROM export_runs r JOIN jobs j ON j.id = r.id WHERE r.cleaned_at IS NULL AND \
         ((j.state = 'succeeded' AND r.expires_at IS NOT NULL AND r.expires_at <= $1) OR (j.state IN ('failed', \
         'cancelled') AND (r.pending <> '[]' OR r.files <> '[]' OR r.manifest_key IS NOT NULL))) ORDER BY r.id LIMIT $2"
    ))
    .bind(ms(now))
    .bind(limit(max))
    .fetch_all(pool)
    .await?;
    rows.iter().map(run_from_row).collect()
}
