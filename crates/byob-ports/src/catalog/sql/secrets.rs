use byob_core::{OrgId, SecretId, SecretMeta};
use sqlx::{AnyPool, Row, any::AnyRow};

use super::row::{limit, ms, opt_ms, opt_text, opt_time, parsed, text, time};
use crate::catalog::{CatalogError, Page, SecretToRewrap, StoredCiphertext};

macro_rules! secret_columns {
    () => {
        "id, org_id, name, description, key_id, ciphertext, created_at, updated_at, expires_at"
    };
}

fn meta_from_row(row: &AnyRow) -> Result<SecretMeta, CatalogError> {
    Ok(SecretMeta {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        name: text(row, "name")?,
        description: opt_text(row, "description")?,
        key_id: text(row, "key_id")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        expires_at: opt_time(row, "expires_at")?,
    })
}

fn stored_from_row(row: &AnyRow) -> Result<StoredCiphertext, CatalogError> {
    Ok(StoredCiphertext { key_id: text(row, "key_id")?, ciphertext: text(row, "ciphertext")? })
}

/// Inserts a secret; `owner` is the integration that owns it (hidden from the secrets API), if any.
pub(super) async fn insert<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    m: &SecretMeta,
    stored: &StoredCiphertext,
    owner: Option<String>,
) -> Result<(), CatalogError> {
    sqlx::query(
        "INSERT INTO secrets (id, org_id, name, description, key_id, ciphertext, created_at, updated_at, expires_at, \
         owner) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(m.id.to_string())
    .bind(m.org_id.to_string())
    .bind(&m.name)
    .bind(m.description.clone())
    .bind(&stored.key_id)
    .bind(&stored.ciphertext)
    .bind(ms(m.created_at))
    .bind(ms(m.updated_at))
    .bind(opt_ms(m.expires_at))
    .bind(owner)
    .execute(executor)
    .await?;
    Ok(())
}

pub(super) async fn get(
    pool: &AnyPool,
    org: OrgId,
    id: SecretId,
) -> Result<Option<(SecretMeta, StoredCiphertext)>, CatalogError> {
    let row = sqlx::query(concat!(
        "SELECT ",
        secret_columns!(),
        " FROM secrets WHERE org_id = $1 AND id = $2 AND owner IS NULL"
    ))
    .bind(org.to_string())
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?;
    row.map(|r| Ok((meta_from_row(&r)?, stored_from_row(&r)?))).transpose()
}

pub(super) async fn list(pool: &AnyPool, org: OrgId, page: Page<SecretId>) -> Result<Vec<SecretMeta>, CatalogError> {
    let after = page.after.map(|id| id.to_string()).unwrap_or_default();
    let rows = sqlx::query(concat!(
        "SELECT ",
        secret_columns!(),
        " FROM secrets WHERE org_id = $1 AND id > $2 AND owner IS NULL ORDER BY id LIMIT $3"
    ))
    .bind(org.to_string())
    .bind(after)
    .bind(limit(page.limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(meta_from_row).collect()
}

pub(super) async fn update(
    pool: &AnyPool,
    m: &SecretMeta,
    stored: Option<&StoredCiphertext>,
) -> Result<bool, CatalogError> {
    let done = match stored {
        Some(stored) => sqlx::query(
            "UPDATE secrets SET name = $1, description = $2, expires_at = $3, updated_at = $4, key_id = $5, \
             ciphertext = $6 WHERE org_id = $7 AND id = $8 AND owner IS NULL",
        )
        .bind(&m.name)
        .bind(m.description.clone())
        .bind(opt_ms(m.expires_at))
        .bind(ms(m.updated_at))
        .bind(&stored.key_id)
        .bind(&stored.ciphertext)
        .bind(m.org_id.to_string())
        .bind(m.id.to_string()),
        None => sqlx::query(
            "UPDATE secrets SET name = $1, description = $2, expires_at = $3, updated_at = $4 \
             WHERE org_id = $5 AND id = $6 AND owner IS NULL",
        )
        .bind(&m.name)
        .bind(m.description.clone())
        .bind(opt_ms(m.expires_at))
        .bind(ms(m.updated_at))
        .bind(m.org_id.to_string())
        .bind(m.id.to_string()),
    }
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delete(pool: &AnyPool, org: OrgId, id: SecretId) -> Result<bool, CatalogError> {
    let done = sqlx::query("DELETE FROM secrets WHERE org_id = $1 AND id = $2 AND owner IS NULL")
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn not_under_key(pool: &AnyPool, key_id: &str, max: u32) -> Result<Vec<SecretToRewrap>, CatalogError> {
    let rows =
        sqlx::query("SELECT id, org_id, key_id, ciphertext FROM secrets WHERE key_id <> $1 ORDER BY id LIMIT $2")
            .bind(key_id)
            .bind(limit(max))
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| Ok(SecretToRewrap { id: parsed(r, "id")?, org_id: parsed(r, "org_id")?, stored: stored_from_row(r)? }))
        .collect()
}

pub(super) async fn swap_ciphertext(
    pool: &AnyPool,
    id: SecretId,
    old: &StoredCiphertext,
    new: &StoredCiphertext,
) -> Result<bool, CatalogError> {
    let done = sqlx::query(
        "UPDATE secrets SET key_id = $1, ciphertext = $2 WHERE id = $3 AND key_id = $4 AND ciphertext = $5",
    )
    .bind(&new.key_id)
    .bind(&new.ciphertext)
    .bind(id.to_string())
    .bind(&old.key_id)
    .bind(&old.ciphertext)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn count_by_key(pool: &AnyPool) -> Result<Vec<(String, i64)>, CatalogError> {
    let rows = sqlx::query("SELECT key_id, COUNT(*) AS n FROM secrets GROUP BY key_id ORDER BY key_id")
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| Ok((text(r, "key_id")?, r.try_get::<i64, _>("n")?))).collect()
}

/// An owned secret's ciphertext, for byob's own use (never through the secrets API).
pub(super) async fn get_owned(
    pool: &AnyPool,
    org: OrgId,
    id: SecretId,
) -> Result<Option<StoredCiphertext>, CatalogError> {
    let row = sqlx::query("SELECT key_id, ciphertext FROM secrets WHERE org_id = $1 AND id = $2 AND owner IS NOT NULL")
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(stored_from_row).transpose()
}

/// Deletes a record and the secrets it owns, all or nothing. `table` is one of byob's own tables (`integrations`,
/// `connections`), never input.
pub(super) async fn delete_owner(
    pool: &AnyPool,
    table: &'static str,
    org: OrgId,
    id: &str,
) -> Result<bool, CatalogError> {
    let mut tx = super::begin_write(pool).await?;
    sqlx::query("DELETE FROM secrets WHERE org_id = $1 AND owner = $2")
        .bind(org.to_string())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let done = sqlx::query(super::row::sql!("DELETE FROM {table} WHERE org_id = $1 AND id = $2"))
        .bind(org.to_string())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}
