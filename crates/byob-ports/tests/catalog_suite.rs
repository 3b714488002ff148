//! The catalog suite: every test runs on SQLite and on PostgreSQL, through the same migrations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::{
    Actor, AuditEntry, AuditId, AuditOutcome, IntegrationId, Member, MemberId, Org, OrgId, Role, SecretId, SecretMeta,
    TokenId, TokenMeta,
    integration::{Credentials, Feature, Integration, IntegrationState},
    location::Provider,
};
use byob_core::{
    AttachmentId, UploadId,
    attachment::{Attachment, AttachmentState, Policy, Rejection},
};
use byob_ports::catalog::{
    self, AttachmentFilter, AuditFilter, Catalog, CatalogError, OwnedSecret, Page, StoredCiphertext, StoredPolicy,
};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap()
}

async fn sqlite() -> (impl Catalog, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
    (catalog::connect(&url, 4).await.unwrap(), dir)
}

async fn postgres() -> (impl Catalog, ()) {
    let url = byob_testkit::fresh_postgres_database().await;
    (catalog::connect(&url, 4).await.unwrap(), ())
}

/// Runs each listed test against both backends.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(#[tokio::test] async fn $name() { let (c, _dir) = super::sqlite().await; super::$name(&c).await; })*
        }
        mod postgres_backend {
            $(#[tokio::test] async fn $name() { let (c, _guard) = super::postgres().await; super::$name(&c).await; })*
        }
    };
}

on_both_backends!(
    a_fresh_catalog_is_migrated_and_ready,
    orgs_round_trip_and_page_by_id,
    deleting_an_org_removes_its_records_but_keeps_its_audit_trail,
    tokens_are_found_by_hash_with_their_member,
    revoking_keeps_the_first_revocation_time,
    secret_names_are_unique_per_org,
    swapping_a_ciphertext_is_compare_and_set,
    audit_is_newest_first_filtered_and_paged,
    an_integration_and_its_secrets_are_written_together,
    an_integrations_secrets_are_hidden_from_the_secrets_api_but_rotated,
    attachments_fill_a_field_up_to_the_limit_and_list_by_slot,
    attachment_policies_are_per_field_and_per_org,
    a_migrations_progress_is_what_its_objects_record,
);

async fn org(c: &impl Catalog, name: &str) -> Org {
    let t = now();
    let org = Org { id: OrgId::generate(), name: name.into(), created_at: t, updated_at: t };
    c.insert_org(&org).await.unwrap();
    org
}

async fn member(c: &impl Catalog, org: OrgId) -> Member {
    let t = now();
    let m = Member {
        id: MemberId::generate(),
        org_id: org,
        name: "Ada".into(),
        email: None,
        role: Role::Admin,
        created_at: t,
        updated_at: t,
    };
    c.insert_member(&m).await.unwrap();
    m
}

fn token_for(m: &Member) -> TokenMeta {
    TokenMeta {
        id: TokenId::generate(),
        org_id: m.org_id,
        member_id: m.id,
        name: "ci".into(),
        prefix: "byob_abc".into(),
        created_at: now(),
        expires_at: Some(now() + Duration::days(1)),
        revoked_at: None,
        last_used_at: None,
    }
}

fn secret_meta(org: OrgId, name: &str) -> SecretMeta {
    let t = now();
    SecretMeta {
        id: SecretId::generate(),
        org_id: org,
        name: name.into(),
        description: None,
        key_id: "mk_1".into(),
        created_at: t,
        updated_at: t,
        expires_at: None,
    }
}

fn sealed(text: &str) -> StoredCiphertext {
    StoredCiphertext { key_id: "mk_1".into(), ciphertext: text.into() }
}

async fn a_fresh_catalog_is_migrated_and_ready(c: &impl Catalog) {
    c.ping().await.unwrap();
    let o = org(c, "a").await;
    assert_eq!(c.get_org(o.id).await.unwrap(), Some(o));
}

async fn orgs_round_trip_and_page_by_id(c: &impl Catalog) {
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(org(c, &format!("org {i}")).await);
    }
    // Paging is by id: stable and complete, whatever the creation order within one millisecond.
    made.sort_by_key(|o| o.id);
    let first = c.list_orgs(Page { after: None, limit: 3 }).await.unwrap();
    assert_eq!(first, made[..3]);
    let rest = c.list_orgs(Page { after: Some(first[2].id), limit: 3 }).await.unwrap();
    assert_eq!(rest, made[3..]);
    let renamed = c.rename_org(made[0].id, "renamed", now()).await.unwrap().unwrap();
    assert_eq!(renamed.name, "renamed");
    assert!(c.rename_org(OrgId::generate(), "x", now()).await.unwrap().is_none());
}

async fn deleting_an_org_removes_its_records_but_keeps_its_audit_trail(c: &impl Catalog) {
    let o = org(c, "doomed").await;
    let m = member(c, o.id).await;
    let t = token_for(&m);
    c.insert_token(&t, "hash-doomed").await.unwrap();
    c.insert_secret(&secret_meta(o.id, "k"), &sealed("ct")).await.unwrap();
    c.append_audit(&audit(o.id, "org.create", AuditOutcome::Success)).await.unwrap();
    assert!(c.delete_org(o.id).await.unwrap());
    assert!(c.get_member(o.id, m.id).await.unwrap().is_none());
    assert!(c.find_token("hash-doomed").await.unwrap().is_none());
    assert!(c.list_secrets(o.id, Page { after: None, limit: 10 }).await.unwrap().is_empty());
    assert_eq!(c.list_audit(o.id, &AuditFilter::default(), Page { after: None, limit: 10 }).await.unwrap().len(), 1);
    assert!(!c.delete_org(o.id).await.unwrap());
}

async fn tokens_are_found_by_hash_with_their_member(c: &impl Catalog) {
    let o = org(c, "t").await;
    let m = member(c, o.id).await;
    let t = token_for(&m);
    c.insert_token(&t, "hash-1").await.unwrap();
    let (found, owner) = c.find_token("hash-1").await.unwrap().unwrap();
    assert_eq!(found, t);
    assert_eq!(owner, m);
    assert!(c.find_token("hash-2").await.unwrap().is_none());
    c.touch_token(t.id, now(), 60_000).await.unwrap();
    assert!(c.list_tokens(o.id, m.id).await.unwrap()[0].last_used_at.is_some());
}

async fn revoking_keeps_the_first_revocation_time(c: &impl Catalog) {
    let o = org(c, "r").await;
    let m = member(c, o.id).await;
    let t = token_for(&m);
    c.insert_token(&t, "hash-r").await.unwrap();
    let first = now();
    let revoked = c.revoke_token(o.id, m.id, t.id, first).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(first));
    let again = c.revoke_token(o.id, m.id, t.id, first + Duration::hours(1)).await.unwrap().unwrap();
    assert_eq!(again.revoked_at, Some(first));
    let other_org = org(c, "other").await;
    assert!(c.revoke_token(other_org.id, m.id, t.id, first).await.unwrap().is_none());
}

async fn secret_names_are_unique_per_org(c: &impl Catalog) {
    let a = org(c, "a").await;
    let b = org(c, "b").await;
    c.insert_secret(&secret_meta(a.id, "aws"), &sealed("x")).await.unwrap();
    c.insert_secret(&secret_meta(b.id, "aws"), &sealed("y")).await.unwrap();
    let err = c.insert_secret(&secret_meta(a.id, "aws"), &sealed("z")).await.unwrap_err();
    assert!(matches!(err, CatalogError::Conflict(_)), "{err:?}");
}

async fn swapping_a_ciphertext_is_compare_and_set(c: &impl Catalog) {
    let o = org(c, "s").await;
    let meta = secret_meta(o.id, "k");
    c.insert_secret(&meta, &sealed("old")).await.unwrap();
    let new = StoredCiphertext { key_id: "mk_2".into(), ciphertext: "new".into() };
    assert_eq!(c.secrets_not_under_key("mk_2", 10).await.unwrap().iter().filter(|s| s.id == meta.id).count(), 1);
    assert!(!c.swap_ciphertext(meta.id, &sealed("stale"), &new).await.unwrap());
    assert!(c.swap_ciphertext(meta.id, &sealed("old"), &new).await.unwrap());
    let (_, stored) = c.get_secret(o.id, meta.id).await.unwrap().unwrap();
    assert_eq!(stored, new);
    assert!(c.count_secrets_by_key().await.unwrap().contains(&("mk_2".to_string(), 1)));
}

fn audit(org: OrgId, action: &str, outcome: AuditOutcome) -> AuditEntry {
    AuditEntry {
        id: AuditId::generate(),
        org_id: org,
        at: now(),
        actor: Actor::Operator,
        action: action.into(),
        target: Some("x".into()),
        outcome,
        request_id: Some("req_1".into()),
        detail: json!({ "k": "v" }),
    }
}

async fn audit_is_newest_first_filtered_and_paged(c: &impl Catalog) {
    let o = org(c, "audited").await;
    let mut written = Vec::new();
    for (i, action) in ["a.one", "a.two", "a.one", "a.three"].into_iter().enumerate() {
        let outcome = if i == 1 { AuditOutcome::Denied } else { AuditOutcome::Success };
        let e = audit(o.id, action, outcome);
        c.append_audit(&e).await.unwrap();
        written.push(e);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let all = c.list_audit(o.id, &AuditFilter::default(), Page { after: None, limit: 10 }).await.unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), written.iter().rev().map(|e| e.id).collect::<Vec<_>>());
    let page2 = c.list_audit(o.id, &AuditFilter::default(), Page { after: Some(all[1].id), limit: 10 }).await.unwrap();
    assert_eq!(page2, all[2..]);
    let ones = AuditFilter { action: Some("a.one".into()), ..AuditFilter::default() };
    assert_eq!(c.list_audit(o.id, &ones, Page { after: None, limit: 10 }).await.unwrap().len(), 2);
    let denied =
        AuditFilter { outcome: Some(AuditOutcome::Denied), actor: Some("operator".into()), ..AuditFilter::default() };
    assert_eq!(c.list_audit(o.id, &denied, Page { after: None, limit: 10 }).await.unwrap()[0].action, "a.two");
    let future = AuditFilter { since: Some(now() + Duration::hours(1)), ..AuditFilter::default() };
    assert!(c.list_audit(o.id, &future, Page { after: None, limit: 10 }).await.unwrap().is_empty());
    let other = org(c, "other").await;
    assert!(c.list_audit(other.id, &AuditFilter::default(), Page { after: None, limit: 10 }).await.unwrap().is_empty());
}

fn integration(org: OrgId, name: &str, secret: SecretId) -> Integration {
    let t = now();
    Integration {
        id: IntegrationId::generate(),
        org_id: org,
        name: name.into(),
        provider: Provider::S3,
        bucket: "acme-data".into(),
        prefix: "byob".into(),
        region: Some("eu-central-1".into()),
        endpoint: None,
        path_style: false,
        credentials: Credentials::S3AccessKey {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: secret,
        },
        kms_key: None,
        allowed_origins: vec!["https://app.example.com".into()],
        staging_ttl_hours: 24,
        features: vec![Feature::Uploads, Feature::Exports],
        state: IntegrationState::Draft,
        created_at: t,
        updated_at: t,
    }
}

fn owned(org: OrgId, name: &str, ciphertext: &str) -> OwnedSecret {
    OwnedSecret { meta: secret_meta(org, name), stored: sealed(ciphertext) }
}

async fn an_integration_and_its_secrets_are_written_together(c: &impl Catalog) {
    let o = org(c, "i").await;
    let key = owned(o.id, "k1", "ct1");
    let mut i = integration(o.id, "prod", key.meta.id);
    c.insert_integration(&i, std::slice::from_ref(&key)).await.unwrap();
    assert_eq!(c.get_integration(o.id, i.id).await.unwrap(), Some(i.clone()));
    assert_eq!(c.get_owned_secret(o.id, key.meta.id).await.unwrap(), Some(key.stored.clone()));

    // A failed insert (duplicate name) leaves neither the integration nor its secret behind.
    let other_key = owned(o.id, "k2", "ct2");
    let duplicate = integration(o.id, "prod", other_key.meta.id);
    assert!(matches!(
        c.insert_integration(&duplicate, std::slice::from_ref(&other_key)).await,
        Err(CatalogError::Conflict(_))
    ));
    assert!(c.get_owned_secret(o.id, other_key.meta.id).await.unwrap().is_none());

    // Replacing the credential swaps the owned secrets in one step.
    let replacement = owned(o.id, "k3", "ct3");
    i.credentials = Credentials::S3AccessKey {
        access_key_id: "AKIAI44QH8DHBEXAMPLE".into(),
        secret_access_key: replacement.meta.id,
    };
    i.state = IntegrationState::Disabled;
    assert!(c.update_integration(&i, std::slice::from_ref(&replacement), &[key.meta.id]).await.unwrap());
    assert!(c.get_owned_secret(o.id, key.meta.id).await.unwrap().is_none());
    assert_eq!(c.get_integration(o.id, i.id).await.unwrap(), Some(i.clone()));
    assert_eq!(c.list_integrations(o.id, Page { after: None, limit: 10 }).await.unwrap(), vec![i.clone()]);

    assert!(c.delete_integration(o.id, i.id).await.unwrap());
    assert!(c.get_owned_secret(o.id, replacement.meta.id).await.unwrap().is_none());
    assert!(!c.delete_integration(o.id, i.id).await.unwrap());
    let other_org = org(c, "other").await;
    assert!(c.get_integration(other_org.id, i.id).await.unwrap().is_none());
}

async fn an_integrations_secrets_are_hidden_from_the_secrets_api_but_rotated(c: &impl Catalog) {
    let o = org(c, "h").await;
    let key = owned(o.id, "hidden", "ct");
    c.insert_integration(&integration(o.id, "x", key.meta.id), std::slice::from_ref(&key)).await.unwrap();
    assert!(c.list_secrets(o.id, Page { after: None, limit: 10 }).await.unwrap().is_empty());
    assert!(c.get_secret(o.id, key.meta.id).await.unwrap().is_none());
    assert!(!c.delete_secret(o.id, key.meta.id).await.unwrap());
    assert!(c.secrets_not_under_key("mk_new", 100).await.unwrap().iter().any(|s| s.id == key.meta.id));
}

fn attachment(org: OrgId, record: &str) -> Attachment {
    let id = AttachmentId::generate();
    Attachment {
        id,
        org_id: org,
        collection: "orders".into(),
        record: record.into(),
        field: "invoice".into(),
        filename: "résumé.pdf".into(),
        size: 10,
        declared_type: "application/pdf".into(),
        content_type: None,
        state: AttachmentState::Pending,
        rejection: None,
        integration_id: IntegrationId::generate(),
        key: byob_core::attachment::object_key(id),
        thumbnail_key: None,
        scanned_by: None,
        scan_job: None,
        upload_id: UploadId::generate(),
        created_by: "mem_x".into(),
        created_at: now(),
        settled_at: None,
    }
}

async fn attachments_fill_a_field_up_to_the_limit_and_list_by_slot(c: &impl Catalog) {
    let o = org(c, "acme").await;
    let first = attachment(o.id, "42");
    assert!(c.insert_attachment(&first, 2).await.unwrap());
    let mut second = attachment(o.id, "42");
    assert!(c.insert_attachment(&second, 2).await.unwrap());
    assert!(!c.insert_attachment(&attachment(o.id, "42"), 2).await.unwrap(), "the field is full");
    assert!(c.insert_attachment(&attachment(o.id, "43"), 2).await.unwrap(), "another record has room");
    // A rejected file frees its place; the update is compare-and-set on the state.
    second.state = AttachmentState::Rejected;
    second.rejection = Some(Rejection { code: "attachment-infected".into(), message: "found".into() });
    assert!(c.update_attachment(&second, AttachmentState::Pending).await.unwrap());
    assert!(!c.update_attachment(&second, AttachmentState::Pending).await.unwrap());
    assert!(c.insert_attachment(&attachment(o.id, "42"), 2).await.unwrap());
    let back = c.get_attachment(o.id, second.id).await.unwrap().unwrap();
    assert_eq!(back, second);
    assert_eq!(c.attachment_of_upload(o.id, first.upload_id).await.unwrap().unwrap().id, first.id);

    let of_42 = AttachmentFilter { collection: Some("orders".into()), record: Some("42".into()), ..Default::default() };
    let listed = c.list_attachments(o.id, &of_42, None, 10).await.unwrap();
    assert_eq!(listed.len(), 3);
    let page = c.list_attachments(o.id, &of_42, Some(listed[0].id), 10).await.unwrap();
    assert_eq!(page.len(), 2, "strictly after the cursor");
    let rejected = AttachmentFilter { state: Some(AttachmentState::Rejected), ..Default::default() };
    assert_eq!(c.list_attachments(o.id, &rejected, None, 10).await.unwrap().len(), 1);
    let other = org(c, "other").await;
    assert!(c.list_attachments(other.id, &AttachmentFilter::default(), None, 10).await.unwrap().is_empty());
    assert!(c.get_attachment(other.id, first.id).await.unwrap().is_none(), "never across orgs");
    assert!(c.delete_attachment(o.id, first.id).await.unwrap());
    assert!(!c.delete_attachment(o.id, first.id).await.unwrap());
}

async fn attachment_policies_are_per_field_and_per_org(c: &impl Catalog) {
    let o = org(c, "acme").await;
    let other = org(c, "other").await;
    let stored = StoredPolicy {
        collection: "orders".into(),
        field: "invoice".into(),
        policy: Policy { inline_preview: true, ..Policy::default() },
        updated_by: "mem_a".into(),
        updated_at: now(),
    };
    c.put_attachment_policy(o.id, &stored).await.unwrap();
    assert_eq!(c.get_attachment_policy(o.id, "orders", "invoice").await.unwrap(), Some(stored.clone()));
    assert_eq!(c.get_attachment_policy(o.id, "orders", "photo").await.unwrap(), None);
    assert_eq!(c.get_attachment_policy(other.id, "orders", "invoice").await.unwrap(), None);
    let changed = StoredPolicy { policy: Policy { max_files_per_record: 1, ..Policy::default() }, ..stored };
    c.put_attachment_policy(o.id, &changed).await.unwrap();
    assert_eq!(c.list_attachment_policies(o.id).await.unwrap(), vec![changed]);
    assert!(c.delete_attachment_policy(o.id, "orders", "invoice").await.unwrap());
    assert!(c.list_attachment_policies(o.id).await.unwrap().is_empty());
}

async fn a_migrations_progress_is_what_its_objects_record(c: &impl Catalog) {
    use byob_core::migration::{Migration, MigrationCounts, MigrationState};
    use catalog::{MigrationObject, MigrationProgress};
    let o = org(c, "acme").await;
    let m = Migration {
        id: byob_core::MigrationId::generate(),
        org_id: o.id,
        from: "default".into(),
        to: "default".into(),
        features: vec![Feature::Assets],
        dry_run: false,
        delete_source: true,
        state: MigrationState::Copying,
        job_id: None,
        counts: MigrationCounts::default(),
        conflicts: Vec::new(),
        error: None,
        created_by: "mem_a".into(),
        created_at: now(),
        switched_at: None,
        finished_at: None,
    };
    assert!(c.insert_migration(&m).await.unwrap());
    let objects: Vec<MigrationObject> =
        [("a", 10), ("b", 20), ("c", 40)].map(|(key, size)| MigrationObject { key: key.into(), size }).into();
    c.add_migration_objects(m.id, &objects).await.unwrap();
    let found = MigrationProgress { objects: 3, bytes: 70, ..MigrationProgress::default() };
    assert_eq!(c.migration_progress(m.id).await.unwrap(), found);
    c.mark_migration_object(m.id, "a", "verified", Some("aa"), true).await.unwrap();
    // Already on the destination: verified, not copied.
    c.mark_migration_object(m.id, "b", "verified", None, false).await.unwrap();
    c.mark_migration_object(m.id, "c", "verified", Some("cc"), true).await.unwrap();
    let copied = MigrationProgress { skipped: 1, copied: 2, bytes_copied: 50, ..found };
    assert_eq!(c.migration_progress(m.id).await.unwrap(), copied);
    // Deleting from the source keeps whether each was copied.
    c.mark_migration_object(m.id, "a", "deleted", None, false).await.unwrap();
    c.mark_migration_object(m.id, "b", "deleted", None, false).await.unwrap();
    assert_eq!(c.migration_progress(m.id).await.unwrap(), MigrationProgress { deleted: 2, ..copied });
}
