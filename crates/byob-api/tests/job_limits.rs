//! A member's runaway work cannot hold byob's workers: a query that never ends is stopped by cancel, by its
//! job's deadline (and the server's `statement_timeout`) and by shutdown, and one org's jobs never take every
//! worker while another org's wait.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use byob_core::Role;
use byob_service::jobs::JobSettings;
use byob_testkit::TestApp;
use serde_json::{Value, json};
use sqlx::Connection;

/// Never produces a row and never ends.
const ENDLESS_SQLITE: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) AS m FROM c";

fn quick_stops() -> JobSettings {
    JobSettings { heartbeat: Duration::from_millis(200), stop_grace: Duration::from_secs(1), ..JobSettings::default() }
}

async fn org_with_warehouse(app: &TestApp, name: &str) -> (String, String) {
    let org = app.create_org(name).await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let path = app.warehouse_path(&org);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
    sqlx::raw_sql("CREATE TABLE t (id INTEGER); INSERT INTO t VALUES (1);").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    (org, member)
}

/// Starts an export run and returns its job id.
async fn start(app: &TestApp, org: &str, member: &str, body: Value) -> String {
    let created = app.call("POST", &format!("/v1/orgs/{org}/exports"), Some(member), Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    created.body["run"]["id"].as_str().unwrap().to_string()
}

async fn job(app: &TestApp, org: &str, member: &str, id: &str) -> Value {
    app.call("GET", &format!("/v1/orgs/{org}/jobs/{id}"), Some(member), None).await.body
}

async fn wait_until_running(app: &TestApp, org: &str, member: &str, id: &str) {
    loop {
        if job(app, org, member, id).await["state"] == "running" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_stops_a_query_that_never_ends() {
    let app = TestApp::sqlite_with_jobs(quick_stops()).await;
    let (org, member) = org_with_warehouse(&app, "acme").await;
    let run = start(&app, &org, &member, json!({ "connection": "local", "query": ENDLESS_SQLITE })).await;
    let runner = app.services.runner.clone();
    let worker = tokio::spawn(async move { runner.run_one().await.unwrap() });
    wait_until_running(&app, &org, &member, &run).await;
    let cancel = app.call("POST", &format!("/v1/orgs/{org}/jobs/{run}/cancel"), Some(&member), None).await;
    assert_eq!(cancel.status, 200, "{:?}", cancel.body);
    // The worker comes back: the statement was interrupted, not left running.
    worker.await.unwrap();
    assert_eq!(job(&app, &org, &member, &run).await["state"], "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_org_cannot_take_every_worker() {
    let app = TestApp::sqlite_with_jobs(JobSettings { max_running_per_org: 1, ..quick_stops() }).await;
    let (greedy, greedy_member) = org_with_warehouse(&app, "greedy").await;
    let (other, other_member) = org_with_warehouse(&app, "other").await;
    let endless = json!({ "connection": "local", "query": ENDLESS_SQLITE });
    let first = start(&app, &greedy, &greedy_member, endless.clone()).await;
    let second = start(&app, &greedy, &greedy_member, endless).await;
    let theirs = start(&app, &other, &other_member, json!({ "connection": "local", "table": "t" })).await;

    let runner = app.services.runner.clone();
    let busy = tokio::spawn(async move { runner.run_one().await.unwrap() });
    wait_until_running(&app, &greedy, &greedy_member, &first).await;
    // The next worker passes over the greedy org's second job: that org already has its share running.
    let ran = app.services.runner.run_one().await.unwrap().map(|id| id.to_string());
    assert_eq!(ran.as_deref(), Some(theirs.as_str()));
    assert_eq!(job(&app, &other, &other_member, &theirs).await["state"], "succeeded");
    assert_eq!(job(&app, &greedy, &greedy_member, &second).await["state"], "queued");

    for id in [&first, &second] {
        app.call("POST", &format!("/v1/orgs/{greedy}/jobs/{id}/cancel"), Some(&greedy_member), None).await;
    }
    busy.await.unwrap();
    assert_eq!(job(&app, &greedy, &greedy_member, &first).await["state"], "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_stops_a_running_job_and_queues_it_again() {
    let app = TestApp::sqlite_with_jobs(quick_stops()).await;
    let (org, member) = org_with_warehouse(&app, "acme").await;
    let run = start(&app, &org, &member, json!({ "connection": "local", "query": ENDLESS_SQLITE })).await;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let runner = app.services.runner.clone();
    let worker = tokio::spawn(async move {
        let mut stopping = stopping;
        runner
            .run_until(Duration::from_millis(20), async move { stopping.wait_for(|s| *s).await.map(|_| ()).unwrap() })
            .await;
    });
    wait_until_running(&app, &org, &member, &run).await;
    stop.send(true).unwrap();
    worker.await.unwrap();
    let ended = job(&app, &org, &member, &run).await;
    assert_eq!(ended["state"], "queued", "{ended}");
    assert_eq!(ended["error"]["code"], "job-interrupted", "{ended}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_query_past_the_deadline_is_stopped_on_the_server_too() {
    let app = TestApp::postgres_with_jobs(JobSettings { deadline: Duration::from_secs(2), ..quick_stops() }).await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let target = byob_testkit::fresh_postgres_database().await;
    byob_testkit::uploads::create_pg_connection(&app, &org, &target).await;
    let marker = format!("endless_{}", org.to_ascii_lowercase().replace('_', ""));
    let query = format!("SELECT pg_sleep(3600) AS {marker}");
    let run = start(&app, &org, &member, json!({ "connection": "pg", "query": query })).await;
    app.services.runner.run_one().await.unwrap();
    let ended = job(&app, &org, &member, &run).await;
    assert_eq!(
        (ended["state"].as_str(), ended["error"]["code"].as_str()),
        (Some("failed"), Some("job-deadline")),
        "{ended}"
    );
    // The server stops the statement as well (statement_timeout, and the closed session).
    let mut admin = sqlx::PgConnection::connect(&target).await.unwrap();
    loop {
        let running: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()")
                .bind(format!("%{marker}%"))
                .fetch_one(&mut admin)
                .await
                .unwrap();
        if running == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
