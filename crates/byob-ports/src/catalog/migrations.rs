//! Migrations' records and each object's progress.

use async_trait::async_trait;
use byob_core::{IntegrationId, MigrationId, OrgId, integration::Feature, migration::Migration};
use chrono::{DateTime, Utc};

use super::CatalogError;

/// One object a migration moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationObject {
    pub key: String,
    pub size: u64,
}

/// What a migration's objects record of its progress: the counts it shows are set from these when it goes on
/// after a crash, since an object is recorded as it ends and the counts only every so often.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrationProgress {
    /// Objects found on the source, and their bytes.
    pub objects: u64,
    pub bytes: u64,
    /// Objects the destination had already with the same content.
    pub skipped: u64,
    /// Objects copied (not found on the destination already), and their bytes.
    pub copied: u64,
    pub bytes_copied: u64,
    /// Objects deleted from the source.
    pub deleted: u64,
}

/// The routing a migration switches at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch {
    pub org: OrgId,
    pub from: Option<IntegrationId>,
    pub to: Option<IntegrationId>,
    pub features: Vec<Feature>,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait MigrationCatalog: Send + Sync {
    /// Inserts the migration unless the org has one still active (`false`).
    async fn insert_migration(&self, m: &Migration) -> Result<bool, CatalogError>;
    async fn update_migration(&self, m: &Migration) -> Result<(), CatalogError>;
    async fn get_migration(&self, org: OrgId, id: MigrationId) -> Result<Option<Migration>, CatalogError>;
    /// Newest first.
    async fn list_migrations(&self, org: OrgId, limit: u32) -> Result<Vec<Migration>, CatalogError>;
    /// The org's migration still running, if any.
    async fn active_migration(&self, org: OrgId) -> Result<Option<Migration>, CatalogError>;
    /// Records objects to move (those already recorded are kept as they are); returns the keys that were new.
    async fn add_migration_objects(
        &self,
        id: MigrationId,
        objects: &[MigrationObject],
    ) -> Result<Vec<String>, CatalogError>;
    /// Objects in `state`, by key, after `after`.
    async fn migration_objects(
        &self,
        id: MigrationId,
        state: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<MigrationObject>, CatalogError>;
    /// Marks an object verified (`copied`: it was copied, not found there already) or deleted (which keeps
    /// whether it was copied).
    async fn mark_migration_object(
        &self,
        id: MigrationId,
        key: &str,
        state: &str,
        sha256: Option<&str>,
        copied: bool,
    ) -> Result<(), CatalogError>;
    /// What its objects record of the migration's progress.
    async fn migration_progress(&self, id: MigrationId) -> Result<MigrationProgress, CatalogError>;
    /// Moves the features from one store to the other in one transaction: the integrations' features, and the
    /// records whose files were copied (settled uploads, attachments, asset versions) now name the destination.
    async fn switch_features(&self, switch: &Switch) -> Result<(), CatalogError>;
}
