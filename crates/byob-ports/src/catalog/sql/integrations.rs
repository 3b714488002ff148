use byob_core::{
    IntegrationId, OrgId, SecretId,
    integration::{Integration, IntegrationState},
    location::Provider,
};
use sqlx::{AnyPool, Row, any::AnyRow};

use super::{
    row::{json, limit, ms, opt_text, parsed, text, time, to_json},
    secrets,
};
use crate::catalog::{CatalogError, OwnedSecret, Page};

macro_rules! integration_columns {
    () => {
        "id, org_id, name, provider, bucket, prefix, region, endpoint, path_style, credentials, kms_key, \
         allowed_origins, staging_ttl_hours, features, state, created_at, updated_at"
    };
}

fn provider(text: &str) -> Result<Provider, CatalogError> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| CatalogError::Corrupt(format!("provider = {text}")))
}

fn from_row(row: &AnyRow) -> Result<Integration, CatalogError> {
    let state = text(row, "state")?;
    let ttl: i64 = row.try_get("staging_ttl_hours")?;
    let path_style: i64 = row.try_get("path_style")?;
    Ok(Integration {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        name: text(row, "name")?,
        provider: provider(&text(row, "provider")?)?,
        bucket: text(row, "bucket")?,
        prefix: text(row, "prefix")?,
        region: opt_text(row, "region")?,
        endpoint: opt_text(row, "endpoint")?,
        path_style: path_style != 0,
        credentials: json(row, "credentials")?,
        kms_key: opt_text(row, "kms_key")?,
        allowed_origins: json(row, "allowed_origins")?,
        staging_ttl_hours: u32::try_from(ttl)
            .map_err(|_| CatalogError::Corrupt(format!("staging_ttl_hours = {ttl}")))?,
        features: json(row, "features")?,
        state: IntegrationState::parse(&state).ok_or_else(|| CatalogError::Corrupt(format!("state = {state}")))?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// Inserts the integration unless another of its org already serves one of its features: checked inside the
/// writing transaction, the org locked ([`super::lock_org`]), so two concurrent creates cannot both take a feature.
pub(super) async fn insert(pool: &AnyPool, i: &Integration, owned: &[OwnedSecret]) -> Result<(), CatalogError> {
    let mut tx = super::begin_write(pool).await?;
    if !i.features.is_empty() {
        super::lock_org(&mut tx, pool, i.org_id).await?;
        let rows = sqlx::query("SELECT features FROM integrations WHERE org_id = $1")
            .bind(i.org_id.to_string())
            .fetch_all(&mut *tx)
            .await?;
        for row in &rows {
            let taken: Vec<byob_core::integration::Feature> = json(row, "features")?;
            if taken.iter().any(|f| i.features.contains(f)) {
                return Err(CatalogError::Conflict("feature"));
            }
        }
    }
    sqlx::query(concat!(
        "INSERT INTO integrations (",
        integration_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    ))
    .bind(i.id.to_string())
    .bind(i.org_id.to_string())
    .bind(&i.name)
    .bind(i.provider.as_str())
    .bind(&i.bucket)
    .bind(&i.prefix)
    .bind(i.region.clone())
    .bind(i.endpoint.clone())
    .bind(i64::from(i.path_style))
    .bind(to_json(&i.credentials))
    .bind(i.kms_key.clone())
    .bind(to_json(&i.allowed_origins))
    .bind(i64::from(i.staging_ttl_hours))
    .bind(to_json(&i.features))
    .bind(i.state.as_str())
    .bind(ms(i.created_at))
    .bind(ms(i.updated_at))
    .execute(&mut *tx)
    .await?;
    for secret in owned {
        secrets::insert(&mut *tx, &secret.meta, &secret.stored, Some(i.id.to_string())).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn get(pool: &AnyPool, org: OrgId, id: IntegrationId) -> Result<Option<Integration>, CatalogError> {
    let row =
        sqlx::query(concat!("SELECT ", integration_columns!(), " FROM integrations WHERE org_id = $1 AND id = $2"))
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?;
    row.as_ref().map(from_row).transpose()
}

pub(super) async fn list(
    pool: &AnyPool,
    org: OrgId,
    page: Page<IntegrationId>,
) -> Result<Vec<Integration>, CatalogError> {
    let after = page.after.map(|id| id.to_string()).unwrap_or_default();
    let rows = sqlx::query(concat!(
        "SELECT ",
        integration_columns!(),
        " FROM integrations WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(org.to_string())
    .bind(after)
    .bind(limit(page.limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

pub(super) async fn update(
    pool: &AnyPool,
    i: &Integration,
    add: &[OwnedSecret],
    remove: &[SecretId],
) -> Result<bool, CatalogError> {
    let mut tx = super::begin_write(pool).await?;
    let done = sqlx::query(
        "UPDATE integrations SET name = $1, region = $2, path_style = $3, credentials = $4, kms_key = $5, \
         allowed_origins = $6, staging_ttl_hours = $7, features = $8, state = $9, updated_at = $10 \
         WHERE org_id = $11 AND id = $12",
    )
    .bind(&i.name)
    .bind(i.region.clone())
    .bind(i64::from(i.path_style))
    .bind(to_json(&i.credentials))
    .bind(i.kms_key.clone())
    .bind(to_json(&i.allowed_origins))
    .bind(i64::from(i.staging_ttl_hours))
    .bind(to_json(&i.features))
    .bind(i.state.as_str())
    .bind(ms(i.updated_at))
    .bind(i.org_id.to_string())
    .bind(i.id.to_string())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    // Removed first: a replacement may reuse the name of the secret it replaces.
    for id in remove {
        sqlx::query("DELETE FROM secrets WHERE id = $1 AND owner = $2")
            .bind(id.to_string())
            .bind(i.id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    for secret in add {
        secrets::insert(&mut *tx, &secret.meta, &secret.stored, Some(i.id.to_string())).await?;
    }
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn delete(pool: &AnyPool, org: OrgId, id: IntegrationId) -> Result<bool, CatalogError> {
    secrets::delete_owner(pool, "integrations", org, &id.to_string()).await
}
