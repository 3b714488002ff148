//! Asset versions, signing keys, store settings and streaming writes.

use async_trait::async_trait;
use byob_core::{OrgId, asset::AssetVersion};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::{Row, any::AnyRow};

use super::{
    SqlCatalog,
    row::{limit, ms, opt_ms, opt_parsed, opt_text, opt_time, parsed, sql, text, time},
};
use crate::catalog::{AssetCatalog, AssetKey, AssetStore, AssetWrite, CatalogError, PlannedWrite, PurgedContent};

const COLUMNS: &str = "org_id, name, version, sha256, size, deleted, author, created_at, previous, restored_from, \
                       integration_id, manifest_sha256, manifest_written, purged_at";

fn unsigned(row: &AnyRow, column: &str) -> Result<u64, CatalogError> {
    let value: i64 = row.try_get(column)?;
    u64::try_from(value).map_err(|_| CatalogError::Corrupt(format!("{column} = {value}")))
}

fn opt_unsigned(row: &AnyRow, column: &str) -> Result<Option<u64>, CatalogError> {
    let value: Option<i64> = row.try_get(column)?;
    value.map(|v| u64::try_from(v).map_err(|_| CatalogError::Corrupt(format!("{column} = {v}")))).transpose()
}

fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn from_row(row: &AnyRow) -> Result<AssetVersion, CatalogError> {
    let deleted: i64 = row.try_get("deleted")?;
    let written: i64 = row.try_get("manifest_written")?;
    Ok(AssetVersion {
        org_id: parsed(row, "org_id")?,
        name: text(row, "name")?,
        version: unsigned(row, "version")?,
        sha256: opt_text(row, "sha256")?,
        size: unsigned(row, "size")?,
        deleted: deleted != 0,
        author: text(row, "author")?,
        created_at: time(row, "created_at")?,
        previous: opt_unsigned(row, "previous")?,
        restored_from: opt_unsigned(row, "restored_from")?,
        integration_id: opt_parsed(row, "integration_id")?,
        manifest_sha256: text(row, "manifest_sha256")?,
        manifest_written: written != 0,
        purged_at: opt_time(row, "purged_at")?,
    })
}

fn store_from_row(row: &AnyRow) -> Result<AssetStore, CatalogError> {
    let days: i64 = row.try_get("retention_days")?;
    Ok(AssetStore {
        org_id: parsed(row, "org_id")?,
        retention_days: u32::try_from(days).map_err(|_| CatalogError::Corrupt(format!("retention_days = {days}")))?,
        verified_at: opt_time(row, "verified_at")?,
        last_report: opt_text(row, "last_report")?,
        updated_by: text(row, "updated_by")?,
        updated_at: time(row, "updated_at")?,
    })
}

const WRITE_COLUMNS: &str = "org_id, staging_key, integration_id, upload_id, upload, name, sha256, started_at";

fn write_from_row(row: &AnyRow) -> Result<AssetWrite, CatalogError> {
    let planned = match (opt_parsed(row, "upload")?, opt_text(row, "name")?, opt_text(row, "sha256")?) {
        (Some(upload), Some(name), Some(sha256)) => Some(PlannedWrite { upload, name, sha256 }),
        _ => None,
    };
    Ok(AssetWrite {
        org_id: parsed(row, "org_id")?,
        staging_key: text(row, "staging_key")?,
        integration_id: opt_parsed(row, "integration_id")?,
        upload_id: opt_text(row, "upload_id")?,
        planned,
        started_at: time(row, "started_at")?,
    })
}

/// The newest version of each asset: no later version of the same name exists.
const LATEST: &str = "NOT EXISTS (SELECT 1 FROM asset_versions n WHERE n.org_id = v.org_id AND n.name = v.name AND \
                      n.version > v.version)";

#[async_trait]
impl AssetCatalog for SqlCatalog {
    async fn insert_asset_version(&self, v: &AssetVersion) -> Result<bool, CatalogError> {
        let mut tx = super::begin_write(self.counted()).await?;
        // The purge deletes content under the same lock (`delete_unreferenced_content`).
        super::lock_org(&mut tx, self.counted(), v.org_id).await?;
        let inserted = sqlx::query(sql!(
            "INSERT INTO asset_versions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(v.org_id.to_string())
        .bind(&v.name)
        .bind(signed(v.version))
        .bind(v.sha256.clone())
        .bind(signed(v.size))
        .bind(i64::from(v.deleted))
        .bind(&v.author)
        .bind(ms(v.created_at))
        .bind(v.previous.map(signed))
        .bind(v.restored_from.map(signed))
        .bind(v.integration_id.map(|i| i.to_string()))
        .bind(&v.manifest_sha256)
        .bind(i64::from(v.manifest_written))
        .bind(opt_ms(v.purged_at))
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                Ok(true)
            }
            Err(e) => match CatalogError::from(e) {
                CatalogError::Conflict(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn get_asset_version(
        &self,
        org: OrgId,
        name: &str,
        version: u64,
    ) -> Result<Option<AssetVersion>, CatalogError> {
        let row =
            sqlx::query(sql!("SELECT {COLUMNS} FROM asset_versions WHERE org_id = $1 AND name = $2 AND version = $3"))
                .bind(org.to_string())
                .bind(name)
                .bind(signed(version))
                .fetch_optional(self.counted())
                .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn latest_asset_version(&self, org: OrgId, name: &str) -> Result<Option<AssetVersion>, CatalogError> {
        let row = sqlx::query(sql!(
            "SELECT {COLUMNS} FROM asset_versions WHERE org_id = $1 AND name = $2 ORDER BY version DESC LIMIT 1"
        ))
        .bind(org.to_string())
        .bind(name)
        .fetch_optional(self.counted())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn list_asset_versions(
        &self,
        org: OrgId,
        name: &str,
        before: Option<u64>,
        max: u32,
    ) -> Result<Vec<AssetVersion>, CatalogError> {
        let rows = sqlx::query(sql!(
            "SELECT {COLUMNS} FROM asset_versions WHERE org_id = $1 AND name = $2 AND version < $3 ORDER BY version \
             DESC LIMIT $4"
        ))
        .bind(org.to_string())
        .bind(name)
        .bind(before.map_or(i64::MAX, signed))
        .bind(limit(max))
        .fetch_all(self.counted())
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn list_assets(
        &self,
        org: OrgId,
        after: Option<&str>,
        with_deleted: bool,
        max: u32,
    ) -> Result<Vec<AssetVersion>, CatalogError> {
        let columns = COLUMNS.split(", ").map(|c| format!("v.{c}")).collect::<Vec<_>>().join(", ");
        let rows = sqlx::query(sql!(
            "SELECT {columns} FROM asset_versions v WHERE v.org_id = $1 AND v.name > $2 AND ($3 = 1 OR v.deleted = 0) \
             AND {LATEST} ORDER BY v.name LIMIT $4"
        ))
        .bind(org.to_string())
        .bind(after.unwrap_or_default())
        .bind(i64::from(with_deleted))
        .bind(limit(max))
        .fetch_all(self.counted())
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn scan_asset_versions(
        &self,
        org: OrgId,
        after: Option<(&str, u64)>,
        max: u32,
    ) -> Result<Vec<AssetVersion>, CatalogError> {
        let (name, version) = after.unwrap_or(("", 0));
        let rows = sqlx::query(sql!(
            "SELECT {COLUMNS} FROM asset_versions WHERE org_id = $1 AND (name > $2 OR (name = $2 AND version > $3)) \
             ORDER BY name, version LIMIT $4"
        ))
        .bind(org.to_string())
        .bind(name)
        .bind(signed(version))
        .bind(limit(max))
        .fetch_all(self.counted())
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn org_has_assets(&self, org: OrgId) -> Result<bool, CatalogError> {
        let row = sqlx::query("SELECT 1 AS one FROM asset_versions WHERE org_id = $1 LIMIT 1")
            .bind(org.to_string())
            .fetch_optional(self.counted())
            .await?;
        Ok(row.is_some())
    }

    async fn delete_asset_version_if_latest(&self, org: OrgId, name: &str, version: u64) -> Result<bool, CatalogError> {
        let done = sqlx::query(
            "DELETE FROM asset_versions WHERE org_id = $1 AND name = $2 AND version = $3 AND NOT EXISTS (SELECT 1 FROM \
             asset_versions n WHERE n.org_id = $1 AND n.name = $2 AND n.version > $3)",
        )
        .bind(org.to_string())
        .bind(name)
        .bind(signed(version))
        .execute(self.counted())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn mark_asset_manifest_written(&self, org: OrgId, name: &str, version: u64) -> Result<(), CatalogError> {
        sqlx::query("UPDATE asset_versions SET manifest_written = 1 WHERE org_id = $1 AND name = $2 AND version = $3")
            .bind(org.to_string())
            .bind(name)
            .bind(signed(version))
            .execute(self.counted())
            .await?;
        Ok(())
    }

    async fn unwritten_asset_manifests(
        &self,
        before: DateTime<Utc>,
        max: u32,
    ) -> Result<Vec<AssetVersion>, CatalogError> {
        let rows = sqlx::query(sql!(
            "SELECT {COLUMNS} FROM asset_versions WHERE manifest_written = 0 AND created_at < $1 ORDER BY created_at \
             LIMIT $2"
        ))
        .bind(ms(before))
        .bind(limit(max))
        .fetch_all(self.counted())
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn assets_due_for_purge(&self, now: DateTime<Utc>, max: u32) -> Result<Vec<(OrgId, String)>, CatalogError> {
        let query = sql!(
            "SELECT v.org_id, v.name FROM asset_versions v JOIN asset_stores s ON s.org_id = v.org_id WHERE v.deleted \
             = 1 AND {LATEST} AND v.created_at + s.retention_days * 86400000 <= $1 AND EXISTS (SELECT 1 FROM \
             asset_versions c WHERE c.org_id = v.org_id AND c.name = v.name AND c.sha256 IS NOT NULL AND \
             c.purged_at IS NULL) ORDER BY v.created_at LIMIT $2"
        );
        let rows = sqlx::query(query).bind(ms(now)).bind(limit(max)).fetch_all(self.counted()).await?;
        rows.iter().map(|row| Ok((parsed(row, "org_id")?, text(row, "name")?))).collect()
    }

    async fn purge_asset_versions(
        &self,
        org: OrgId,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<PurgedContent>, CatalogError> {
        let mut tx = super::begin_write(self.counted()).await?;
        let rows = sqlx::query(
            "SELECT DISTINCT integration_id, sha256 FROM asset_versions WHERE org_id = $1 AND name = $2 AND sha256 IS \
             NOT NULL AND purged_at IS NULL",
        )
        .bind(org.to_string())
        .bind(name)
        .fetch_all(&mut *tx)
        .await?;
        let contents = rows
            .iter()
            .map(|row| {
                Ok(PurgedContent { integration_id: opt_parsed(row, "integration_id")?, sha256: text(row, "sha256")? })
            })
            .collect::<Result<Vec<_>, CatalogError>>()?;
        sqlx::query(
            "UPDATE asset_versions SET purged_at = $3 WHERE org_id = $1 AND name = $2 AND sha256 IS NOT NULL AND \
             purged_at IS NULL",
        )
        .bind(org.to_string())
        .bind(name)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(contents)
    }

    async fn delete_unreferenced_content(
        &self,
        org: OrgId,
        content: &PurgedContent,
        delete: BoxFuture<'_, bool>,
    ) -> Result<bool, CatalogError> {
        let mut tx = super::begin_write(self.counted()).await?;
        super::lock_org(&mut tx, self.counted(), org).await?;
        let referenced = sqlx::query(
            "SELECT 1 AS one FROM asset_versions WHERE org_id = $1 AND sha256 = $2 AND COALESCE(integration_id, '') = \
             $3 AND purged_at IS NULL LIMIT 1",
        )
        .bind(org.to_string())
        .bind(&content.sha256)
        .bind(content.integration_id.map(|i| i.to_string()).unwrap_or_default())
        .fetch_optional(&mut *tx)
        .await?;
        if referenced.is_some() {
            return Ok(false);
        }
        if !delete.await {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn get_asset_store(&self, org: OrgId) -> Result<Option<AssetStore>, CatalogError> {
        let row = sqlx::query(
            "SELECT org_id, retention_days, verified_at, last_report, updated_by, updated_at FROM asset_stores WHERE \
             org_id = $1",
        )
        .bind(org.to_string())
        .fetch_optional(self.counted())
        .await?;
        row.as_ref().map(store_from_row).transpose()
    }

    async fn put_asset_store(&self, s: &AssetStore) -> Result<(), CatalogError> {
        sqlx::query(
            "INSERT INTO asset_stores (org_id, retention_days, verified_at, last_report, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id) DO UPDATE SET retention_days = $2, verified_at = \
             $3, last_report = $4, updated_by = $5, updated_at = $6",
        )
        .bind(s.org_id.to_string())
        .bind(i64::from(s.retention_days))
        .bind(opt_ms(s.verified_at))
        .bind(s.last_report.clone())
        .bind(&s.updated_by)
        .bind(ms(s.updated_at))
        .execute(self.counted())
        .await?;
        Ok(())
    }

    async fn asset_stores_due(&self, before: DateTime<Utc>, max: u32) -> Result<Vec<OrgId>, CatalogError> {
        let rows = sqlx::query(
            "SELECT org_id FROM asset_stores WHERE COALESCE(verified_at, 0) < $1 ORDER BY COALESCE(verified_at, 0) \
             LIMIT $2",
        )
        .bind(ms(before))
        .bind(limit(max))
        .fetch_all(self.counted())
        .await?;
        rows.iter().map(|row| parsed(row, "org_id")).collect()
    }

    async fn insert_asset_key(&self, org: OrgId, key: &AssetKey) -> Result<bool, CatalogError> {
        let done = sqlx::query(
            "INSERT INTO asset_keys (org_id, key_id, public_key, private_key, signed_for_org, created_at) VALUES ($1, \
             $2, $3, $4, $5, $6) ON CONFLICT (org_id, key_id) DO NOTHING",
        )
        .bind(org.to_string())
        .bind(&key.key_id)
        .bind(&key.public_key)
        .bind(key.private_key.clone())
        .bind(key.signed_for_org.to_string())
        .bind(ms(key.created_at))
        .execute(self.counted())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn asset_keys(&self, org: OrgId) -> Result<Vec<AssetKey>, CatalogError> {
        let rows = sqlx::query(
            "SELECT key_id, public_key, private_key, signed_for_org, created_at FROM asset_keys WHERE org_id = $1 \
             ORDER BY created_at DESC, key_id",
        )
        .bind(org.to_string())
        .fetch_all(self.counted())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AssetKey {
                    key_id: text(row, "key_id")?,
                    public_key: text(row, "public_key")?,
                    private_key: opt_text(row, "private_key")?,
                    signed_for_org: parsed(row, "signed_for_org")?,
                    created_at: time(row, "created_at")?,
                })
            })
            .collect()
    }

    async fn put_asset_write(&self, w: &AssetWrite) -> Result<(), CatalogError> {
        let planned = w.planned.as_ref();
        sqlx::query(
            "INSERT INTO asset_writes (org_id, staging_key, integration_id, upload_id, upload, name, sha256, \
             started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (org_id, staging_key) DO UPDATE SET \
             upload_id = $4",
        )
        .bind(w.org_id.to_string())
        .bind(&w.staging_key)
        .bind(w.integration_id.map(|i| i.to_string()))
        .bind(w.upload_id.clone())
        .bind(planned.map(|p| p.upload.to_string()))
        .bind(planned.map(|p| p.name.clone()))
        .bind(planned.map(|p| p.sha256.clone()))
        .bind(ms(w.started_at))
        .execute(self.counted())
        .await?;
        Ok(())
    }

    async fn delete_asset_write(&self, org: OrgId, staging_key: &str) -> Result<(), CatalogError> {
        sqlx::query("DELETE FROM asset_writes WHERE org_id = $1 AND staging_key = $2")
            .bind(org.to_string())
            .bind(staging_key)
            .execute(self.counted())
            .await?;
        Ok(())
    }

    async fn stale_asset_writes(&self, before: DateTime<Utc>, max: u32) -> Result<Vec<AssetWrite>, CatalogError> {
        let rows = sqlx::query(sql!(
            "SELECT {WRITE_COLUMNS} FROM asset_writes WHERE started_at < $1 ORDER BY started_at LIMIT $2"
        ))
        .bind(ms(before))
        .bind(limit(max))
        .fetch_all(self.counted())
        .await?;
        rows.iter().map(write_from_row).collect()
    }

    async fn asset_writes_in_flight(
        &self,
        org: OrgId,
        integration: Option<byob_core::IntegrationId>,
    ) -> Result<u64, CatalogError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM asset_writes WHERE org_id = $1 AND COALESCE(integration_id, '') = $2 AND upload \
             IS NULL",
        )
        .bind(org.to_string())
        .bind(integration.map(|i| i.to_string()).unwrap_or_default())
        .fetch_one(self.counted())
        .await?;
        let n: i64 = row.try_get("n")?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    async fn asset_write_of_upload(
        &self,
        org: OrgId,
        upload: byob_core::UploadId,
    ) -> Result<Option<AssetWrite>, CatalogError> {
        let row = sqlx::query(sql!("SELECT {WRITE_COLUMNS} FROM asset_writes WHERE org_id = $1 AND upload = $2"))
            .bind(org.to_string())
            .bind(upload.to_string())
            .fetch_optional(self.counted())
            .await?;
        row.as_ref().map(write_from_row).transpose()
    }
}
