//! Data-platform connections and the password secrets they own.

use byob_core::{ConnectionId, OrgId, connection::Connection};
use sqlx::{AnyPool, any::AnyRow};

use super::{
    row::{json, ms, parsed, sql, text, time, to_json},
    secrets,
};
use crate::catalog::{CatalogError, OwnedSecret};

const COLUMNS: &str = "id, org_id, name, platform, network, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<Connection, CatalogError> {
    Ok(Connection {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        name: text(row, "name")?,
        platform: json(row, "platform")?,
        network: json(row, "network")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

pub(super) async fn insert(pool: &AnyPool, c: &Connection, owned: &[OwnedSecret]) -> Result<(), CatalogError> {
    let mut tx = super::begin_write(pool).await?;
    // A new connection is due for its first verification at once: the health monitor's next pass runs it.
    sqlx::query(sql!("INSERT INTO connections ({COLUMNS}, next_check_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
        .bind(c.id.to_string())
        .bind(c.org_id.to_string())
        .bind(&c.name)
        .bind(to_json(&c.platform))
        .bind(to_json(&c.network))
        .bind(ms(c.created_at))
        .bind(ms(c.updated_at))
        .bind(ms(c.created_at))
        .execute(&mut *tx)
        .await?;
    for secret in owned {
        secrets::insert(&mut *tx, &secret.meta, &secret.stored, Some(c.id.to_string())).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn get(pool: &AnyPool, org: OrgId, id: ConnectionId) -> Result<Option<Connection>, CatalogError> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM connections WHERE org_id = $1 AND id = $2"))
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn find(pool: &AnyPool, org: OrgId, name: &str) -> Result<Option<Connection>, CatalogError> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM connections WHERE org_id = $1 AND name = $2"))
        .bind(org.to_string())
        .bind(name)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn list(pool: &AnyPool, org: OrgId) -> Result<Vec<Connection>, CatalogError> {
    let rows = sqlx::query(sql!("SELECT {COLUMNS} FROM connections WHERE org_id = $1 ORDER BY name"))
        .bind(org.to_string())
        .fetch_all(pool)
        .await?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn delete(pool: &AnyPool, org: OrgId, id: ConnectionId) -> Result<bool, CatalogError> {
    secrets::delete_owner(pool, "connections", org, &id.to_string()).await
}

pub(super) async fn update_platform(pool: &AnyPool, c: &Connection) -> Result<bool, CatalogError> {
    let done = sqlx::query(
        "UPDATE connections SET platform = $1, network = $2, updated_at = $3 WHERE org_id = $4 AND id = $5",
    )
    .bind(to_json(&c.platform))
    .bind(to_json(&c.network))
    .bind(ms(c.updated_at))
    .bind(c.org_id.to_string())
    .bind(c.id.to_string())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn record_table(
    pool: &AnyPool,
    connection: ConnectionId,
    table: &str,
    created_by: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), CatalogError> {
    sqlx::query(
        "INSERT INTO connection_tables (connection_id, table_name, created_by, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (connection_id, table_name) DO NOTHING",
    )
    .bind(connection.to_string())
    .bind(table)
    .bind(created_by)
    .bind(ms(at))
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn table_recorded(
    pool: &AnyPool,
    connection: ConnectionId,
    table: &str,
) -> Result<bool, CatalogError> {
    let row = sqlx::query("SELECT 1 AS one FROM connection_tables WHERE connection_id = $1 AND table_name = $2")
        .bind(connection.to_string())
        .bind(table)
        .fetch_optional(pool)
        .await?;
    Ok(row.is_some())
}

/// Keeps a connection's latest verification report and when the monitor checks it next.
pub(super) async fn put_report(
    pool: &AnyPool,
    org: OrgId,
    id: ConnectionId,
    report: &serde_json::Value,
    next_check_at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, CatalogError> {
    let done = sqlx::query("UPDATE connections SET report = $1, next_check_at = $2 WHERE org_id = $3 AND id = $4")
        .bind(report.to_string())
        .bind(ms(next_check_at))
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn report(
    pool: &AnyPool,
    org: OrgId,
    id: ConnectionId,
) -> Result<Option<serde_json::Value>, CatalogError> {
    let row = sqlx::query("SELECT report FROM connections WHERE org_id = $1 AND id = $2 AND report IS NOT NULL")
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(|r| json(r, "report")).transpose()
}

/// Connections verified before whose next check is due, oldest first: one query for the whole fleet.
pub(super) async fn due(
    pool: &AnyPool,
    now: chrono::DateTime<chrono::Utc>,
    limit: u32,
) -> Result<Vec<Connection>, CatalogError> {
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM connections WHERE next_check_at IS NOT NULL AND next_check_at <= $1 \
         ORDER BY next_check_at LIMIT $2"
    ))
    .bind(ms(now))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}
