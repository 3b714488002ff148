use byob_core::{Member, MemberId, OrgId, Role};
use sqlx::{AnyPool, any::AnyRow};

use super::row::{limit, ms, opt_text, parsed, text, time};
use crate::catalog::{CatalogError, Page};

macro_rules! member_columns {
    () => {
        "id, org_id, name, email, role, created_at, updated_at"
    };
}
pub(super) use member_columns;

pub(super) fn from_row(row: &AnyRow) -> Result<Member, CatalogError> {
    let role = text(row, "role")?;
    Ok(Member {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        name: text(row, "name")?,
        email: opt_text(row, "email")?,
        role: Role::parse(&role).ok_or_else(|| CatalogError::Corrupt(format!("role = {role}")))?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

pub(super) async fn insert(pool: &AnyPool, m: &Member) -> Result<(), CatalogError> {
    sqlx::query(
        "INSERT INTO members (id, org_id, name, email, role, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(m.id.to_string())
    .bind(m.org_id.to_string())
    .bind(&m.name)
    .bind(m.email.clone())
    .bind(m.role.as_str())
    .bind(ms(m.created_at))
    .bind(ms(m.updated_at))
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn get(pool: &AnyPool, org: OrgId, id: MemberId) -> Result<Option<Member>, CatalogError> {
    let row = sqlx::query(concat!("SELECT ", member_columns!(), " FROM members WHERE org_id = $1 AND id = $2"))
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn list(pool: &AnyPool, org: OrgId, page: Page<MemberId>) -> Result<Vec<Member>, CatalogError> {
    let after = page.after.map(|id| id.to_string()).unwrap_or_default();
    let rows = sqlx::query(concat!(
        "SELECT ",
        member_columns!(),
        " FROM members WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(org.to_string())
    .bind(after)
    .bind(limit(page.limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn update(pool: &AnyPool, m: &Member) -> Result<bool, CatalogError> {
    let mut tx = super::begin_write(pool).await?;
    if m.role != Role::Admin {
        keep_an_admin(&mut tx, pool, m.org_id, m.id).await?;
    }
    let done = sqlx::query(
        "UPDATE members SET name = $1, email = $2, role = $3, updated_at = $4 WHERE org_id = $5 AND id = $6",
    )
    .bind(&m.name)
    .bind(m.email.clone())
    .bind(m.role.as_str())
    .bind(ms(m.updated_at))
    .bind(m.org_id.to_string())
    .bind(m.id.to_string())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

/// Refuses a change that would leave the org with no admin (the member is its last one), with
/// [`CatalogError::Conflict`]`("last-admin")`. Checked inside the writing transaction, the org locked
/// ([`super::lock_org`]), so two admins demoting or deleting each other at once cannot both succeed.
async fn keep_an_admin(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    pool: &AnyPool,
    org: OrgId,
    id: MemberId,
) -> Result<(), CatalogError> {
    super::lock_org(tx, pool, org).await?;
    let admins: Vec<String> = sqlx::query_scalar("SELECT id FROM members WHERE org_id = $1 AND role = 'admin'")
        .bind(org.to_string())
        .fetch_all(&mut **tx)
        .await?;
    let id = id.to_string();
    if admins == [id] { Err(CatalogError::Conflict("last-admin")) } else { Ok(()) }
}

pub(super) async fn delete(pool: &AnyPool, org: OrgId, id: MemberId) -> Result<bool, CatalogError> {
    let mut tx = super::begin_write(pool).await?;
    keep_an_admin(&mut tx, pool, org, id).await?;
    let done = sqlx::query("DELETE FROM members WHERE org_id = $1 AND id = $2")
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}
