use byob_core::{Org, OrgId};
use chrono::{DateTime, Utc};
use sqlx::{AnyPool, any::AnyRow};

use super::row::{limit, ms, parsed, text, time};
use crate::catalog::{CatalogError, Page};

macro_rules! org_columns {
    () => {
        "id, name, created_at, updated_at"
    };
}

fn from_row(row: &AnyRow) -> Result<Org, CatalogError> {
    Ok(Org {
        id: parsed(row, "id")?,
        name: text(row, "name")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

pub(super) async fn insert(pool: &AnyPool, org: &Org) -> Result<(), CatalogError> {
    sqlx::query("INSERT INTO orgs (id, name, created_at, updated_at) VALUES ($1, $2, $3, $4)")
        .bind(org.id.to_string())
        .bind(&org.name)
        .bind(ms(org.created_at))
        .bind(ms(org.updated_at))
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn get(pool: &AnyPool, id: OrgId) -> Result<Option<Org>, CatalogError> {
    let row = sqlx::query(concat!("SELECT ", org_columns!(), " FROM orgs WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn list(pool: &AnyPool, page: Page<OrgId>) -> Result<Vec<Org>, CatalogError> {
    let after = page.after.map(|id| id.to_string()).unwrap_or_default();
    let rows = sqlx::query(concat!("SELECT ", org_columns!(), " FROM orgs WHERE id > $1 ORDER BY id LIMIT $2"))
        .bind(after)
        .bind(limit(page.limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn rename(
    pool: &AnyPool,
    id: OrgId,
    name: &str,
    at: DateTime<Utc>,
) -> Result<Option<Org>, CatalogError> {
    let row =
        sqlx::query(concat!("UPDATE orgs SET name = $1, updated_at = $2 WHERE id = $3 RETURNING ", org_columns!(), ""))
            .bind(name)
            .bind(ms(at))
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn delete(pool: &AnyPool, id: OrgId) -> Result<bool, CatalogError> {
    // Foreign keys cascade to members, tokens and secrets on both backends.
    let done = sqlx::query("DELETE FROM orgs WHERE id = $1").bind(id.to_string()).execute(pool).await?;
    Ok(done.rows_affected() > 0)
}
