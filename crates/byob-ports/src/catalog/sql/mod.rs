//! The catalog in SQL, written once for SQLite and PostgreSQL through sqlx's `Any` driver: portable SQL only
//! (`$n` parameters, BIGINT times, TEXT ids), one file per record type.

mod assets;
mod attachments;
mod audit;
mod connections;
mod definitions;
mod exports;
mod health;
mod imports;
mod integrations;
mod jobs;
mod members;
mod migrations;
mod orgs;
mod row;
mod secrets;
mod tokens;
mod uploads;

use async_trait::async_trait;
use byob_core::{
    AttachmentId, AuditEntry, AuditId, ConnectionId, ExportId, ImportId, IntegrationId, JobId, Member, MemberId, Org,
    OrgId, SecretId, SecretMeta, TokenId, TokenMeta, UploadId, VerificationId, WebhookId,
    attachment::{Attachment, AttachmentState},
    connection::Connection,
    event::{Delivery, Event, Webhook},
    export::{Export, ExportRun},
    import::{Import, ImportRun},
    integration::Integration,
    job::{Job, JobError, JobState, Progress},
    upload::{Upload, UploadState},
};
use chrono::{DateTime, Utc};
use sqlx::AnyPool;
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use super::{
    AttachmentFilter, AuditFilter, Catalog, CatalogError, HealthSchedule, OwnedSecret, Page, SecretToRewrap,
    StoredCiphertext, StoredPolicy,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

fn is_sqlite(pool: &AnyPool) -> bool {
    pool.connect_options().database_url.scheme() == "sqlite"
}

/// Serializes a [`begin_write`] transaction with the others that check an org-wide rule (one integration per
/// feature, at least one admin) before they write. On PostgreSQL the org's row is locked `FOR NO KEY UPDATE`, which
/// inserts that merely reference the org (a key-share lock) do not wait for, so it cannot deadlock with them; on
/// SQLite the transaction holds the single writer's lock since it began.
pub(super) async fn lock_org(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    pool: &AnyPool,
    org: OrgId,
) -> Result<(), CatalogError> {
    if !is_sqlite(pool) {
        sqlx::query("SELECT id FROM orgs WHERE id = $1 FOR NO KEY UPDATE")
            .bind(org.to_string())
            .fetch_optional(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Starts a transaction that writes. On SQLite it takes the single writer's lock at once (`BEGIN IMMEDIATE`,
/// waiting out the busy timeout): a deferred transaction that reads and then writes fails at once with
/// `SQLITE_BUSY` when another connection committed in between, and no busy timeout helps then.
pub(super) async fn begin_write(pool: &AnyPool) -> Result<sqlx::Transaction<'static, sqlx::Any>, CatalogError> {
    if is_sqlite(pool) { Ok(pool.begin_with("BEGIN IMMEDIATE").await?) } else { Ok(pool.begin().await?) }
}

#[derive(Debug, Clone)]
pub struct SqlCatalog {
    pool: AnyPool,
    backend: &'static str,
    /// Round trips started through the catalog (a statement, or a transaction), for the fleet-scale tests and
    /// bench: a pass over a fleet must cost a bounded number of them, not one per org.
    calls: Arc<AtomicU64>,
}

impl SqlCatalog {
    pub(super) fn new(pool: AnyPool, backend: &'static str) -> Self {
        Self { pool, backend, calls: Arc::new(AtomicU64::new(0)) }
    }

    /// The pool, counting one catalog call.
    fn counted(&self) -> &AnyPool {
        self.calls.fetch_add(1, Ordering::Relaxed);
        &self.pool
    }

    /// Catalog calls made so far (statements and transactions started by the catalog's methods).
    #[must_use]
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub(super) async fn migrate(&self) -> Result<(), CatalogError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The pool, for tests that inspect raw rows (e.g. that no secret is stored in plaintext).
    #[must_use]
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

#[async_trait]
impl Catalog for SqlCatalog {
    fn backend(&self) -> &'static str {
        self.backend
    }

    async fn ping(&self) -> Result<(), CatalogError> {
        sqlx::query("SELECT 1").execute(self.counted()).await?;
        Ok(())
    }

    async fn insert_org(&self, org: &Org) -> Result<(), CatalogError> {
        orgs::insert(self.counted(), org).await
    }
    async fn get_org(&self, id: OrgId) -> Result<Option<Org>, CatalogError> {
        orgs::get(self.counted(), id).await
    }
    async fn list_orgs(&self, page: Page<OrgId>) -> Result<Vec<Org>, CatalogError> {
        orgs::list(self.counted(), page).await
    }
    async fn rename_org(&self, id: OrgId, name: &str, at: DateTime<Utc>) -> Result<Option<Org>, CatalogError> {
        orgs::rename(self.counted(), id, name, at).await
    }
    async fn delete_org(&self, id: OrgId) -> Result<bool, CatalogError> {
        orgs::delete(self.counted(), id).await
    }

    async fn insert_member(&self, member: &Member) -> Result<(), CatalogError> {
        members::insert(self.counted(), member).await
    }
    async fn get_member(&self, org: OrgId, id: MemberId) -> Result<Option<Member>, CatalogError> {
        members::get(self.counted(), org, id).await
    }
    async fn list_members(&self, org: OrgId, page: Page<MemberId>) -> Result<Vec<Member>, CatalogError> {
        members::list(self.counted(), org, page).await
    }
    async fn update_member(&self, member: &Member) -> Result<bool, CatalogError> {
        members::update(self.counted(), member).await
    }
    async fn delete_member(&self, org: OrgId, id: MemberId) -> Result<bool, CatalogError> {
        members::delete(self.counted(), org, id).await
    }

    async fn insert_token(&self, token: &TokenMeta, hash: &str) -> Result<(), CatalogError> {
        tokens::insert(self.counted(), token, hash).await
    }
    async fn find_token(&self, hash: &str) -> Result<Option<(TokenMeta, Member)>, CatalogError> {
        tokens::find(self.counted(), hash).await
    }
    async fn list_tokens(&self, org: OrgId, member: MemberId) -> Result<Vec<TokenMeta>, CatalogError> {
        tokens::list(self.counted(), org, member).await
    }
    async fn revoke_token(
        &self,
        org: OrgId,
        member: MemberId,
        id: TokenId,
        at: DateTime<Utc>,
    ) -> Result<Option<TokenMeta>, CatalogError> {
        tokens::revoke(self.counted(), org, member, id, at).await
    }
    async fn touch_token(&self, id: TokenId, at: DateTime<Utc>, granularity_ms: i64) -> Result<(), CatalogError> {
        tokens::touch(self.counted(), id, at, granularity_ms).await
    }

    async fn insert_secret(&self, meta: &SecretMeta, stored: &StoredCiphertext) -> Result<(), CatalogError> {
        secrets::insert(self.counted(), meta, stored, None).await
    }
    async fn get_secret(
        &self,
        org: OrgId,
        id: SecretId,
    ) -> Result<Option<(SecretMeta, StoredCiphertext)>, CatalogError> {
        secrets::get(self.counted(), org, id).await
    }
    async fn list_secrets(&self, org: OrgId, page: Page<SecretId>) -> Result<Vec<SecretMeta>, CatalogError> {
        secrets::list(self.counted(), org, page).await
    }
    async fn update_secret(&self, meta: &SecretMeta, stored: Option<&StoredCiphertext>) -> Result<bool, CatalogError> {
        secrets::update(self.counted(), meta, stored).await
    }
    async fn delete_secret(&self, org: OrgId, id: SecretId) -> Result<bool, CatalogError> {
        secrets::delete(self.counted(), org, id).await
    }
    async fn secrets_not_under_key(&self, key_id: &str, limit: u32) -> Result<Vec<SecretToRewrap>, CatalogError> {
        secrets::not_under_key(self.counted(), key_id, limit).await
    }
    async fn swap_ciphertext(
        &self,
        id: SecretId,
        old: &StoredCiphertext,
        new: &StoredCiphertext,
    ) -> Result<bool, CatalogError> {
        secrets::swap_ciphertext(self.counted(), id, old, new).await
    }
    async fn count_secrets_by_key(&self) -> Result<Vec<(String, i64)>, CatalogError> {
        secrets::count_by_key(self.counted()).await
    }

    async fn insert_integration(&self, integration: &Integration, secrets: &[OwnedSecret]) -> Result<(), CatalogError> {
        integrations::insert(self.counted(), integration, secrets).await
    }
    async fn get_integration(&self, org: OrgId, id: IntegrationId) -> Result<Option<Integration>, CatalogError> {
        integrations::get(self.counted(), org, id).await
    }
    async fn list_integrations(&self, org: OrgId, page: Page<IntegrationId>) -> Result<Vec<Integration>, CatalogError> {
        integrations::list(self.counted(), org, page).await
    }
    async fn update_integration(
        &self,
        integration: &Integration,
        add: &[OwnedSecret],
        remove: &[SecretId],
    ) -> Result<bool, CatalogError> {
        integrations::update(self.counted(), integration, add, remove).await
    }
    async fn delete_integration(&self, org: OrgId, id: IntegrationId) -> Result<bool, CatalogError> {
        integrations::delete(self.counted(), org, id).await
    }
    async fn get_owned_secret(&self, org: OrgId, id: SecretId) -> Result<Option<StoredCiphertext>, CatalogError> {
        secrets::get_owned(self.counted(), org, id).await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), CatalogError> {
        audit::append(self.counted(), entry).await
    }
    async fn append_audit_once(&self, entry: &AuditEntry, once: &str) -> Result<bool, CatalogError> {
        audit::append_once(self.counted(), entry, once).await
    }
    async fn insert_connection(&self, connection: &Connection, secrets: &[OwnedSecret]) -> Result<(), CatalogError> {
        connections::insert(self.counted(), connection, secrets).await
    }
    async fn get_connection(&self, org: OrgId, id: ConnectionId) -> Result<Option<Connection>, CatalogError> {
        connections::get(self.counted(), org, id).await
    }
    async fn find_connection(&self, org: OrgId, name: &str) -> Result<Option<Connection>, CatalogError> {
        connections::find(self.counted(), org, name).await
    }
    async fn list_connections(&self, org: OrgId) -> Result<Vec<Connection>, CatalogError> {
        connections::list(self.counted(), org).await
    }
    async fn org_identity(&self, kind: &str, org: OrgId) -> Result<Option<String>, CatalogError> {
        let identity: Option<String> = sqlx::query_scalar(
            "SELECT identity FROM org_identities WHERE kind = $1 AND org_id = $2 ORDER BY identity LIMIT 1",
        )
        .bind(kind)
        .bind(org.to_string())
        .fetch_optional(self.counted())
        .await?;
        Ok(identity)
    }
    async fn claim_identity(
        &self,
        kind: &str,
        identity: &str,
        org: OrgId,
        at: DateTime<Utc>,
    ) -> Result<OrgId, CatalogError> {
        sqlx::query(
            "INSERT INTO org_identities (kind, identity, org_id, assigned_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (kind, identity) DO NOTHING",
        )
        .bind(kind)
        .bind(identity)
        .bind(org.to_string())
        .bind(at.timestamp_millis())
        .execute(self.counted())
        .await?;
        let holder: String = sqlx::query_scalar("SELECT org_id FROM org_identities WHERE kind = $1 AND identity = $2")
            .bind(kind)
            .bind(identity)
            .fetch_one(self.counted())
            .await?;
        holder.parse().map_err(|_| CatalogError::Corrupt(format!("org_identities.org_id = {holder}")))
    }
    async fn put_connection_report(
        &self,
        org: OrgId,
        id: ConnectionId,
        report: &serde_json::Value,
        next_check_at: DateTime<Utc>,
    ) -> Result<bool, CatalogError> {
        connections::put_report(self.counted(), org, id, report, next_check_at).await
    }
    async fn connection_report(&self, org: OrgId, id: ConnectionId) -> Result<Option<serde_json::Value>, CatalogError> {
        connections::report(self.counted(), org, id).await
    }
    async fn due_connections(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Connection>, CatalogError> {
        connections::due(self.counted(), now, limit).await
    }
    async fn update_connection(&self, connection: &Connection) -> Result<bool, CatalogError> {
        connections::update_platform(self.counted(), connection).await
    }
    async fn record_connection_table(
        &self,
        connection: ConnectionId,
        table: &str,
        created_by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), CatalogError> {
        connections::record_table(self.counted(), connection, table, created_by, at).await
    }
    async fn connection_table_recorded(&self, connection: ConnectionId, table: &str) -> Result<bool, CatalogError> {
        connections::table_recorded(self.counted(), connection, table).await
    }
    async fn delete_connection(&self, org: OrgId, id: ConnectionId) -> Result<bool, CatalogError> {
        connections::delete(self.counted(), org, id).await
    }

    async fn insert_upload(&self, upload: &Upload) -> Result<(), CatalogError> {
        uploads::insert(self.counted(), upload).await
    }
    async fn get_upload(&self, org: OrgId, id: UploadId) -> Result<Option<Upload>, CatalogError> {
        uploads::get(self.counted(), org, id).await
    }
    async fn list_uploads(&self, org: OrgId, after: Option<UploadId>, limit: u32) -> Result<Vec<Upload>, CatalogError> {
        uploads::list(self.counted(), org, after, limit).await
    }
    async fn update_upload(&self, upload: &Upload, expected: UploadState) -> Result<bool, CatalogError> {
        uploads::update(self.counted(), upload, expected).await
    }
    async fn expired_uploads(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Upload>, CatalogError> {
        uploads::expired(self.counted(), now, limit).await
    }
    async fn stale_uploads(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<Upload>, CatalogError> {
        uploads::stale_pending(self.counted(), before, limit).await
    }

    async fn insert_attachment(&self, attachment: &Attachment, max: u32) -> Result<bool, CatalogError> {
        attachments::insert_within(self.counted(), attachment, max).await
    }
    async fn get_attachment(&self, org: OrgId, id: AttachmentId) -> Result<Option<Attachment>, CatalogError> {
        attachments::get(self.counted(), org, id).await
    }
    async fn attachment_of_upload(&self, org: OrgId, upload: UploadId) -> Result<Option<Attachment>, CatalogError> {
        attachments::of_upload(self.counted(), org, upload).await
    }
    async fn list_attachments(
        &self,
        org: OrgId,
        filter: &AttachmentFilter,
        after: Option<AttachmentId>,
        limit: u32,
    ) -> Result<Vec<Attachment>, CatalogError> {
        attachments::list(self.counted(), org, filter, after, limit).await
    }
    async fn update_attachment(
        &self,
        attachment: &Attachment,
        expected: AttachmentState,
    ) -> Result<bool, CatalogError> {
        attachments::update(self.counted(), attachment, expected).await
    }
    async fn delete_attachment(&self, org: OrgId, id: AttachmentId) -> Result<bool, CatalogError> {
        attachments::delete(self.counted(), org, id).await
    }
    async fn attachments_in_state(
        &self,
        state: AttachmentState,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Attachment>, CatalogError> {
        attachments::in_state(self.counted(), state, before, limit).await
    }
    async fn put_attachment_policy(&self, org: OrgId, policy: &StoredPolicy) -> Result<(), CatalogError> {
        attachments::put_policy(self.counted(), org, policy).await
    }
    async fn get_attachment_policy(
        &self,
        org: OrgId,
        collection: &str,
        field: &str,
    ) -> Result<Option<StoredPolicy>, CatalogError> {
        attachments::get_policy(self.counted(), org, collection, field).await
    }
    async fn list_attachment_policies(&self, org: OrgId) -> Result<Vec<StoredPolicy>, CatalogError> {
        attachments::list_policies(self.counted(), org).await
    }
    async fn delete_attachment_policy(&self, org: OrgId, collection: &str, field: &str) -> Result<bool, CatalogError> {
        attachments::delete_policy(self.counted(), org, collection, field).await
    }

    async fn org_usage(&self, org: OrgId, what: crate::catalog::Usage) -> Result<u64, CatalogError> {
        use crate::catalog::Usage;
        let statement = match what {
            Usage::Exports => "SELECT COUNT(*) AS n FROM exports WHERE org_id = $1",
            Usage::Imports => "SELECT COUNT(*) AS n FROM imports WHERE org_id = $1",
            Usage::Webhooks => "SELECT COUNT(*) AS n FROM webhooks WHERE org_id = $1",
            Usage::QueuedJobs => "SELECT COUNT(*) AS n FROM jobs WHERE org_id = $1 AND state = 'queued'",
            Usage::StagedBytes => {
                // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back for one integer type on both catalogs.
                "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS n FROM uploads WHERE org_id = $1 \
                 AND integration_id IS NULL \
                 AND staged = 'present' AND state IN ('pending', 'uploaded')"
            }
        };
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(statement)).bind(org.to_string()).fetch_one(self.counted()).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
    async fn insert_job(&self, job: &Job) -> Result<(), CatalogError> {
        jobs::insert(self.counted(), job).await
    }
    async fn get_job(&self, org: OrgId, id: JobId) -> Result<Option<Job>, CatalogError> {
        jobs::get(self.counted(), org, id).await
    }
    async fn list_jobs(&self, org: OrgId, state: Option<JobState>, limit: u32) -> Result<Vec<Job>, CatalogError> {
        jobs::list(self.counted(), org, state, limit).await
    }
    async fn claim_job(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        max_running_per_org: u32,
    ) -> Result<Option<Job>, CatalogError> {
        jobs::claim(self.counted(), self.backend, owner, now, lease_until, max_running_per_org).await
    }
    async fn record_job_commit(&self, id: JobId, record: &str) -> Result<(), CatalogError> {
        jobs::record_commit(self.counted(), id, record).await
    }
    async fn heartbeat_job(
        &self,
        id: JobId,
        owner: &str,
        lease_until: DateTime<Utc>,
        progress: &Progress,
    ) -> Result<Option<bool>, CatalogError> {
        jobs::heartbeat(self.counted(), id, owner, lease_until, progress).await
    }
    async fn finish_job(
        &self,
        id: JobId,
        owner: &str,
        state: JobState,
        progress: &Progress,
        result: Option<&serde_json::Value>,
        error: Option<&JobError>,
        at: DateTime<Utc>,
    ) -> Result<bool, CatalogError> {
        jobs::finish(self.counted(), id, owner, state, progress, result, error, at).await
    }
    async fn cancel_job(&self, org: OrgId, id: JobId, at: DateTime<Utc>) -> Result<Option<Job>, CatalogError> {
        jobs::request_cancel(self.counted(), org, id, at).await
    }

    async fn insert_export(&self, export: &Export) -> Result<(), CatalogError> {
        exports::insert(self.counted(), export).await
    }
    async fn get_export(&self, org: OrgId, id: ExportId) -> Result<Option<Export>, CatalogError> {
        exports::get(self.counted(), org, id).await
    }
    async fn list_exports(&self, org: OrgId) -> Result<Vec<Export>, CatalogError> {
        exports::list(self.counted(), org).await
    }
    async fn update_export(&self, export: &Export) -> Result<bool, CatalogError> {
        exports::update(self.counted(), export).await
    }
    async fn delete_export(&self, org: OrgId, id: ExportId) -> Result<bool, CatalogError> {
        exports::delete(self.counted(), org, id).await
    }
    async fn due_exports(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Export>, CatalogError> {
        exports::due(self.counted(), now, limit).await
    }
    async fn enqueue_export_run(&self, job: &Job, run: &ExportRun) -> Result<bool, CatalogError> {
        exports::enqueue_run(self.counted(), self.backend, job, run).await
    }
    async fn get_export_run(&self, org: OrgId, id: JobId) -> Result<Option<ExportRun>, CatalogError> {
        exports::get_run(self.counted(), org, id).await
    }
    async fn list_export_runs(&self, org: OrgId, export: ExportId, limit: u32) -> Result<Vec<ExportRun>, CatalogError> {
        exports::list_runs(self.counted(), org, export, limit).await
    }
    async fn update_export_run(&self, run: &ExportRun) -> Result<(), CatalogError> {
        exports::update_run(self.counted(), run).await
    }
    async fn export_runs_to_clean(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<ExportRun>, CatalogError> {
        exports::runs_to_clean(self.counted(), now, limit).await
    }

    async fn insert_import(&self, import: &Import) -> Result<(), CatalogError> {
        imports::insert(self.counted(), import).await
    }
    async fn get_import(&self, org: OrgId, id: ImportId) -> Result<Option<Import>, CatalogError> {
        imports::get(self.counted(), org, id).await
    }
    async fn list_imports(&self, org: OrgId) -> Result<Vec<Import>, CatalogError> {
        imports::list(self.counted(), org).await
    }
    async fn update_import(&self, import: &Import) -> Result<bool, CatalogError> {
        imports::update(self.counted(), import).await
    }
    async fn delete_import(&self, org: OrgId, id: ImportId) -> Result<bool, CatalogError> {
        imports::delete(self.counted(), org, id).await
    }
    async fn due_imports(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Import>, CatalogError> {
        imports::due(self.counted(), now, limit).await
    }
    async fn enqueue_import_run(&self, job: &Job, run: &ImportRun) -> Result<bool, CatalogError> {
        imports::enqueue_run(self.counted(), self.backend, job, run).await
    }
    async fn get_import_run(&self, org: OrgId, id: JobId) -> Result<Option<ImportRun>, CatalogError> {
        imports::get_run(self.counted(), org, id).await
    }
    async fn list_import_runs(&self, org: OrgId, import: ImportId, limit: u32) -> Result<Vec<ImportRun>, CatalogError> {
        imports::list_runs(self.counted(), org, import, limit).await
    }
    async fn update_import_run(&self, run: &ImportRun) -> Result<(), CatalogError> {
        imports::update_run(self.counted(), run).await
    }

    async fn list_audit(
        &self,
        org: OrgId,
        filter: &AuditFilter,
        page: Page<AuditId>,
    ) -> Result<Vec<AuditEntry>, CatalogError> {
        audit::list(self.counted(), org, filter, page).await
    }

    async fn insert_verification(
        &self,
        id: VerificationId,
        org: OrgId,
        integration: IntegrationId,
        started_at: DateTime<Utc>,
        report: &serde_json::Value,
    ) -> Result<(), CatalogError> {
        health::insert_verification(self.counted(), id, org, integration, started_at, report).await
    }

    async fn list_verifications(
        &self,
        org: OrgId,
        integration: IntegrationId,
        limit: u32,
    ) -> Result<Vec<serde_json::Value>, CatalogError> {
        health::list_verifications(self.counted(), org, integration, limit).await
    }

    async fn get_schedule(&self, integration: IntegrationId) -> Result<Option<HealthSchedule>, CatalogError> {
        health::get_schedule(self.counted(), integration).await
    }

    async fn put_schedule(
        &self,
        org: OrgId,
        integration: IntegrationId,
        schedule: &HealthSchedule,
    ) -> Result<(), CatalogError> {
        health::put_schedule(self.counted(), org, integration, schedule).await
    }

    async fn due_integrations(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(OrgId, IntegrationId)>, CatalogError> {
        health::due_integrations(self.counted(), now, limit).await
    }

    async fn insert_event(&self, event: &Event, deliveries: &[Delivery]) -> Result<(), CatalogError> {
        health::insert_event(self.counted(), event, deliveries).await
    }

    async fn insert_event_once(
        &self,
        event: &Event,
        deliveries: &[Delivery],
        audit: &AuditEntry,
        once: &str,
    ) -> Result<bool, CatalogError> {
        health::insert_event_once(self.counted(), event, deliveries, audit, once).await
    }

    async fn list_events(&self, org: OrgId, event_type: Option<&str>, limit: u32) -> Result<Vec<Event>, CatalogError> {
        health::list_events(self.counted(), org, event_type, limit).await
    }

    async fn insert_webhook(&self, webhook: &Webhook, secret: &OwnedSecret) -> Result<(), CatalogError> {
        health::insert_webhook(self.counted(), webhook, secret).await
    }

    async fn list_webhooks(&self, org: OrgId) -> Result<Vec<Webhook>, CatalogError> {
        health::list_webhooks(self.counted(), org).await
    }

    async fn delete_webhook(&self, org: OrgId, id: WebhookId) -> Result<bool, CatalogError> {
        health::delete_webhook(self.counted(), org, id).await
    }

    async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(Delivery, Webhook, Event)>, CatalogError> {
        health::due_deliveries(self.counted(), now, limit).await
    }

    async fn update_delivery(&self, delivery: &Delivery, seen_attempts: u32) -> Result<bool, CatalogError> {
        health::update_delivery(self.counted(), delivery, seen_attempts).await
    }

    async fn list_deliveries(&self, org: OrgId, webhook: WebhookId, limit: u32) -> Result<Vec<Delivery>, CatalogError> {
        health::list_deliveries(self.counted(), org, webhook, limit).await
    }
}
