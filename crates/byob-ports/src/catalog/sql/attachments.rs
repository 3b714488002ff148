//! Attachment records and the admins' policies per collection field.

use byob_core::{
    AttachmentId, OrgId, UploadId,
    attachment::{Attachment, AttachmentState, Policy, Rejection},
};
use chrono::{DateTime, Utc};
use sqlx::{AnyPool, Row, any::AnyRow};

use super::row::{json, limit, ms, opt_ms, opt_parsed, opt_text, opt_time, parsed, sql, text, time, to_json};
use crate::catalog::{AttachmentFilter, CatalogError, StoredPolicy};

const COLUMNS: &str = "id, org_id, collection, record, field, filename, size, declared_type, content_type, state, \
                       rejection, integration_id, object_key, thumbnail_key, scanned_by, scan_job, upload_id, \
                       created_by, created_at, settled_at";

fn from_row(row: &AnyRow) -> Result<Attachment, CatalogError> {
    let size: i64 = row.try_get("size")?;
    let state = text(row, "state")?;
    let rejection: Option<Rejection> = match opt_text(row, "rejection")? {
        Some(_) => Some(json(row, "rejection")?),
        None => None,
    };
    Ok(Attachment {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        collection: text(row, "collection")?,
        record: text(row, "record")?,
        field: text(row, "field")?,
        filename: text(row, "filename")?,
        size: u64::try_from(size).map_err(|_| CatalogError::Corrupt(format!("size = {size}")))?,
        declared_type: text(row, "declared_type")?,
        content_type: opt_text(row, "content_type")?,
        state: AttachmentState::parse(&state).ok_or_else(|| CatalogError::Corrupt(format!("state = {state}")))?,
        rejection,
        integration_id: parsed(row, "integration_id")?,
        key: text(row, "object_key")?,
        thumbnail_key: opt_text(row, "thumbnail_key")?,
        scanned_by: opt_text(row, "scanned_by")?,
        scan_job: opt_parsed(row, "scan_job")?,
        upload_id: parsed(row, "upload_id")?,
        created_by: text(row, "created_by")?,
        created_at: time(row, "created_at")?,
        settled_at: opt_time(row, "settled_at")?,
    })
}

/// Inserts the attachment unless its record's field already holds `max` files that are not rejected; `false`
/// then. The count and the insert are one write transaction, so two uploads racing for the last place cannot both
/// win.
pub(super) async fn insert_within(pool: &AnyPool, a: &Attachment, max: u32) -> Result<bool, CatalogError> {
    let mut tx = super::begin_write(pool).await?;
    super::lock_org(&mut tx, pool, a.org_id).await?;
    let held: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM attachments WHERE org_id = $1 AND collection = $2 AND record = $3 AND field = $4 \
         AND state <> 'rejected'",
    )
    .bind(a.org_id.to_string())
    .bind(&a.collection)
    .bind(&a.record)
    .bind(&a.field)
    .fetch_one(&mut *tx)
    .await?
    .try_get("n")?;
    if held >= i64::from(max) {
        return Ok(false);
    }
    sqlx::query(sql!(
        "INSERT INTO attachments ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17, $18, $19, $20)"
    ))
    .bind(a.id.to_string())
    .bind(a.org_id.to_string())
    .bind(&a.collection)
    .bind(&a.record)
    .bind(&a.field)
    .bind(&a.filename)
    .bind(i64::try_from(a.size).unwrap_or(i64::MAX))
    .bind(&a.declared_type)
    .bind(a.content_type.clone())
    .bind(a.state.as_str())
    .bind(a.rejection.as_ref().map(to_json))
    .bind(a.integration_id.to_string())
    .bind(&a.key)
    .bind(a.thumbnail_key.clone())
    .bind(a.scanned_by.clone())
    .bind(a.scan_job.map(|j| j.to_string()))
    .bind(a.upload_id.to_string())
    .bind(&a.created_by)
    .bind(ms(a.created_at))
    .bind(opt_ms(a.settled_at))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn get(pool: &AnyPool, org: OrgId, id: AttachmentId) -> Result<Option<Attachment>, CatalogError> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM attachments WHERE org_id = $1 AND id = $2"))
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn of_upload(
    pool: &AnyPool,
    org: OrgId,
    upload: UploadId,
) -> Result<Option<Attachment>, CatalogError> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM attachments WHERE org_id = $1 AND upload_id = $2"))
        .bind(org.to_string())
        .bind(upload.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Oldest first, by id; every filter narrows.
pub(super) async fn list(
    pool: &AnyPool,
    org: OrgId,
    filter: &AttachmentFilter,
    after: Option<AttachmentId>,
    max: u32,
) -> Result<Vec<Attachment>, CatalogError> {
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM attachments WHERE org_id = $1 AND ($2 = '' OR collection = $2) AND ($3 = '' OR record \
         = $3) AND ($4 = '' OR field = $4) AND ($5 = '' OR state = $5) AND id > $6 ORDER BY id LIMIT $7"
    ))
    .bind(org.to_string())
    .bind(filter.collection.clone().unwrap_or_default())
    .bind(filter.record.clone().unwrap_or_default())
    .bind(filter.field.clone().unwrap_or_default())
    .bind(filter.state.map(|s| s.as_str().to_string()).unwrap_or_default())
    .bind(after.map(|a| a.to_string()).unwrap_or_default())
    .bind(limit(max))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Writes the mutable fields, only if the record is still in state `expected`.
pub(super) async fn update(pool: &AnyPool, a: &Attachment, expected: AttachmentState) -> Result<bool, CatalogError> {
    let done = sqlx::query(
        "UPDATE attachments SET content_type = $1, state = $2, rejection = $3, thumbnail_key = $4, scanned_by = $5, \
         scan_job = $6, settled_at = $7 WHERE org_id = $8 AND id = $9 AND state = $10",
    )
    .bind(a.content_type.clone())
    .bind(a.state.as_str())
    .bind(a.rejection.as_ref().map(to_json))
    .bind(a.thumbnail_key.clone())
    .bind(a.scanned_by.clone())
    .bind(a.scan_job.map(|j| j.to_string()))
    .bind(opt_ms(a.settled_at))
    .bind(a.org_id.to_string())
    .bind(a.id.to_string())
    .bind(expected.as_str())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delete(pool: &AnyPool, org: OrgId, id: AttachmentId) -> Result<bool, CatalogError> {
    let done = sqlx::query("DELETE FROM attachments WHERE org_id = $1 AND id = $2")
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Attachments in `state` since before `before`, any org, oldest first (the janitor's scans to restart).
pub(super) async fn in_state(
    pool: &AnyPool,
    state: AttachmentState,
    before: DateTime<Utc>,
    max: u32,
) -> Result<Vec<Attachment>, CatalogError> {
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM attachments WHERE state = $1 AND created_at < $2 ORDER BY created_at LIMIT $3"
    ))
    .bind(state.as_str())
    .bind(ms(before))
    .bind(limit(max))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

fn policy_from_row(row: &AnyRow) -> Result<StoredPolicy, CatalogError> {
    Ok(StoredPolicy {
        collection: text(row, "collection")?,
        field: text(row, "field")?,
        policy: json::<Policy>(row, "policy")?,
        updated_by: text(row, "updated_by")?,
        updated_at: time(row, "updated_at")?,
    })
}

pub(super) async fn put_policy(pool: &AnyPool, org: OrgId, p: &StoredPolicy) -> Result<(), CatalogError> {
    sqlx::query(
        "INSERT INTO attachment_policies (org_id, collection, field, policy, updated_by, updated_at) VALUES ($1, $2, \
         $3, $4, $5, $6) ON CONFLICT (org_id, collection, field) DO UPDATE SET policy = $4, updated_by = $5, \
         updated_at = $6",
    )
    .bind(org.to_string())
    .bind(&p.collection)
    .bind(&p.field)
    .bind(to_json(&p.policy))
    .bind(&p.updated_by)
    .bind(ms(p.updated_at))
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn get_policy(
    pool: &AnyPool,
    org: OrgId,
    collection: &str,
    field: &str,
) -> Result<Option<StoredPolicy>, CatalogError> {
    let row = sqlx::query(
        "SELECT collection, field, policy, updated_by, updated_at FROM attachment_policies WHERE org_id = $1 AND \
         collection = $2 AND field = $3",
    )
    .bind(org.to_string())
    .bind(collection)
    .bind(field)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(policy_from_row).transpose()
}

pub(super) async fn list_policies(pool: &AnyPool, org: OrgId) -> Result<Vec<StoredPolicy>, CatalogError> {
    let rows = sqlx::query(
        "SELECT collection, field, policy, updated_by, updated_at FROM attachment_policies WHERE org_id = $1 ORDER BY \
         collection, field LIMIT 1000",
    )
    .bind(org.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter().map(policy_from_row).collect()
}

pub(super) async fn delete_policy(
    pool: &AnyPool,
    org: OrgId,
    collection: &str,
    field: &str,
) -> Result<bool, CatalogError> {
    let done = sqlx::query("DELETE FROM attachment_policies WHERE org_id = $1 AND collection = $2 AND field = $3")
        .bind(org.to_string())
        .bind(collection)
        .bind(field)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}
