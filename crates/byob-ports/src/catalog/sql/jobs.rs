//! The job queue. A job is claimed by one process under a lease it renews while it works; on PostgreSQL the
//! claim skips rows another process is claiming (`FOR UPDATE SKIP LOCKED`), on SQLite the single writer makes
//! the same statement atomic. A running job whose lease ran out (its process died) is claimable again.

use byob_core::{
    JobId, OrgId,
    job::{Job, JobError, JobState, Progress},
};
use chrono::{DateTime, Utc};
use sqlx::{AnyPool, Row, any::AnyRow};

use super::row::{json, limit, ms, opt_text, opt_time, parsed, sql, text, time, to_json};
use crate::catalog::CatalogError;

const COLUMNS: &str = "id, org_id, kind, state, spec, progress, result, error, attempts, max_attempts, \
                       cancel_requested, lease_owner, lease_until, run_after, created_by, created_at, started_at, \
                       finished_at, commit_record";

fn count(row: &AnyRow, column: &str) -> Result<u32, CatalogError> {
    let value: i64 = row.try_get(column)?;
    u32::try_from(value).map_err(|_| CatalogError::Corrupt(format!("{column} = {value}")))
}

fn from_row(row: &AnyRow) -> Result<Job, CatalogError> {
    let state = text(row, "state")?;
    let cancel: i64 = row.try_get("cancel_requested")?;
    let optional_json = |column: &str| -> Result<Option<serde_json::Value>, CatalogError> {
        opt_text(row, column)?
            .map(|t| serde_json::from_str(&t).map_err(|e| CatalogError::Corrupt(format!("{column}: {e}"))))
            .transpose()
    };
    let error: Option<JobError> = optional_json("error")?
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| CatalogError::Corrupt(format!("error: {e}")))?;
    Ok(Job {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        kind: text(row, "kind")?,
        state: JobState::parse(&state).ok_or_else(|| CatalogError::Corrupt(format!("state = {state}")))?,
        spec: json(row, "spec")?,
        progress: json(row, "progress")?,
        result: optional_json("result")?,
        error,
        attempts: count(row, "attempts")?,
        max_attempts: count(row, "max_attempts")?,
        cancel_requested: cancel != 0,
        lease_owner: opt_text(row, "lease_owner")?,
        lease_until: opt_time(row, "lease_until")?,
        run_after: time(row, "run_after")?,
        created_by: text(row, "created_by")?,
        created_at: time(row, "created_at")?,
        started_at: opt_time(row, "started_at")?,
        finished_at: opt_time(row, "finished_at")?,
        commit_record: opt_text(row, "commit_record")?,
    })
}

pub(super) async fn insert<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    j: &Job,
) -> Result<(), CatalogError> {
    sqlx::query(sql!(
        "INSERT INTO jobs ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
         $17, $18, $19)"
    ))
    .bind(j.id.to_string())
    .bind(j.org_id.to_string())
    .bind(&j.kind)
    .bind(j.state.as_str())
    .bind(j.spec.to_string())
    .bind(to_json(&j.progress))
    .bind(j.result.as_ref().map(ToString::to_string))
    .bind(j.error.as_ref().map(to_json))
    .bind(i64::from(j.attempts))
    .bind(i64::from(j.max_attempts))
    .bind(i64::from(j.cancel_requested))
    .bind(j.lease_owner.clone())
    .bind(j.lease_until.map(ms))
    .bind(ms(j.run_after))
    .bind(&j.created_by)
    .bind(ms(j.created_at))
    .bind(j.started_at.map(ms))
    .bind(j.finished_at.map(ms))
    .bind(j.commit_record.clone())
    .execute(executor)
    .await?;
    Ok(())
}

pub(super) async fn get(pool: &AnyPool, org: OrgId, id: JobId) -> Result<Option<Job>, CatalogError> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM jobs WHERE org_id = $1 AND id = $2"))
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn list(
    pool: &AnyPool,
    org: OrgId,
    state: Option<JobState>,
    max: u32,
) -> Result<Vec<Job>, CatalogError> {
    let rows = match state {
        Some(state) => {
            sqlx::query(sql!("SELECT {COLUMNS} FROM jobs WHERE org_id = $1 AND state = $2 ORDER BY id DESC LIMIT $3"))
                .bind(org.to_string())
                .bind(state.as_str())
                .bind(limit(max))
                .fetch_all(pool)
                .await?
        }
        None => {
            sqlx::query(sql!("SELECT {COLUMNS} FROM jobs WHERE org_id = $1 ORDER BY id DESC LIMIT $2"))
                .bind(org.to_string())
                .bind(limit(max))
                .fetch_all(pool)
                .await?
        }
    };
    rows.iter().map(from_row).collect()
}

/// Claims the oldest runnable job: queued and due, or running under an expired lease. Counts the attempt.
pub(super) async fn claim(
    pool: &AnyPool,
    backend: &str,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    max_running_per_org: u32,
) -> Result<Option<Job>, CatalogError> {
    let lock = if backend == "postgres" { " FOR UPDATE SKIP LOCKED" } else { "" };
    // An org at its share of running jobs waits; the others' jobs go first. (On PostgreSQL two processes claiming
    // at the same instant may each let one more of an org's jobs through; the share holds from the next claim.)
    let statement = format!(
        "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, \
         started_at = COALESCE(started_at, $3) WHERE id = (SELECT id FROM jobs j WHERE ((j.state = 'queued' AND \
         j.run_after <= $3) OR (j.state = 'running' AND j.lease_until < $3)) AND (SELECT COUNT(*) FROM jobs r \
         WHERE r.org_id = j.org_id AND r.state = 'running' AND r.lease_until >= $3) < $4 \
         ORDER BY j.run_after, j.id LIMIT 1{lock}) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(statement))
        .bind(owner)
        .bind(ms(lease_until))
        .bind(ms(now))
        .bind(i64::from(max_running_per_org))
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Stores what a load is about to commit (see `warehouse/commit.rs`).
pub(super) async fn record_commit(pool: &AnyPool, id: JobId, record: &str) -> Result<(), CatalogError> {
    sqlx::query("UPDATE jobs SET commit_record = $1 WHERE id = $2")
        .bind(record)
        .bind(id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}

/// Extends the lease and records progress. `None` when the lease was lost (another process took the job over);
/// otherwise whether a cancel was requested.
pub(super) async fn heartbeat(
    pool: &AnyPool,
    id: JobId,
    owner: &str,
    lease_until: DateTime<Utc>,
    progress: &Progress,
) -> Result<Option<bool>, CatalogError> {
    let row = sqlx::query(
        "UPDATE jobs SET lease_until = $1, progress = $2 WHERE id = $3 AND lease_owner = $4 AND state = 'running' \
         RETURNING cancel_requested",
    )
    .bind(ms(lease_until))
    .bind(to_json(progress))
    .bind(id.to_string())
    .bind(owner)
    .fetch_optional(pool)
    .await?;
    row.map(|r| r.try_get::<i64, _>("cancel_requested").map(|c| c != 0)).transpose().map_err(Into::into)
}

/// Ends an attempt held by `owner`: a final state, or back to `queued` (a retry after `run_after`).
#[allow(clippy::too_many_arguments)]
pub(super) async fn finish(
    pool: &AnyPool,
    id: JobId,
    owner: &str,
    state: JobState,
    progress: &Progress,
    result: Option<&serde_json::Value>,
    error: Option<&JobError>,
    at: DateTime<Utc>,
) -> Result<bool, CatalogError> {
    let finished_at = state.is_final().then(|| ms(at));
    let done = sqlx::query(
        "UPDATE jobs SET state = $1, progress = $2, result = $3, error = $4, lease_owner = NULL, lease_until = NULL, \
         finished_at = $5, run_after = $6 WHERE id = $7 AND lease_owner = $8 AND state = 'running'",
    )
    .bind(state.as_str())
    .bind(to_json(progress))
    .bind(result.map(ToString::to_string))
    .bind(error.map(to_json))
    .bind(finished_at)
    .bind(ms(at))
    .bind(id.to_string())
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Asks a job to stop: a queued job is cancelled at once, a running one when its process next checks.
pub(super) async fn request_cancel(
    pool: &AnyPool,
    org: OrgId,
    id: JobId,
    at: DateTime<Utc>,
) -> Result<Option<Job>, CatalogError> {
    let mut tx = super::begin_write(pool).await?;
    sqlx::query(
        "UPDATE jobs SET state = 'cancelled', finished_at = $1, cancel_requested = 1 WHERE org_id = $2 AND id = $3 \
         AND state = 'queued'",
    )
    .bind(ms(at))
    .bind(org.to_string())
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE jobs SET cancel_requested = 1 WHERE org_id = $1 AND id = $2 AND state = 'running'")
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    get(pool, org, id).await
}
