//! One org cannot fill the shared queue, the catalog or byob's own storage: past the operator's per-org limits a
//! request gets 429 `quota-exceeded` naming the setting, and other orgs are unaffected.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_service::quota::Quotas;
use byob_testkit::{TestApp, app::TestOptions};
use serde_json::{Value, json};

fn assert_quota(reply: &byob_testkit::app::Reply, setting: &str) {
    assert_eq!((reply.status, reply.body["code"].as_str()), (429, Some("quota-exceeded")), "{:?}", reply.body);
    assert!(reply.body["detail"].as_str().unwrap().contains(setting), "{:?}", reply.body);
}

#[tokio::test]
async fn per_org_limits_answer_429_and_leave_other_orgs_alone() {
    let quotas = Quotas {
        exports_per_org: 3,
        imports_per_org: 1,
        webhooks_per_org: 1,
        queued_jobs_per_org: 2,
        staged_bytes_per_org: 100,
    };
    let app = TestApp::sqlite_with(TestOptions { quotas, ..TestOptions::default() }).await;
    let org = app.create_org("greedy").await;
    let (_, admin) = app.member_with_token(&org, Role::Admin).await;
    let post = |path: &str, body: Value| {
        let path = format!("/v1/orgs/{org}/{path}");
        let admin = admin.clone();
        let app = &app;
        async move { app.call("POST", &path, Some(&admin), Some(body)).await }
    };

    // Webhook endpoints.
    assert_eq!(post("webhooks", json!({ "url": "https://hooks.example.com/a" })).await.status, 201);
    assert_quota(&post("webhooks", json!({ "url": "https://hooks.example.com/b" })).await, "quotas.webhooks_per_org");

    // Queued jobs: each unscheduled export queues a run.
    let now = json!({ "connection": "local", "query": "SELECT 1 AS one" });
    assert_eq!(post("exports", now.clone()).await.status, 201);
    assert_eq!(post("exports", now.clone()).await.status, 201);
    assert_quota(&post("exports", now).await, "quotas.queued_jobs_per_org");
    // Export definitions: a scheduled one queues nothing yet.
    let nightly = |name: &str| json!({ "name": name, "connection": "local", "query": "SELECT 1 AS one", "schedule": { "cron": "0 3 * * *" } });
    assert_eq!(post("exports", nightly("third")).await.status, 201);
    assert_quota(&post("exports", nightly("fourth")).await, "quotas.exports_per_org");

    // Bytes staged on the platform's storage.
    let upload = |size: u64| json!({ "filename": "a.csv", "size": size, "content_type": "text/csv" });
    assert_eq!(post("uploads", upload(60)).await.status, 201);
    assert_quota(&post("uploads", upload(60)).await, "quotas.staged_bytes_per_org");

    // Another org has its own allowance.
    let other = app.create_org("other").await;
    let (_, other_admin) = app.member_with_token(&other, Role::Admin).await;
    let hook = json!({ "url": "https://hooks.example.com/c" });
    let reply = app.call("POST", &format!("/v1/orgs/{other}/webhooks"), Some(&other_admin), Some(hook)).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
}
