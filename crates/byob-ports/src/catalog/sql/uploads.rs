//! Upload records. The provider's session id and the relay token's hash live in their own columns: they are
//! capabilities, never part of the record the API shows.

use byob_core::{
    OrgId, UploadId,
    upload::{RESERVED_PURPOSE_PREFIX, Staged, Transfer, Upload, UploadState},
};
use chrono::{DateTime, Utc};
use sqlx::{AnyPool, Row, any::AnyRow};

use super::row::{json, limit, ms, opt_ms, opt_parsed, opt_text, opt_time, parsed, sql, text, time, to_json};
use crate::catalog::CatalogError;

const COLUMNS: &str = "id, org_id, filename, size, content_type, purpose, integration_id, object_key, transfer, \
                       session, token_hash, state, staged, expires_at, rejected_key, load_job, created_by, \
                       created_at, completed_at";

fn staged_text(staged: Staged) -> String {
    to_json(&staged).trim_matches('"').to_string()
}

fn from_row(row: &AnyRow) -> Result<Upload, CatalogError> {
    let size: i64 = row.try_get("size")?;
    let state = text(row, "state")?;
    let staged = text(row, "staged")?;
    let mut transfer: Transfer = json(row, "transfer")?;
    match &mut transfer {
        Transfer::Multipart { session, .. } => *session = opt_text(row, "session")?.unwrap_or_default(),
        Transfer::Relay { token_hash, .. } => *token_hash = opt_text(row, "token_hash")?.unwrap_or_default(),
        Transfer::Single => {}
    }
    Ok(Upload {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        filename: text(row, "filename")?,
        size: u64::try_from(size).map_err(|_| CatalogError::Corrupt(format!("size = {size}")))?,
        content_type: text(row, "content_type")?,
        purpose: text(row, "purpose")?,
        integration_id: opt_parsed(row, "integration_id")?,
        key: text(row, "object_key")?,
        transfer,
        state: UploadState::parse(&state).ok_or_else(|| CatalogError::Corrupt(format!("state = {state}")))?,
        staged: serde_json::from_value(serde_json::Value::String(staged.clone()))
            .map_err(|_| CatalogError::Corrupt(format!("staged = {staged}")))?,
        expires_at: time(row, "expires_at")?,
        rejected_key: opt_text(row, "rejected_key")?,
        load_job: opt_parsed(row, "load_job")?,
        created_by: text(row, "created_by")?,
        created_at: time(row, "created_at")?,
        completed_at: opt_time(row, "completed_at")?,
    })
}

fn secrets_of(transfer: &Transfer) -> (Option<String>, Option<String>) {
    match transfer {
        Transfer::Single => (None, None),
        Transfer::Multipart { session, .. } => (Some(session.clone()), None),
        Transfer::Relay { token_hash, .. } => (None, Some(token_hash.clone())),
    }
}

pub(super) async fn insert(pool: &AnyPool, u: &Upload) -> Result<(), CatalogError> {
    let (session, token_hash) = secrets_of(&u.transfer);
    sqlx::query(sql!(
        "INSERT INTO uploads ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
         $16, $17, $18, $19)"
    ))
    .bind(u.id.to_string())
    .bind(u.org_id.to_string())
    .bind(&u.filename)
    .bind(i64::try_from(u.size).unwrap_or(i64::MAX))
    .bind(&u.content_type)
    .bind(&u.purpose)
    .bind(u.integration_id.map(|i| i.to_string()))
    .bind(&u.key)
    .bind(to_json(&u.transfer))
    .bind(session)
    .bind(token_hash)
    .bind(u.state.as_str())
    .bind(staged_text(u.staged))
    .bind(ms(u.expires_at))
    .bind(u.rejected_key.clone())
    .bind(u.load_job.map(|j| j.to_string()))
    .bind(&u.created_by)
    .bind(ms(u.created_at))
    .bind(opt_ms(u.completed_at))
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn get(pool: &AnyPool, org: OrgId, id: UploadId) -> Result<Option<Upload>, CatalogError> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM uploads WHERE org_id = $1 AND id = $2"))
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn list(
    pool: &AnyPool,
    org: OrgId,
    after: Option<UploadId>,
    max: u32,
) -> Result<Vec<Upload>, CatalogError> {
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM uploads WHERE org_id = $1 AND id < $2 AND purpose NOT LIKE $3 ORDER BY id DESC LIMIT $4"
    ))
    .bind(org.to_string())
    .bind(after.map_or_else(|| "~".to_string(), |a| a.to_string()))
    .bind(format!("{RESERVED_PURPOSE_PREFIX}%"))
    .bind(limit(max))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Writes the mutable fields, only if the record is still in state `expected` (two completions of one upload
/// cannot both win).
pub(super) async fn update(pool: &AnyPool, u: &Upload, expected: UploadState) -> Result<bool, CatalogError> {
    let (session, token_hash) = secrets_of(&u.transfer);
    let done = sqlx::query(
        "UPDATE uploads SET transfer = $1, session = $2, token_hash = $3, state = $4, staged = $5, expires_at = $6, \
         rejected_key = $7, load_job = $8, completed_at = $9 WHERE org_id = $10 AND id = $11 AND state = $12",
    )
    .bind(to_json(&u.transfer))
    .bind(session)
    .bind(token_hash)
    .bind(u.state.as_str())
    .bind(staged_text(u.staged))
    .bind(ms(u.expires_at))
    .bind(u.rejected_key.clone())
    .bind(u.load_job.map(|j| j.to_string()))
    .bind(opt_ms(u.completed_at))
    .bind(u.org_id.to_string())
    .bind(u.id.to_string())
    .bind(expected.as_str())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Uploads whose staged object is still present after `now`'s expiry, any org, oldest first.
pub(super) async fn expired(pool: &AnyPool, now: DateTime<Utc>, max: u32) -> Result<Vec<Upload>, CatalogError> {
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM uploads WHERE staged = 'present' AND expires_at < $1 ORDER BY expires_at LIMIT $2"
    ))
    .bind(ms(now))
    .bind(limit(max))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Uploads still waiting for their bytes since before `before`, any org.
pub(super) async fn stale_pending(
    pool: &AnyPool,
    before: DateTime<Utc>,
    max: u32,
) -> Result<Vec<Upload>, CatalogError> {
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM uploads WHERE state = 'pending' AND created_at < $1 ORDER BY created_at LIMIT $2"
    ))
    .bind(ms(before))
    .bind(limit(max))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}
