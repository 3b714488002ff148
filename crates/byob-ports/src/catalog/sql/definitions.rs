//! What export and import definitions share in the catalog: one row per definition in its org, with a name and
//! a schedule's next run time.

use byob_core::OrgId;
use chrono::{DateTime, Utc};
use sqlx::{AnyPool, Row, any::AnyRow};

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

/// One run of a definition (a row of `runs` joined with its job), in `org`.
pub(super) async fn get_run<T>(
    pool: &AnyPool,
    runs: &'static str,
    columns: &'static str,
    org: OrgId,
    id: &str,
    from_row: FromRow<T>,
) -> Result<Option<T>, CatalogError> {
    let row = sqlx::query(sql!(
        "SELECT {columns} FROM {runs} r JOIN jobs j ON j.id = r.id WHERE r.org_id = $1 AND r.id = $2"
    ))
    .bind(org.to_string())
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The runs of one definition (`parent` names its column in `runs`), newest first.
#[allow(clippy::too_many_arguments)]
pub(super) async fn list_runs<T>(
    pool: &AnyPool,
    runs: &'static str,
    parent: &'static str,
    columns: &'static str,
    org: OrgId,
    parent_id: &str,
    max: u32,
    from_row: FromRow<T>,
) -> Result<Vec<T>, CatalogError> {
    let rows = sqlx::query(sql!(
        "SELECT {columns} FROM {runs} r JOIN jobs j ON j.id = r.id WHERE r.org_id = $1 AND r.{parent} = $2 \
         ORDER BY r.id DESC LIMIT $3"
    ))
    .bind(org.to_string())
    .bind(parent_id)
    .bind(limit(max))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Whether a run of the definition is queued or running, inside the enqueueing transaction.
pub(super) async fn has_active_run(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    runs: &'static str,
    parent: &'static str,
    parent_id: &str,
) -> Result<bool, CatalogError> {
    let active: i64 = sqlx::query(sql!(
        "SELECT count(*) AS n FROM {runs} r JOIN jobs j ON j.id = r.id WHERE r.{parent} = $1 AND j.state IN \
         ('queued', 'running')"
    ))
    .bind(parent_id)
    .fetch_one(&mut **tx)
    .await?
    .try_get("n")?;
    Ok(active > 0)
}
