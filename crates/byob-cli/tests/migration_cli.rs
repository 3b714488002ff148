//! A migration from byob's default storage into a moto bucket, run by a real `byob serve` that is killed with
//! SIGKILL midway: a new process on the same data takes the job over when its lease lapses and goes on from each
//! object's recorded progress, copying none of the verified objects again (the bucket's own last-modified times
//! show it). Then `byob migrate` through the CLI the other way, with its summary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use byob_testkit::{buckets::create_s3_bucket, buckets::unique_name, integrations::Access};
use serde_json::json;
use support::{Server, byob_cli, org_and_member};

const ENV: [(&str, &str); 5] = [
    ("BYOB_MONITOR__ENABLED", "false"),
    ("BYOB_INTEGRATIONS__HTTP_ENDPOINTS", "loopback"),
    ("BYOB_NETWORK__ALLOWED_PRIVATE_RANGES", "[\"127.0.0.0/8\"]"),
    ("BYOB_JOBS__POLL_MS", "50"),
    ("BYOB_JOBS__LEASE_SECS", "2"),
];

#[tokio::test]
async fn a_migration_killed_midway_resumes_in_a_new_process() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &ENV).await;
    let operator = server.operator_token();
    let (org, _) = org_and_member(&server, &operator).await;
    let http = reqwest::Client::new();
    for i in 0..400 {
        let url = format!("{}/v1/orgs/{org}/assets/files%2F{i}.txt", server.url);
        let put = http.put(url).bearer_auth(&operator).body(format!("content of file {i}")).send().await.unwrap();
        assert_eq!(put.status(), 201);
    }
    let bucket = unique_name("migcli");
    create_s3_bucket(&bucket).await;
    let body = byob_testkit::integrations::integration_body(Access::Moto, "customer", &bucket, "byob", &[]);
    let int = server.json("POST", &format!("/v1/orgs/{org}/integrations"), &operator, Some(body)).await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let m = server
        .json(
            "POST",
            &format!("/v1/orgs/{org}/migrations"),
            &operator,
            Some(json!({ "from": "default", "to": int, "features": ["assets"] })),
        )
        .await;
    let path = format!("/v1/orgs/{org}/migrations/{}", m["id"].as_str().unwrap());
    let midway = server.wait_for(&operator, &path, |m| m["counts"]["copied"].as_u64().unwrap_or(0) > 0).await;
    let mut server = server;
    server.child.kill().await.unwrap();
    let objects = midway["counts"]["objects"].as_u64().unwrap();
    assert!(midway["counts"]["copied"].as_u64().unwrap() < objects, "killed midway: {midway}");
    // What the dead process had verified, read from its catalog: none of it may be written again.
    let killed_at = chrono::Utc::now().timestamp();
    let catalog = format!("sqlite://{}?mode=ro", dir.path().join("byob-data/catalog.db").display());
    let catalog = sqlx::SqlitePool::connect(&catalog).await.unwrap();
    let verified: Vec<String> = sqlx::query_scalar("SELECT object_key FROM migration_objects WHERE state = 'verified'")
        .fetch_all(&catalog)
        .await
        .unwrap();
    catalog.close().await;
    assert!(!verified.is_empty() && (verified.len() as u64) < objects, "{} verified at the kill", verified.len());

    let server = Server::start(dir.path(), &[], &ENV).await;
    let done = server
        .wait_for(&operator, &path, |m| matches!(m["state"].as_str(), Some("completed" | "failed" | "cancelled")))
        .await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["counts"]["copied"], objects, "each object copied and verified once: {done}");
    // The PUTs, as the bucket saw them: an object verified before the kill was last written before it (the new
    // process takes the job only once its lease of 2 s has lapsed, so a copy of its own lands seconds later).
    let s3 = byob_testkit::buckets::s3_admin(&std::env::var("BYOB_TEST_S3_ENDPOINT").unwrap(), "us-east-1");
    for key in &verified {
        let head = s3.head_object().bucket(&bucket).key(format!("byob/{key}")).send().await.unwrap();
        let written = head.last_modified().unwrap().secs();
        assert!(written <= killed_at, "{key}, verified before the kill, was written again after it");
    }
    let url = format!("{}/v1/orgs/{org}/assets/files%2F399.txt", server.url);
    let read = http.get(url).bearer_auth(&operator).send().await.unwrap();
    assert_eq!(read.text().await.unwrap(), "content of file 399");

    // Back to the default storage through the CLI: everything is there already, so nothing is copied.
    let (ok, out, err) = byob_cli(
        &server,
        &operator,
        &["migrate", "--org", &org, "--from", &int, "--to", "default", "--features", "assets"],
    )
    .await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("completed") && out.contains(&format!("{objects} already there")), "{out}");
}
