//! What export and import definitions share in the catalog: one row per definition in its org, with a name and
//! a schedule's next run time.

use byob_core::OrgId;
use chrono::{DateTime, Utc};
use sqlx::{AnyPool, any::AnyRow};

use super::row::{limit, ms, sql};
use crate::catalog::CatalogError;

pub(super) type FromRow<T> = fn(&AnyRow) -> Result<T, CatalogError>;

pub(super) async fn get<T>(
    pool: &AnyPool,
    table: &'static str,
    columns: &'static str,
    org: OrgId,
    id: &str,
    from_row: FromRow<T>,
) -> Result<Option<T>, CatalogError> {
    let row = sqlx::query(sql!("SELECT {columns} FROM {table} WHERE org_id = $1 AND id = $2"))
        .bind(org.to_string())
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn list<T>(
    pool: &AnyPool,
    table: &'static str,
    columns: &'static str,
    org: OrgId,
    from_row: FromRow<T>,
) -> Result<Vec<T>, CatalogError> {
    let rows = sqlx::query(sql!("SELECT {columns} FROM {table} WHERE org_id = $1 ORDER BY name"))
        .bind(org.to_string())
        .fetch_all(pool)
        .await?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn delete(pool: &AnyPool, table: &'static str, org: OrgId, id: &str) -> Result<bool, CatalogError> {
    let done = sqlx::query(sql!("DELETE FROM {table} WHERE org_id = $1 AND id = $2"))
        .bind(org.to_string())
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Definitions whose schedule's next run is at or before `now`.
pub(super) async fn due<T>(
    pool: &AnyPool,
    table: &'static str,
    columns: &'static str,
    now: DateTime<Utc>,
    max: u32,
    from_row: FromRow<T>,
) -> Result<Vec<T>, CatalogError> {
    let rows = sqlx::query(sql!(
        "SELECT {columns} FROM {table} WHERE next_run_at IS NOT NULL AND next_run_at <= $1 ORDER BY next_run_at \
         LIMIT $2"
    ))
    .bind(ms(now))
    .bind(limit(max))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}
