//! Import definitions and their runs, next to the jobs that run them (as exports).

use byob_core::{
    ImportId, JobId, OrgId,
    export::RunTrigger,
    import::{Import, ImportRun},
    job::{Job, JobState},
};
use chrono::{DateTime, Utc};
use sqlx::{AnyPool, Row, any::AnyRow};

use super::{
    definitions,
    exports::{count, lock_for_enqueue},
    jobs,
    row::{json, ms, opt_ms, opt_text, opt_time, parsed, sql, text, time, to_json},
};
use crate::catalog::CatalogError;

const COLUMNS: &str =
    "id, org_id, name, definition, schedule, next_run_at, last_loaded, created_by, created_at, updated_at";

#[derive(serde::Serialize, serde::Deserialize)]
struct Definition {
    integration: byob_core::IntegrationId,
    source: byob_core::import::ImportSource,
    connection: String,
    table: String,
    load: serde_json::Value,
}

fn optional_json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<Option<T>, CatalogError> {
    opt_text(row, column)?
        .map(|t| serde_json::from_str(&t).map_err(|e| CatalogError::Corrupt(format!("{column}: {e}"))))
        .transpose()
}

fn from_row(row: &AnyRow) -> Result<Import, CatalogError> {
    let d: Definition = json(row, "definition")?;
    Ok(Import {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        name: text(row, "name")?,
        integration: d.integration,
        source: d.source,
        connection: d.connection,
        table: d.table,
        load: d.load,
        schedule: optional_json(row, "schedule")?,
        next_run_at: opt_time(row, "next_run_at")?,
        last_loaded: optional_json(row, "last_loaded")?,
        created_by: text(row, "created_by")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn definition(i: &Import) -> String {
    to_json(&Definition {
        integration: i.integration,
        source: i.source.clone(),
        connection: i.connection.clone(),
        table: i.table.clone(),
        load: i.load.clone(),
    })
}

pub(super) async fn insert(pool: &AnyPool, i: &Import) -> Result<(), CatalogError> {
    sqlx::query(sql!("INSERT INTO imports ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"))
        .bind(i.id.to_string())
        .bind(i.org_id.to_string())
        .bind(&i.name)
        .bind(definition(i))
        .bind(i.schedule.as_ref().map(to_json))
        .bind(opt_ms(i.next_run_at))
        .bind(i.last_loaded.as_ref().map(to_json))
        .bind(&i.created_by)
        .bind(ms(i.created_at))
        .bind(ms(i.updated_at))
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn get(pool: &AnyPool, org: OrgId, id: ImportId) -> Result<Option<Import>, CatalogError> {
    definitions::get(pool, "imports", COLUMNS, org, &id.to_string(), from_row).await
}

pub(super) async fn list(pool: &AnyPool, org: OrgId) -> Result<Vec<Import>, CatalogError> {
    definitions::list(pool, "imports", COLUMNS, org, from_row).await
}

pub(super) async fn update(pool: &AnyPool, i: &Import) -> Result<bool, CatalogError> {
    let done = sqlx::query(
        "UPDATE imports SET name = $1, definition = $2, schedule = $3, next_run_at = $4, last_loaded = $5, \
         updated_at = $6 WHERE org_id = $7 AND id = $8",
    )
    .bind(&i.name)
    .bind(definition(i))
    .bind(i.schedule.as_ref().map(to_json))
    .bind(opt_ms(i.next_run_at))
    .bind(i.last_loaded.as_ref().map(to_json))
    .bind(ms(i.updated_at))
    .bind(i.org_id.to_string())
    .bind(i.id.to_string())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delete(pool: &AnyPool, org: OrgId, id: ImportId) -> Result<bool, CatalogError> {
    definitions::delete(pool, "imports", org, &id.to_string()).await
}

pub(super) async fn due(pool: &AnyPool, now: DateTime<Utc>, max: u32) -> Result<Vec<Import>, CatalogError> {
    definitions::due(pool, "imports", COLUMNS, now, max, from_row).await
}

const RUN_COLUMNS: &str = "r.id, r.org_id, r.import_id, r.run_trigger, r.forced, r.outcome, r.object_key, r.etag, \
                           r.row_count, r.list_requests, r.created_at, j.state, j.error, j.finished_at";

fn run_from_row(row: &AnyRow) -> Result<ImportRun, CatalogError> {
    let state = text(row, "state")?;
    let trigger = text(row, "run_trigger")?;
    let forced: i64 = row.try_get("forced")?;
    let requests: Option<i64> = row.try_get("list_requests")?;
    Ok(ImportRun {
        id: parsed(row, "id")?,
        import_id: parsed(row, "import_id")?,
        org_id: parsed(row, "org_id")?,
        trigger: if trigger == "schedule" { RunTrigger::Schedule } else { RunTrigger::Manual },
        forced: forced != 0,
        state: JobState::parse(&state).ok_or_else(|| CatalogError::Corrupt(format!("state = {state}")))?,
        error: optional_json(row, "error")?,
        outcome: opt_text(row, "outcome")?,
        key: opt_text(row, "object_key")?,
        etag: opt_text(row, "etag")?,
        rows: count(row, "row_count")?,
        list_requests: requests.and_then(|n| u32::try_from(n).ok()),
        created_at: time(row, "created_at")?,
        finished_at: opt_time(row, "finished_at")?,
    })
}

/// Queues `job` and its run unless another run of the import is queued or running; `false` when one is.
pub(super) async fn enqueue_run(
    pool: &AnyPool,
    backend: &str,
    job: &Job,
    run: &ImportRun,
) -> Result<bool, CatalogError> {
    let mut tx = super::begin_write(pool).await?;
    lock_for_enqueue(&mut tx, backend, "imports", &run.import_id.to_string()).await?;
    if definitions::has_active_run(&mut tx, "import_runs", "import_id", &run.import_id.to_string()).await? {
        return Ok(false);
    }
    jobs::insert(&mut *tx, job).await?;
    sqlx::query(
        "INSERT INTO import_runs (id, org_id, import_id, run_trigger, forced, outcome, object_key, etag, row_count, \
         list_requests, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(run.id.to_string())
    .bind(run.org_id.to_string())
    .bind(run.import_id.to_string())
    .bind(run.trigger.as_str())
    .bind(i64::from(run.forced))
    .bind(run.outcome.clone())
    .bind(run.key.clone())
    .bind(run.etag.clone())
    .bind(i64::try_from(run.rows).unwrap_or(i64::MAX))
    .bind(run.list_requests.map(i64::from))
    .bind(ms(run.created_at))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn get_run(pool: &AnyPool, org: OrgId, id: JobId) -> Result<Option<ImportRun>, CatalogError> {
    definitions::get_run(pool, "import_runs", RUN_COLUMNS, org, &id.to_string(), run_from_row).await
}

pub(super) async fn list_runs(
    pool: &AnyPool,
    org: OrgId,
    parent: ImportId,
    max: u32,
) -> Result<Vec<ImportRun>, CatalogError> {
    definitions::list_runs(pool, "import_runs", "import_id", RUN_COLUMNS, org, &parent.to_string(), max, run_from_row)
        .await
}

/// Records what a run chose and did.
pub(super) async fn update_run(pool: &AnyPool, run: &ImportRun) -> Result<(), CatalogError> {
    sqlx::query(
        "UPDATE import_runs SET outcome = $1, object_key = $2, etag = $3, row_count = $4, list_requests = $5 \
         WHERE id = $6",
    )
    .bind(run.outcome.clone())
    .bind(run.key.clone())
    .bind(run.etag.clone())
    .bind(i64::try_from(run.rows).unwrap_or(i64::MAX))
    .bind(run.list_requests.map(i64::from))
    .bind(run.id.to_string())
    .execute(pool)
    .await?;
    Ok(())
}
