//! The asset store's records: versions, the org's signing keys and settings, and writes still streaming.

use async_trait::async_trait;
use byob_core::{IntegrationId, OrgId, UploadId, asset::AssetVersion};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use super::CatalogError;

/// One of an org's manifest signing keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetKey {
    pub key_id: String,
    /// The raw Ed25519 public key, base64.
    pub public_key: String,
    /// The sealed PKCS#8 document; none for a key kept only to check old manifests.
    pub private_key: Option<String>,
    /// The org id the key's manifests name.
    pub signed_for_org: OrgId,
    pub created_at: DateTime<Utc>,
}

/// An org's asset store settings and the state of its checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetStore {
    pub org_id: OrgId,
    pub retention_days: u32,
    pub verified_at: Option<DateTime<Utc>>,
    /// The last store check's report, JSON.
    pub last_report: Option<String>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// A write streaming into the staging folder, recorded so a crash leaves something to clean up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetWrite {
    pub org_id: OrgId,
    pub staging_key: String,
    pub integration_id: Option<IntegrationId>,
    /// The sealed multipart upload id, once the write became one.
    pub upload_id: Option<String>,
    /// A write through an upload plan: the upload carrying the bytes, the asset and the SHA-256 declared.
    pub planned: Option<PlannedWrite>,
    pub started_at: DateTime<Utc>,
}

/// What an upload plan for an asset was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedWrite {
    pub upload: UploadId,
    pub name: String,
    pub sha256: String,
}

/// Content whose last version was purged: where it is and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PurgedContent {
    pub integration_id: Option<IntegrationId>,
    pub sha256: String,
}

#[async_trait]
pub trait AssetCatalog: Send + Sync {
    /// Inserts a version; `false` when the asset already has that version number (another write won).
    async fn insert_asset_version(&self, v: &AssetVersion) -> Result<bool, CatalogError>;
    async fn get_asset_version(
        &self,
        org: OrgId,
        name: &str,
        version: u64,
    ) -> Result<Option<AssetVersion>, CatalogError>;
    /// The asset's newest version (its deletion, when deleted).
    async fn latest_asset_version(&self, org: OrgId, name: &str) -> Result<Option<AssetVersion>, CatalogError>;
    /// Newest first, below `before` when given.
    async fn list_asset_versions(
        &self,
        org: OrgId,
        name: &str,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<AssetVersion>, CatalogError>;
    /// Each asset's newest version, by name, after `after`; deleted assets only when asked.
    async fn list_assets(
        &self,
        org: OrgId,
        after: Option<&str>,
        with_deleted: bool,
        limit: u32,
    ) -> Result<Vec<AssetVersion>, CatalogError>;
    /// Every version, by name then version, after `after`.
    async fn scan_asset_versions(
        &self,
        org: OrgId,
        after: Option<(&str, u64)>,
        limit: u32,
    ) -> Result<Vec<AssetVersion>, CatalogError>;
    /// Whether the org has any asset version.
    async fn org_has_assets(&self, org: OrgId) -> Result<bool, CatalogError>;
    /// Removes a version that is still the asset's newest (a write that could not finish); `false` otherwise.
    async fn delete_asset_version_if_latest(&self, org: OrgId, name: &str, version: u64) -> Result<bool, CatalogError>;
    async fn mark_asset_manifest_written(&self, org: OrgId, name: &str, version: u64) -> Result<(), CatalogError>;
    /// Versions of any org whose manifest is not in the bucket, made before `before`.
    async fn unwritten_asset_manifests(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<AssetVersion>, CatalogError>;
    /// Deleted assets of any org whose deletion is older than their org's retention and that still have
    /// content: (org, name).
    async fn assets_due_for_purge(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<(OrgId, String)>, CatalogError>;
    /// Marks the asset's versions purged at `at`; returns the content they referenced.
    async fn purge_asset_versions(
        &self,
        org: OrgId,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<PurgedContent>, CatalogError>;
    /// Runs `delete` (the content object's deletion) if no version that is not purged references the content,
    /// holding the org's write lock meanwhile, so a write referencing the content waits and then finds the
    /// object gone. `delete` answers whether the object is gone. Returns whether it ran and succeeded.
    async fn delete_unreferenced_content(
        &self,
        org: OrgId,
        content: &PurgedContent,
        delete: BoxFuture<'_, bool>,
    ) -> Result<bool, CatalogError>;

    async fn get_asset_store(&self, org: OrgId) -> Result<Option<AssetStore>, CatalogError>;
    async fn put_asset_store(&self, store: &AssetStore) -> Result<(), CatalogError>;
    /// Orgs with assets whose store was last checked before `before` (or never), oldest first.
    async fn asset_stores_due(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<OrgId>, CatalogError>;

    /// Inserts a key unless the org already has one with that id (`false`).
    async fn insert_asset_key(&self, org: OrgId, key: &AssetKey) -> Result<bool, CatalogError>;
    /// The org's keys, newest first.
    async fn asset_keys(&self, org: OrgId) -> Result<Vec<AssetKey>, CatalogError>;

    async fn put_asset_write(&self, write: &AssetWrite) -> Result<(), CatalogError>;
    async fn delete_asset_write(&self, org: OrgId, staging_key: &str) -> Result<(), CatalogError>;
    /// The write an upload carries the bytes of.
    async fn asset_write_of_upload(&self, org: OrgId, upload: UploadId) -> Result<Option<AssetWrite>, CatalogError>;
    /// The org's writes streaming into a store now (`None`: the default storage).
    async fn asset_writes_in_flight(&self, org: OrgId, integration: Option<IntegrationId>)
    -> Result<u64, CatalogError>;
    /// Writes of any org started before `before`, oldest first.
    async fn stale_asset_writes(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<AssetWrite>, CatalogError>;
}
