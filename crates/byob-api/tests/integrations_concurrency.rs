//! Creating integrations concurrently never fails with a 500: 8 rounds of 40 concurrent creates (secrets sealed,
//! names taken twice, one feature wanted by several) beside concurrent secret writes, on the SQLite and the
//! PostgreSQL catalog. Every answer is 201 or 409; each name and each feature ends up taken exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::TestApp;
use futures::future::join_all;
use serde_json::{Value, json};

const ROUNDS: usize = 8;
const CONCURRENT: usize = 40;

fn body(round: usize, k: usize) -> Value {
    // Two creates per name; a few of each round want `uploads`, which one integration per org may serve.
    let features = if k.is_multiple_of(10) { json!(["uploads"]) } else { json!([]) };
    json!({
        "name": format!("r{round}-i{}", k / 2), "provider": "s3", "bucket": format!("bucket-{round}-{k}"),
        "region": "us-east-1", "features": features,
        "credentials": { "mode": "s3_access_key", "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": format!("s-{k}") },
    })
}

async fn creates_never_fail(app: TestApp) {
    let org = app.create_org("acme").await;
    let (_, admin) = app.member_with_token(&org, Role::Admin).await;
    let path = format!("/v1/orgs/{org}/integrations");
    let secrets_path = format!("/v1/orgs/{org}/secrets");
    for round in 0..ROUNDS {
        let creates = (0..CONCURRENT).map(|k| app.call("POST", &path, Some(&admin), Some(body(round, k))));
        let secrets = (0..CONCURRENT / 4).map(|k| {
            let body = json!({ "name": format!("s{round}-{k}"), "value": "v" });
            app.call("POST", &secrets_path, Some(&admin), Some(body))
        });
        let (created, written) = tokio::join!(join_all(creates), join_all(secrets));
        for reply in created.iter().chain(&written) {
            assert!(matches!(reply.status, 201 | 409), "round {round}: {} {:?}", reply.status, reply.body);
        }
        let ok = created.iter().filter(|r| r.status == 201).count();
        assert_eq!(ok, CONCURRENT / 2, "round {round}: each name once");
    }
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let listed = app.call("GET", &format!("{path}?limit=100{cursor}"), Some(&admin), None).await;
        assert_eq!(listed.status, 200, "{:?}", listed.body);
        all.extend(listed.body["items"].as_array().cloned().unwrap_or_default());
        match listed.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(all.len(), ROUNDS * CONCURRENT / 2);
    let serving = all.iter().filter(|i| i["features"].as_array().is_some_and(|f| f.contains(&json!("uploads"))));
    assert_eq!(serving.count(), 1, "one integration serves uploads");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_on_sqlite() {
    creates_never_fail(TestApp::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_on_postgres() {
    creates_never_fail(TestApp::postgres().await).await;
}
