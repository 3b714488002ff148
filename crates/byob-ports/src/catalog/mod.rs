//! The catalog: byob's own records. One trait, one SQL implementation shared by both backends (the same
//! migrations run on each), and one module per backend for what differs: connecting and tuning.

mod assets;
mod error;
mod migrations;
mod postgres;
mod sql;
mod sqlite;

use async_trait::async_trait;
use byob_core::{
    AttachmentId, AuditEntry, AuditId, AuditOutcome, ConnectionId, ExportId, ImportId, IntegrationId, JobId, Member,
    MemberId, Org, OrgId, SecretId, SecretMeta, TokenId, TokenMeta, UploadId, VerificationId, WebhookId,
    attachment::{Attachment, AttachmentState, Policy},
    connection::Connection,
    event::{Delivery, Event, Webhook},
    export::{Export, ExportRun},
    import::{Import, ImportRun},
    integration::Integration,
    job::{Job, JobError, JobState, Progress},
    upload::{Upload, UploadState},
};
use chrono::{DateTime, Utc};

pub use assets::{AssetCatalog, AssetKey, AssetStore, AssetWrite, PlannedWrite, PurgedContent};
pub use error::CatalogError;
pub use migrations::{MigrationCatalog, MigrationObject, MigrationProgress, Switch};
pub use sql::SqlCatalog;

/// When the monitor looks at an integration next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSchedule {
    /// The next verification (active and degraded integrations).
    pub next_check_at: DateTime<Utc>,
    /// The last credential-expiry notice sent (`14d`, `7d`, `3d`, `1d`, `expired`).
    pub expiry_notice: Option<String>,
    /// When the next, more urgent, notice falls due; none when the credentials do not expire or the last one
    /// was sent.
    pub notice_at: Option<DateTime<Utc>>,
    /// The integration's `updated_at` this schedule was computed from.
    pub seen_version: DateTime<Utc>,
}

/// Keyset paging: rows strictly after `after` (by id), at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct Page<C> {
    pub after: Option<C>,
    pub limit: u32,
}

/// What an org holds, for the operator's per-org quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Exports,
    Imports,
    Webhooks,
    /// Jobs waiting to run (not running, not ended).
    QueuedJobs,
    /// Bytes of uploads staged on the platform's default storage (no integration), still there.
    StagedBytes,
}

/// Which attachments a listing returns: every field set narrows.
#[derive(Debug, Clone, Default)]
pub struct AttachmentFilter {
    pub collection: Option<String>,
    pub record: Option<String>,
    pub field: Option<String>,
    pub state: Option<AttachmentState>,
}

/// An admin's policy for one collection's field, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    pub collection: String,
    pub field: String,
    pub policy: Policy,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// A secret's ciphertext as stored: which master key sealed it, and the sealed bytes (base64).
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCiphertext {
    pub key_id: String,
    pub ciphertext: String,
}

impl std::fmt::Debug for StoredCiphertext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredCiphertext").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

/// A secret written together with the integration that owns it.
#[derive(Debug, Clone)]
pub struct OwnedSecret {
    pub meta: SecretMeta,
    pub stored: StoredCiphertext,
}

/// A secret awaiting re-encryption under a new master key.
#[derive(Debug, Clone)]
pub struct SecretToRewrap {
    pub id: SecretId,
    pub org_id: OrgId,
    pub stored: StoredCiphertext,
}

/// Filters of the audit trail; every field narrows the result. Entries come newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    /// `operator`, `system`, `anonymous` or a member id.
    pub actor: Option<String>,
    pub target: Option<String>,
    pub outcome: Option<AuditOutcome>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait Catalog: AssetCatalog + MigrationCatalog + Send + Sync + std::fmt::Debug {
    /// Which backend this is (`sqlite`, `postgres`), for logs and readiness.
    fn backend(&self) -> &'static str;
    async fn ping(&self) -> Result<(), CatalogError>;

    async fn insert_org(&self, org: &Org) -> Result<(), CatalogError>;
    async fn get_org(&self, id: OrgId) -> Result<Option<Org>, CatalogError>;
    async fn list_orgs(&self, page: Page<OrgId>) -> Result<Vec<Org>, CatalogError>;
    async fn rename_org(&self, id: OrgId, name: &str, at: DateTime<Utc>) -> Result<Option<Org>, CatalogError>;
    /// Deletes the org with its members, tokens and secrets; the audit trail stays.
    async fn delete_org(&self, id: OrgId) -> Result<bool, CatalogError>;

    async fn insert_member(&self, member: &Member) -> Result<(), CatalogError>;
    async fn get_member(&self, org: OrgId, id: MemberId) -> Result<Option<Member>, CatalogError>;
    async fn list_members(&self, org: OrgId, page: Page<MemberId>) -> Result<Vec<Member>, CatalogError>;
    async fn update_member(&self, member: &Member) -> Result<bool, CatalogError>;
    async fn delete_member(&self, org: OrgId, id: MemberId) -> Result<bool, CatalogError>;

    async fn insert_token(&self, token: &TokenMeta, hash: &str) -> Result<(), CatalogError>;
    /// The token with this hash and the member who owns it.
    async fn find_token(&self, hash: &str) -> Result<Option<(TokenMeta, Member)>, CatalogError>;
    async fn list_tokens(&self, org: OrgId, member: MemberId) -> Result<Vec<TokenMeta>, CatalogError>;
    async fn revoke_token(
        &self,
        org: OrgId,
        member: MemberId,
        id: TokenId,
        at: DateTime<Utc>,
    ) -> Result<Option<TokenMeta>, CatalogError>;
    /// Records use, at most once per `granularity` to spare the catalog a write per request.
    async fn touch_token(&self, id: TokenId, at: DateTime<Utc>, granularity_ms: i64) -> Result<(), CatalogError>;

    async fn insert_secret(&self, meta: &SecretMeta, stored: &StoredCiphertext) -> Result<(), CatalogError>;
    async fn get_secret(
        &self,
        org: OrgId,
        id: SecretId,
    ) -> Result<Option<(SecretMeta, StoredCiphertext)>, CatalogError>;
    async fn list_secrets(&self, org: OrgId, page: Page<SecretId>) -> Result<Vec<SecretMeta>, CatalogError>;
    async fn update_secret(&self, meta: &SecretMeta, stored: Option<&StoredCiphertext>) -> Result<bool, CatalogError>;
    async fn delete_secret(&self, org: OrgId, id: SecretId) -> Result<bool, CatalogError>;
    /// Secrets not sealed under `key_id`, any org, at most `limit`.
    async fn secrets_not_under_key(&self, key_id: &str, limit: u32) -> Result<Vec<SecretToRewrap>, CatalogError>;
    /// Replaces a ciphertext only if it is still `old` (a concurrent update wins over a rewrap).
    async fn swap_ciphertext(
        &self,
        id: SecretId,
        old: &StoredCiphertext,
        new: &StoredCiphertext,
    ) -> Result<bool, CatalogError>;
    /// How many secrets each master key seals.
    async fn count_secrets_by_key(&self) -> Result<Vec<(String, i64)>, CatalogError>;

    /// Inserts the integration and the secrets it owns, all or nothing.
    async fn insert_integration(&self, integration: &Integration, secrets: &[OwnedSecret]) -> Result<(), CatalogError>;
    async fn get_integration(&self, org: OrgId, id: IntegrationId) -> Result<Option<Integration>, CatalogError>;
    async fn list_integrations(&self, org: OrgId, page: Page<IntegrationId>) -> Result<Vec<Integration>, CatalogError>;
    /// Updates the integration, adds the secrets it now owns and removes those it no longer does, all or nothing.
    async fn update_integration(
        &self,
        integration: &Integration,
        add: &[OwnedSecret],
        remove: &[SecretId],
    ) -> Result<bool, CatalogError>;
    /// Deletes the integration with the secrets it owns.
    async fn delete_integration(&self, org: OrgId, id: IntegrationId) -> Result<bool, CatalogError>;
    /// The ciphertext of a secret an integration owns.
    async fn get_owned_secret(&self, org: OrgId, id: SecretId) -> Result<Option<StoredCiphertext>, CatalogError>;

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), CatalogError>;
    /// Appends the entry unless the org's trail holds one with the key `once` already (a job's end announced
    /// again by the process that took the job over after a crash); whether it did.
    async fn append_audit_once(&self, entry: &AuditEntry, once: &str) -> Result<bool, CatalogError>;

    async fn insert_verification(
        &self,
        id: VerificationId,
        org: OrgId,
        integration: IntegrationId,
        started_at: DateTime<Utc>,
        report: &serde_json::Value,
    ) -> Result<(), CatalogError>;
    /// Reports, newest first.
    async fn list_verifications(
        &self,
        org: OrgId,
        integration: IntegrationId,
        limit: u32,
    ) -> Result<Vec<serde_json::Value>, CatalogError>;
    /// The monitor's schedule of the integration.
    async fn get_schedule(&self, integration: IntegrationId) -> Result<Option<HealthSchedule>, CatalogError>;
    async fn put_schedule(
        &self,
        org: OrgId,
        integration: IntegrationId,
        schedule: &HealthSchedule,
    ) -> Result<(), CatalogError>;
    /// Integrations (not disabled) the monitor must look at now, for the whole fleet in one query: never
    /// scheduled, changed since their schedule was written, an expiry notice due, or (active and degraded ones)
    /// a verification due. At most `limit`, longest due first.
    async fn due_integrations(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(OrgId, IntegrationId)>, CatalogError>;
    /// The event and its pending deliveries, atomically.
    async fn insert_event(&self, event: &Event, deliveries: &[Delivery]) -> Result<(), CatalogError>;
    /// The event, its deliveries and its audit entry atomically, unless the trail holds the key `once` already
    /// (then nothing); whether they were written.
    async fn insert_event_once(
        &self,
        event: &Event,
        deliveries: &[Delivery],
        audit: &AuditEntry,
        once: &str,
    ) -> Result<bool, CatalogError>;
    async fn list_events(&self, org: OrgId, event_type: Option<&str>, limit: u32) -> Result<Vec<Event>, CatalogError>;
    async fn insert_webhook(&self, webhook: &Webhook, secret: &OwnedSecret) -> Result<(), CatalogError>;
    async fn list_webhooks(&self, org: OrgId) -> Result<Vec<Webhook>, CatalogError>;
    async fn delete_webhook(&self, org: OrgId, id: WebhookId) -> Result<bool, CatalogError>;
    async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(Delivery, Webhook, Event)>, CatalogError>;
    /// Records an attempt; false when another process recorded one since `seen_attempts`.
    async fn update_delivery(&self, delivery: &Delivery, seen_attempts: u32) -> Result<bool, CatalogError>;
    async fn list_deliveries(&self, org: OrgId, webhook: WebhookId, limit: u32) -> Result<Vec<Delivery>, CatalogError>;
    /// Inserts the connection and the secrets it owns, all or nothing.
    async fn insert_connection(&self, connection: &Connection, secrets: &[OwnedSecret]) -> Result<(), CatalogError>;
    async fn get_connection(&self, org: OrgId, id: ConnectionId) -> Result<Option<Connection>, CatalogError>;
    async fn find_connection(&self, org: OrgId, name: &str) -> Result<Option<Connection>, CatalogError>;
    async fn list_connections(&self, org: OrgId) -> Result<Vec<Connection>, CatalogError>;
    /// Replaces a connection's platform settings (its member access); false when it is gone.
    async fn update_connection(&self, connection: &Connection) -> Result<bool, CatalogError>;
    /// Keeps a connection's latest verification report and its next scheduled check.
    async fn put_connection_report(
        &self,
        org: OrgId,
        id: ConnectionId,
        report: &serde_json::Value,
        next_check_at: DateTime<Utc>,
    ) -> Result<bool, CatalogError>;
    async fn connection_report(&self, org: OrgId, id: ConnectionId) -> Result<Option<serde_json::Value>, CatalogError>;
    /// Connections whose scheduled check is due, at most `limit`, most overdue first.
    async fn due_connections(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Connection>, CatalogError>;
    /// Records that byob created `table` (`schema.table`) through the connection.
    async fn record_connection_table(
        &self,
        connection: ConnectionId,
        table: &str,
        created_by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), CatalogError>;
    /// The identity of `kind` bound to the org, the first if several.
    async fn org_identity(&self, kind: &str, org: OrgId) -> Result<Option<String>, CatalogError>;
    /// Binds `identity` of `kind` to the org unless another org holds it; returns the org that holds it.
    async fn claim_identity(
        &self,
        kind: &str,
        identity: &str,
        org: OrgId,
        at: DateTime<Utc>,
    ) -> Result<OrgId, CatalogError>;
    /// Whether byob created `table` through the connection.
    async fn connection_table_recorded(&self, connection: ConnectionId, table: &str) -> Result<bool, CatalogError>;
    /// Deletes the connection with the secrets it owns.
    async fn delete_connection(&self, org: OrgId, id: ConnectionId) -> Result<bool, CatalogError>;

    async fn insert_upload(&self, upload: &Upload) -> Result<(), CatalogError>;
    async fn get_upload(&self, org: OrgId, id: UploadId) -> Result<Option<Upload>, CatalogError>;
    /// Newest first; `after` continues below that id.
    async fn list_uploads(&self, org: OrgId, after: Option<UploadId>, limit: u32) -> Result<Vec<Upload>, CatalogError>;
    /// Saves the upload only if it is still in state `expected`.
    async fn update_upload(&self, upload: &Upload, expected: UploadState) -> Result<bool, CatalogError>;
    /// Uploads of any org whose staged object is present past its expiry, oldest first.
    async fn expired_uploads(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Upload>, CatalogError>;
    /// Uploads of any org still waiting for their bytes, created before `before`.
    async fn stale_uploads(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<Upload>, CatalogError>;

    /// Inserts the attachment unless its record's field already holds `max` files not rejected (`false`).
    async fn insert_attachment(&self, attachment: &Attachment, max: u32) -> Result<bool, CatalogError>;
    async fn get_attachment(&self, org: OrgId, id: AttachmentId) -> Result<Option<Attachment>, CatalogError>;
    /// The attachment whose bytes an upload carries.
    async fn attachment_of_upload(&self, org: OrgId, upload: UploadId) -> Result<Option<Attachment>, CatalogError>;
    /// Oldest first; strictly after `after`.
    async fn list_attachments(
        &self,
        org: OrgId,
        filter: &AttachmentFilter,
        after: Option<AttachmentId>,
        limit: u32,
    ) -> Result<Vec<Attachment>, CatalogError>;
    /// Writes the mutable fields if the attachment is still in `expected`.
    async fn update_attachment(&self, attachment: &Attachment, expected: AttachmentState)
    -> Result<bool, CatalogError>;
    async fn delete_attachment(&self, org: OrgId, id: AttachmentId) -> Result<bool, CatalogError>;
    /// Attachments in `state` created before `before`, any org, oldest first.
    async fn attachments_in_state(
        &self,
        state: AttachmentState,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Attachment>, CatalogError>;
    async fn put_attachment_policy(&self, org: OrgId, policy: &StoredPolicy) -> Result<(), CatalogError>;
    async fn get_attachment_policy(
        &self,
        org: OrgId,
        collection: &str,
        field: &str,
    ) -> Result<Option<StoredPolicy>, CatalogError>;
    async fn list_attachment_policies(&self, org: OrgId) -> Result<Vec<StoredPolicy>, CatalogError>;
    async fn delete_attachment_policy(&self, org: OrgId, collection: &str, field: &str) -> Result<bool, CatalogError>;

    async fn insert_job(&self, job: &Job) -> Result<(), CatalogError>;
    /// How much of `what` the org holds (a count, or bytes).
    async fn org_usage(&self, org: OrgId, what: Usage) -> Result<u64, CatalogError>;
    async fn get_job(&self, org: OrgId, id: JobId) -> Result<Option<Job>, CatalogError>;
    async fn list_jobs(&self, org: OrgId, state: Option<JobState>, limit: u32) -> Result<Vec<Job>, CatalogError>;
    /// Claims the oldest runnable job for `owner` until `lease_until`, counting an attempt, of an org with fewer
    /// than `max_running_per_org` jobs running (so no org takes every worker).
    async fn claim_job(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        max_running_per_org: u32,
    ) -> Result<Option<Job>, CatalogError>;
    /// Stores what a load is about to commit (its platform's commit token and rows), before it commits; the next
    /// attempt reads it in the claimed job's `commit_record`.
    async fn record_job_commit(&self, id: JobId, record: &str) -> Result<(), CatalogError>;
    /// Renews the lease and saves progress: `None` if the lease was lost, else whether a cancel was requested.
    async fn heartbeat_job(
        &self,
        id: JobId,
        owner: &str,
        lease_until: DateTime<Utc>,
        progress: &Progress,
    ) -> Result<Option<bool>, CatalogError>;
    /// Ends the attempt `owner` holds; `false` if it no longer holds it.
    #[allow(clippy::too_many_arguments)]
    async fn finish_job(
        &self,
        id: JobId,
        owner: &str,
        state: JobState,
        progress: &Progress,
        result: Option<&serde_json::Value>,
        error: Option<&JobError>,
        at: DateTime<Utc>,
    ) -> Result<bool, CatalogError>;
    async fn cancel_job(&self, org: OrgId, id: JobId, at: DateTime<Utc>) -> Result<Option<Job>, CatalogError>;

    async fn insert_export(&self, export: &Export) -> Result<(), CatalogError>;
    async fn get_export(&self, org: OrgId, id: ExportId) -> Result<Option<Export>, CatalogError>;
    async fn list_exports(&self, org: OrgId) -> Result<Vec<Export>, CatalogError>;
    async fn update_export(&self, export: &Export) -> Result<bool, CatalogError>;
    async fn delete_export(&self, org: OrgId, id: ExportId) -> Result<bool, CatalogError>;
    /// Exports whose schedule's next run is at or before `now`.
    async fn due_exports(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Export>, CatalogError>;
    /// Queues a run's job and the run, unless a run of the same export is queued or running (`false`).
    async fn enqueue_export_run(&self, job: &Job, run: &ExportRun) -> Result<bool, CatalogError>;
    async fn get_export_run(&self, org: OrgId, id: JobId) -> Result<Option<ExportRun>, CatalogError>;
    async fn list_export_runs(&self, org: OrgId, export: ExportId, limit: u32) -> Result<Vec<ExportRun>, CatalogError>;
    async fn update_export_run(&self, run: &ExportRun) -> Result<(), CatalogError>;
    /// Expired staging runs, and failed runs that left files or uploads behind.
    async fn export_runs_to_clean(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<ExportRun>, CatalogError>;

    async fn insert_import(&self, import: &Import) -> Result<(), CatalogError>;
    async fn get_import(&self, org: OrgId, id: ImportId) -> Result<Option<Import>, CatalogError>;
    async fn list_imports(&self, org: OrgId) -> Result<Vec<Import>, CatalogError>;
    async fn update_import(&self, import: &Import) -> Result<bool, CatalogError>;
    async fn delete_import(&self, org: OrgId, id: ImportId) -> Result<bool, CatalogError>;
    async fn due_imports(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Import>, CatalogError>;
    /// Queues a run's job and the run, unless a run of the same import is queued or running (`false`).
    async fn enqueue_import_run(&self, job: &Job, run: &ImportRun) -> Result<bool, CatalogError>;
    async fn get_import_run(&self, org: OrgId, id: JobId) -> Result<Option<ImportRun>, CatalogError>;
    async fn list_import_runs(&self, org: OrgId, import: ImportId, limit: u32) -> Result<Vec<ImportRun>, CatalogError>;
    async fn update_import_run(&self, run: &ImportRun) -> Result<(), CatalogError>;
    /// Newest first; `page.after` continues below that id.
    async fn list_audit(
        &self,
        org: OrgId,
        filter: &AuditFilter,
        page: Page<AuditId>,
    ) -> Result<Vec<AuditEntry>, CatalogError>;
}

/// Connects to the catalog named by `url` (`sqlite:` or `postgres:`) and applies the migrations.
///
/// # Errors
/// When the URL names no supported backend, the database cannot be reached, or a migration fails.
pub async fn connect(url: &str, max_connections: u32) -> Result<SqlCatalog, CatalogError> {
    let catalog = if url.starts_with("sqlite:") {
        sqlite::connect(url, max_connections).await?
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        postgres::connect(url, max_connections).await?
    } else {
        return Err(CatalogError::UnsupportedUrl);
    };
    catalog.migrate().await?;
    Ok(catalog)
}
