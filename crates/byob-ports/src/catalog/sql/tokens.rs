use byob_core::{Member, MemberId, OrgId, TokenId, TokenMeta};
use chrono::{DateTime, Utc};
use sqlx::{AnyPool, any::AnyRow};

use super::{
    members,
    row::{ms, opt_ms, opt_time, parsed, text, time},
};
use crate::catalog::CatalogError;

macro_rules! token_columns {
    () => {
        "id, org_id, member_id, name, prefix, created_at, expires_at, revoked_at, last_used_at"
    };
}

fn from_row(row: &AnyRow) -> Result<TokenMeta, CatalogError> {
    Ok(TokenMeta {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        member_id: parsed(row, "member_id")?,
        name: text(row, "name")?,
        prefix: text(row, "prefix")?,
        created_at: time(row, "created_at")?,
        expires_at: opt_time(row, "expires_at")?,
        revoked_at: opt_time(row, "revoked_at")?,
        last_used_at: opt_time(row, "last_used_at")?,
    })
}

pub(super) async fn insert(pool: &AnyPool, t: &TokenMeta, hash: &str) -> Result<(), CatalogError> {
    sqlx::query(
        "INSERT INTO api_tokens (id, org_id, member_id, name, prefix, hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(t.id.to_string())
    .bind(t.org_id.to_string())
    .bind(t.member_id.to_string())
    .bind(&t.name)
    .bind(&t.prefix)
    .bind(hash)
    .bind(ms(t.created_at))
    .bind(opt_ms(t.expires_at))
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn find(pool: &AnyPool, hash: &str) -> Result<Option<(TokenMeta, Member)>, CatalogError> {
    let Some(token_row) = sqlx::query(concat!("SELECT ", token_columns!(), " FROM api_tokens WHERE hash = $1"))
        .bind(hash)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let token = from_row(&token_row)?;
    let member_row = sqlx::query(concat!("SELECT ", members::member_columns!(), " FROM members WHERE id = $1"))
        .bind(token.member_id.to_string())
        .fetch_optional(pool)
        .await?;
    match member_row {
        Some(row) => Ok(Some((token, members::from_row(&row)?))),
        None => Ok(None),
    }
}

pub(super) async fn list(pool: &AnyPool, org: OrgId, member: MemberId) -> Result<Vec<TokenMeta>, CatalogError> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        token_columns!(),
        " FROM api_tokens WHERE org_id = $1 AND member_id = $2 ORDER BY id"
    ))
    .bind(org.to_string())
    .bind(member.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn revoke(
    pool: &AnyPool,
    org: OrgId,
    member: MemberId,
    id: TokenId,
    at: DateTime<Utc>,
) -> Result<Option<TokenMeta>, CatalogError> {
    // COALESCE keeps the first revocation time when a token is revoked twice.
    let row = sqlx::query(concat!(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) \
         WHERE org_id = $2 AND member_id = $3 AND id = $4 RETURNING ",
        token_columns!(),
        ""
    ))
    .bind(ms(at))
    .bind(org.to_string())
    .bind(member.to_string())
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn touch(
    pool: &AnyPool,
    id: TokenId,
    at: DateTime<Utc>,
    granularity_ms: i64,
) -> Result<(), CatalogError> {
    sqlx::query(
        "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(ms(at))
    .bind(id.to_string())
    .bind(ms(at) - granularity_ms)
    .execute(pool)
    .await?;
    Ok(())
}
