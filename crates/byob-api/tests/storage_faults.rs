//! byob under a misbehaving store (issue 22): moto behind the test kit's fault proxy. At 5 % refusals (503
//! `SlowDown` with `Retry-After`, 500 `InternalError` without), 1 % connections cut mid-body (half of the cut
//! uploads after moto acted, their answer lost) and 2 % latency spikes, 50 loads, 20 exports, 20 imports and a
//! migration all succeed with exactly the rows and bytes they would have had on a healthy store. At 100 %
//! refusals a load, an export, an import and a migration fail with `storage-unavailable` and leave nothing:
//! no table, no object, no open multipart upload, the feature still where it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use byob_core::Role;
use byob_ports::storage::RetryPolicy;
use byob_service::jobs::JobSettings;
use byob_testkit::{
    TestApp,
    app::TestOptions,
    assets::{AssetOrg, put_asset, read_asset, run_jobs},
    buckets::{create_s3_bucket, unique_name},
    exports::{Bucket, Store, export, open_multipart_uploads},
    faults::{FaultProxy, Faults},
    integrations::{Access, integration_body},
    server_env,
    uploads::{create_integration, load, sample_csv, sqlite_sample_checksum, upload_bytes},
};
use serde_json::{Value, json};

/// The fault proxy's seed: the same draws on every run (the order of concurrent requests may still vary).
const SEED: u64 = 22;

struct Setup {
    app: TestApp,
    org: AssetOrg,
    proxy: FaultProxy,
    bucket: Bucket,
    /// A second integration through the proxy, empty, that the migration moves assets into.
    target: String,
}

async fn setup() -> Setup {
    // A few attempts per request and job retries at once: the faults are the test's, not the backoff's.
    let jobs = JobSettings { retry_backoff: Duration::ZERO, ..JobSettings::default() };
    let storage_retry = RetryPolicy { retries: 4, timeout: Duration::from_secs(60) };
    let app = TestApp::sqlite_with(TestOptions { jobs, storage_retry, ..TestOptions::default() }).await;
    let id = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&id, Role::Member).await;
    let (_, admin) = app.member_with_token(&id, Role::Admin).await;
    let proxy = FaultProxy::start(&server_env("BYOB_TEST_S3_ENDPOINT"), SEED).await;
    let bucket = Bucket::create(Store::Moto, &app, &id).await;
    let mut customer = bucket.integration().unwrap();
    customer["endpoint"] = json!(proxy.url());
    customer["features"] = json!(["uploads", "exports", "imports"]);
    create_integration(&app, &id, customer).await;
    let target_bucket = unique_name("faults-mig");
    create_s3_bucket(&target_bucket).await;
    let mut target = integration_body(Access::Moto, "target", &target_bucket, "projects", &[]);
    target["endpoint"] = json!(proxy.url());
    let target = create_integration(&app, &id, target).await;
    let org =
        AssetOrg { id, member, admin, access: Access::Moto, bucket: target_bucket.clone(), prefix: "projects".into() };
    Setup { app, org, proxy, bucket, target }
}

fn misbehaving() -> Faults {
    Faults {
        error_rate: 0.05,
        retry_after: Some(1),
        reset_rate: 0.01,
        latency_rate: 0.02,
        latency: Duration::from_millis(300),
        ..Faults::default()
    }
}

async fn job(s: &Setup, id: &str) -> Value {
    s.app.call("GET", &format!("/v1/orgs/{}/jobs/{id}", s.org.id), Some(&s.org.member), None).await.body
}

/// Creates an import of the file at `path` into `table` and runs it to its end.
async fn import(s: &Setup, path: &str, table: &str) -> Value {
    let body = json!({
        "integration": "customer", "source": { "mode": "fixed", "path": path },
        "connection": "local", "table": table, "load": { "mode": "replace" },
    });
    let base = format!("/v1/orgs/{}/imports", s.org.id);
    let created = s.app.call("POST", &base, Some(&s.org.member), Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let runs = format!("{base}/{}/runs", created.id());
    let started = s.app.call("POST", &runs, Some(&s.org.member), Some(json!({ "force": true }))).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    run_jobs(&s.app).await;
    let run = started.body["id"].as_str().unwrap();
    s.app.call("GET", &format!("{runs}/{run}"), Some(&s.org.member), None).await.body
}

async fn migrate(s: &Setup, from: &str, to: &str) -> Value {
    let path = format!("/v1/orgs/{}/migrations", s.org.id);
    let body = json!({ "from": from, "to": to, "features": ["assets"] });
    let started = s.app.call("POST", &path, Some(&s.org.admin), Some(body)).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    run_jobs(&s.app).await;
    let id = started.body["id"].as_str().unwrap();
    s.app.call("GET", &format!("{path}/{id}"), Some(&s.org.member), None).await.body
}

/// The bytes of an export run's files, read from moto directly (not through the proxy).
async fn exported(s: &Setup, run: &Value) -> Vec<u8> {
    let mut bytes = Vec::new();
    for file in run["files"].as_array().unwrap() {
        bytes.extend(s.bucket.read(file["key"].as_str().unwrap()).await);
    }
    bytes
}

async fn table_exists(s: &Setup, table: &str) -> bool {
    use sqlx::Connection;
    let path = s.app.warehouse_path(&s.org.id);
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let found: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
        .bind(table)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    found == 1
}

#[tokio::test(flavor = "multi_thread")]
async fn flows_survive_a_misbehaving_store_and_fail_cleanly_when_it_refuses_everything() {
    let s = setup().await;
    let warehouse = s.app.warehouse_path(&s.org.id);
    let member = s.org.member.clone();

    // Set up on a healthy store: the files to load, the table to export (12 MB: three multipart parts), the
    // files to import, the assets to migrate, and what a healthy export gives.
    let (small, small_sum) = sample_csv(60_000);
    let mut uploads = Vec::new();
    for i in 0..51 {
        uploads.push(upload_bytes(&s.app, &s.org.id, &member, &format!("f{i}.csv"), &small).await);
    }
    let (big, big_sum) = sample_csv(12 << 20);
    let big_upload = upload_bytes(&s.app, &s.org.id, &member, "big.csv", &big).await;
    let done = load(&s.app, &s.org.id, &member, &big_upload, json!({ "connection": "local", "table": "big" })).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    for i in 0..21 {
        s.bucket.write(&format!("incoming/{i}.csv"), &small).await;
    }
    let assets: Vec<(String, Vec<u8>)> =
        (0..20).map(|i| (format!("models/m{i}.bin"), vec![u8::try_from(i).unwrap(); 40_000 + i * 1000])).collect();
    for (name, bytes) in &assets {
        assert_eq!(put_asset(&s.app, &s.org, name, bytes, &[]).await.status, 201);
    }
    let export_body = json!({ "connection": "local", "table": "big", "format": "csv" });
    let (_, healthy) = export(&s.app, &s.org.id, &member, export_body.clone()).await;
    assert_eq!(healthy["state"], "succeeded", "{healthy}");
    let expected_export = exported(&s, &healthy).await;
    assert!(expected_export.len() > 10 << 20);

    s.proxy.set(misbehaving());
    for (i, upload) in uploads.iter().take(50).enumerate() {
        let table = format!("l{i}");
        let done = load(&s.app, &s.org.id, &member, upload, json!({ "connection": "local", "table": table })).await;
        assert_eq!(done["state"], "succeeded", "load {i}: {done}");
        assert_eq!(sqlite_sample_checksum(&warehouse, &table).await.1, small_sum, "load {i}");
    }
    for i in 0..20 {
        let (_, run) = export(&s.app, &s.org.id, &member, export_body.clone()).await;
        assert_eq!(run["state"], "succeeded", "export {i}: {run}");
        assert!(exported(&s, &run).await == expected_export, "export {i} differs from the healthy one");
    }
    for i in 0..20 {
        let table = format!("i{i}");
        let run = import(&s, &format!("incoming/{i}.csv"), &table).await;
        assert_eq!(run["state"], "succeeded", "import {i}: {run}");
        assert_eq!(sqlite_sample_checksum(&warehouse, &table).await.1, small_sum, "import {i}");
    }
    let moved = migrate(&s, "default", &s.target).await;
    assert_eq!(moved["state"], "completed", "{moved}");
    assert_eq!(moved["counts"]["copied"], moved["counts"]["objects"], "{moved}");
    for (name, bytes) in &assets {
        assert_eq!(read_asset(&s.app, &s.org, name, None).await.2.as_deref(), Ok(bytes.as_slice()), "{name}");
    }
    let (refused, cut) = s.proxy.injected();
    assert!(refused > 0 && cut > 0, "faults were injected: {refused} refusals, {cut} cuts");
    assert_eq!(sqlite_sample_checksum(&warehouse, "big").await.1, big_sum);

    // Everything refused: each flow fails with a clear error and leaves nothing.
    s.proxy.set(Faults::refuse_all());
    let keys_before = s.bucket.keys().await;
    let failed = byob_testkit::uploads::start_load(
        &s.app,
        &s.org.id,
        &member,
        &uploads[50],
        json!({ "connection": "local", "table": "never_loaded" }),
    )
    .await;
    // The load reads the file's head before it queues anything: refused there, or failed as a job.
    let error = if failed.status == 202 {
        run_jobs(&s.app).await;
        let failed = job(&s, &failed.id()).await;
        assert_eq!(failed["state"], "failed", "{failed}");
        failed["error"].clone()
    } else {
        assert_eq!(failed.status, 502, "{:?}", failed.body);
        failed.body
    };
    assert_eq!(error["code"], "storage-unavailable", "{error}");
    assert!(!table_exists(&s, "never_loaded").await, "a failed load leaves no table");

    let (_, run) = export(&s.app, &s.org.id, &member, export_body.clone()).await;
    assert_eq!((run["state"].as_str(), run["error"]["code"].as_str()), (Some("failed"), Some("storage-unavailable")));
    let message = run["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.contains("X-Amz-Signature") && !message.contains("testing-secret"), "{message}");

    let run = import(&s, "incoming/20.csv", "never_imported").await;
    assert_eq!((run["state"].as_str(), run["error"]["code"].as_str()), (Some("failed"), Some("storage-unavailable")));
    assert!(!table_exists(&s, "never_imported").await, "a failed import leaves no table");

    let back = migrate(&s, &s.target, "default").await;
    assert_eq!(back["state"], "failed", "{back}");
    let path = format!("/v1/orgs/{}/integrations/{}", s.org.id, s.target);
    let target = s.app.call("GET", &path, Some(&s.org.admin), None).await;
    assert_eq!(target.body["features"], json!(["assets"]), "the assets stay where they were");

    s.proxy.set(Faults::default());
    assert_eq!(s.bucket.keys().await, keys_before, "no object appeared");
    assert_eq!(open_multipart_uploads(&s.bucket.name).await, 0, "no multipart upload left open");
    assert_eq!(open_multipart_uploads(&s.org.bucket).await, 0, "no multipart upload left open");
}
