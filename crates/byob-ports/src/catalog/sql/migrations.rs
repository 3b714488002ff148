//! Migrations and their objects.

use async_trait::async_trait;
use byob_core::{MigrationId, OrgId, integration::Feature, migration::Migration};
use sqlx::Row;

use super::{
    SqlCatalog,
    row::{json, limit, ms, text, to_json},
};
use crate::catalog::{CatalogError, MigrationCatalog, MigrationObject, MigrationProgress, Switch};

const ACTIVE: &str = "('planning', 'copying', 'switching', 'deleting_source')";

#[async_trait]
impl MigrationCatalog for SqlCatalog {
    async fn insert_migration(&self, m: &Migration) -> Result<bool, CatalogError> {
        let mut tx = super::begin_write(self.counted()).await?;
        super::lock_org(&mut tx, self.counted(), m.org_id).await?;
        let running =
            sqlx::query(super::row::sql!("SELECT id FROM migrations WHERE org_id = $1 AND state IN {ACTIVE}"))
                .bind(m.org_id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if running.is_some() {
            return Ok(false);
        }
        sqlx::query("INSERT INTO migrations (id, org_id, state, record, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(m.id.to_string())
            .bind(m.org_id.to_string())
            .bind(m.state.as_str())
            .bind(to_json(m))
            .bind(ms(m.created_at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn update_migration(&self, m: &Migration) -> Result<(), CatalogError> {
        sqlx::query("UPDATE migrations SET state = $3, record = $4 WHERE org_id = $1 AND id = $2")
            .bind(m.org_id.to_string())
            .bind(m.id.to_string())
            .bind(m.state.as_str())
            .bind(to_json(m))
            .execute(self.counted())
            .await?;
        Ok(())
    }

    async fn get_migration(&self, org: OrgId, id: MigrationId) -> Result<Option<Migration>, CatalogError> {
        let row = sqlx::query("SELECT record FROM migrations WHERE org_id = $1 AND id = $2")
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(self.counted())
            .await?;
        row.as_ref().map(|r| json(r, "record")).transpose()
    }

    async fn list_migrations(&self, org: OrgId, max: u32) -> Result<Vec<Migration>, CatalogError> {
        let rows = sqlx::query("SELECT record FROM migrations WHERE org_id = $1 ORDER BY id DESC LIMIT $2")
            .bind(org.to_string())
            .bind(limit(max))
            .fetch_all(self.counted())
            .await?;
        rows.iter().map(|r| json(r, "record")).collect()
    }

    async fn active_migration(&self, org: OrgId) -> Result<Option<Migration>, CatalogError> {
        let row = sqlx::query(super::row::sql!(
            "SELECT record FROM migrations WHERE org_id = $1 AND state IN {ACTIVE} ORDER BY id DESC LIMIT 1"
        ))
        .bind(org.to_string())
        .fetch_optional(self.counted())
        .await?;
        row.as_ref().map(|r| json(r, "record")).transpose()
    }

    async fn add_migration_objects(
        &self,
        id: MigrationId,
        objects: &[MigrationObject],
    ) -> Result<Vec<String>, CatalogError> {
        let mut tx = super::begin_write(self.counted()).await?;
        let mut added = Vec::new();
        for o in objects {
            let done = sqlx::query(
                "INSERT INTO migration_objects (migration_id, object_key, size, state, sha256, copied) VALUES ($1, $2, \
                 $3, 'pending', NULL, 0) ON CONFLICT (migration_id, object_key) DO NOTHING",
            )
            .bind(id.to_string())
            .bind(&o.key)
            .bind(i64::try_from(o.size).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() > 0 {
                added.push(o.key.clone());
            }
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn migration_objects(
        &self,
        id: MigrationId,
        state: &str,
        after: Option<&str>,
        max: u32,
    ) -> Result<Vec<MigrationObject>, CatalogError> {
        let rows = sqlx::query(
            "SELECT object_key, size FROM migration_objects WHERE migration_id = $1 AND state = $2 AND object_key > $3 \
             ORDER BY object_key LIMIT $4",
        )
        .bind(id.to_string())
        .bind(state)
        .bind(after.unwrap_or_default())
        .bind(limit(max))
        .fetch_all(self.counted())
        .await?;
        rows.iter()
            .map(|row| {
                let size: i64 = row.try_get("size")?;
                Ok(MigrationObject { key: text(row, "object_key")?, size: u64::try_from(size).unwrap_or_default() })
            })
            .collect()
    }

    async fn mark_migration_object(
        &self,
        id: MigrationId,
        key: &str,
        state: &str,
        sha256: Option<&str>,
        copied: bool,
    ) -> Result<(), CatalogError> {
        sqlx::query(
            "UPDATE migration_objects SET state = $3, sha256 = COALESCE($4, sha256), copied = CASE WHEN $5 = 1 THEN 1 \
             ELSE copied END WHERE migration_id = $1 AND object_key = $2",
        )
        .bind(id.to_string())
        .bind(key)
        .bind(state)
        .bind(sha256)
        .bind(i64::from(copied))
        .execute(self.counted())
        .await?;
        Ok(())
    }

    async fn migration_progress(&self, id: MigrationId) -> Result<MigrationProgress, CatalogError> {
        // CAST: PostgreSQL sums BIGINTs as NUMERIC.
        let row = sqlx::query(
            "SELECT COUNT(*) AS objects, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes, \
             CAST(COALESCE(SUM(CASE WHEN copied = 0 AND state <> 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT) AS skipped, \
             CAST(COALESCE(SUM(copied), 0) AS BIGINT) AS copied, CAST(COALESCE(SUM(CASE WHEN copied = 1 THEN \
             size ELSE 0 END), 0) AS BIGINT) AS bytes_copied, CAST(COALESCE(SUM(CASE WHEN state = 'deleted' THEN 1 \
             ELSE 0 END), 0) AS BIGINT) AS deleted FROM migration_objects WHERE migration_id = $1",
        )
        .bind(id.to_string())
        .fetch_one(self.counted())
        .await?;
        let count = |name: &str| -> Result<u64, CatalogError> {
            let n: i64 = row.try_get(name)?;
            Ok(u64::try_from(n).unwrap_or_default())
        };
        Ok(MigrationProgress {
            objects: count("objects")?,
            bytes: count("bytes")?,
            skipped: count("skipped")?,
            copied: count("copied")?,
            bytes_copied: count("bytes_copied")?,
            deleted: count("deleted")?,
        })
    }

    async fn switch_features(&self, s: &Switch) -> Result<(), CatalogError> {
        let mut tx = super::begin_write(self.counted()).await?;
        super::lock_org(&mut tx, self.counted(), s.org).await?;
        let rows = sqlx::query("SELECT id, features FROM integrations WHERE org_id = $1")
            .bind(s.org.to_string())
            .fetch_all(&mut *tx)
            .await?;
        for row in &rows {
            let id: byob_core::IntegrationId = super::row::parsed(row, "id")?;
            let mut features: Vec<Feature> = json(row, "features")?;
            let before = features.clone();
            if Some(id) == s.from {
                features.retain(|f| !s.features.contains(f));
            }
            if Some(id) == s.to {
                for f in &s.features {
                    if !features.contains(f) {
                        features.push(*f);
                    }
                }
            }
            if features != before {
                sqlx::query("UPDATE integrations SET features = $3, updated_at = $4 WHERE org_id = $1 AND id = $2")
                    .bind(s.org.to_string())
                    .bind(id.to_string())
                    .bind(to_json(&features))
                    .bind(ms(s.at))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let from = s.from.map(|i| i.to_string()).unwrap_or_default();
        let to = s.to.map(|i| i.to_string());
        if s.features.contains(&Feature::Assets) {
            sqlx::query(
                "UPDATE asset_versions SET integration_id = $3 WHERE org_id = $1 AND COALESCE(integration_id, '') = $2",
            )
            .bind(s.org.to_string())
            .bind(&from)
            .bind(to.clone())
            .execute(&mut *tx)
            .await?;
        }
        if s.features.contains(&Feature::Uploads) {
            sqlx::query(
                "UPDATE uploads SET integration_id = $3 WHERE org_id = $1 AND COALESCE(integration_id, '') = $2 AND \
                 state <> 'pending' AND purpose NOT LIKE 'byob:%'",
            )
            .bind(s.org.to_string())
            .bind(&from)
            .bind(to.clone())
            .execute(&mut *tx)
            .await?;
        }
        if s.features.contains(&Feature::Attachments)
            && let Some(to) = &to
        {
            sqlx::query(
                "UPDATE attachments SET integration_id = $3 WHERE org_id = $1 AND integration_id = $2 AND state <> \
                 'pending'",
            )
            .bind(s.org.to_string())
            .bind(&from)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
