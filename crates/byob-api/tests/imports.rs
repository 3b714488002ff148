//! Imports from the bucket (seed 003): seed 003's worked example on the S3, GCS and Azure emulators, the dry run,
//! loading with the uploads' loader, skipping a file already loaded, server-side encrypted objects, permissions,
//! malformed patterns, and a folder of 100,000 keys resolved in at most 3 list requests when names begin with
//! the date (and correctly, with more, when they do not).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    buckets::{create_s3_bucket, s3_admin, unique_name},
    exports::{Bucket, Store},
    integrations::{Access, integration_body},
    server_env,
    uploads::create_integration,
};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

struct Setup {
    app: TestApp,
    org: String,
    member: String,
}

async fn org() -> Setup {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    Setup { app, org, member }
}

async fn create(s: &Setup, body: Value) -> (u16, Value) {
    let reply = s.app.call("POST", &format!("/v1/orgs/{}/imports", s.org), Some(&s.member), Some(body)).await;
    (reply.status, reply.body)
}

async fn resolve(s: &Setup, id: &str) -> Value {
    let reply = s.app.call("GET", &format!("/v1/orgs/{}/imports/{id}/resolve", s.org), Some(&s.member), None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body
}

/// Runs the import now and returns the run as it ended.
async fn run(s: &Setup, id: &str, force: bool) -> Value {
    let path = format!("/v1/orgs/{}/imports/{id}/runs", s.org);
    let started = s.app.call("POST", &path, Some(&s.member), Some(json!({ "force": force }))).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    while s.app.services.runner.run_one().await.unwrap().is_some() {}
    let run = started.body["id"].as_str().unwrap();
    s.app.call("GET", &format!("{path}/{run}"), Some(&s.member), None).await.body
}

const SEED_FILES: [&str; 4] = [
    "myfolderA/2022-09-15-salaries.csv",
    "myfolderA/2022-10-15-salaries.csv",
    "myfolderA/2022-10-16-revenue.csv",
    "myfolderB/2022-11-15-salaries.csv",
];

async fn seed_example(store: Store) {
    let s = org().await;
    let bucket = Bucket::create(store, &s.app, &s.org).await;
    let mut integration = bucket.integration().unwrap();
    integration["features"] = json!(["imports"]);
    create_integration(&s.app, &s.org, integration).await;
    for (i, key) in SEED_FILES.iter().enumerate() {
        bucket.write(key, format!("id,amount\n{i},{}.50\n", i * 10).as_bytes()).await;
    }
    let import = |pattern: &str, table: &str| {
        json!({
            "integration": "customer", "source": { "mode": "latest", "pattern": pattern },
            "connection": "local", "table": table, "load": { "mode": "replace" },
        })
    };
    let (status, a) = create(&s, import("myfolderA/{{date}}-salaries.csv", "salaries_a")).await;
    assert_eq!(status, 201, "{a}");
    let (status, b) = create(&s, import("myfolderB/{{date}}-salaries.csv", "salaries_b")).await;
    assert_eq!(status, 201, "{b}");
    let (status, none) = create(&s, import("/{{date}}-salaries.csv", "nothing")).await;
    assert_eq!(status, 422, "{none}");
    assert_eq!(none["rule"], "pattern-folder-missing", "{none}");
    assert!(none["detail"].as_str().unwrap().contains("names no folder"), "{none}");

    let a_id = a["id"].as_str().unwrap();
    let resolved = resolve(&s, a_id).await;
    assert_eq!(resolved["chosen"]["key"], "myfolderA/2022-10-15-salaries.csv", "{resolved}");
    assert!(resolved["reason"].as_str().unwrap().contains("most recent"), "{resolved}");
    let rejected: Vec<&str> =
        resolved["rejected"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert!(rejected.contains(&"myfolderA/2022-09-15-salaries.csv"), "{resolved}");
    assert!(rejected.contains(&"myfolderA/2022-10-16-revenue.csv"), "{resolved}");
    let resolved_b = resolve(&s, b["id"].as_str().unwrap()).await;
    assert_eq!(resolved_b["chosen"]["key"], "myfolderB/2022-11-15-salaries.csv", "{resolved_b}");
    // A folder whose first page holds everything is resolved by that one request, newest file old or no match.
    if store != Store::Azurite {
        assert_eq!(resolved["list_requests"], 1, "{resolved}");
        let (_, empty) = create(&s, import("myfolderA/{{date}}-nothing.csv", "nothing")).await;
        let resolved_empty = resolve(&s, empty["id"].as_str().unwrap()).await;
        assert_eq!(resolved_empty["chosen"], Value::Null, "{resolved_empty}");
        assert_eq!(resolved_empty["list_requests"], 1, "{resolved_empty}");
    }

    // Loaded with the uploads' loader; a second run skips the same file; a forced one loads it again.
    let first = run(&s, a_id, false).await;
    assert_eq!(first["state"], "succeeded", "{first}");
    assert_eq!(first["outcome"], "loaded");
    assert_eq!(first["key"], "myfolderA/2022-10-15-salaries.csv");
    assert_eq!(first["rows"], 1);
    let second = run(&s, a_id, false).await;
    assert_eq!(second["outcome"], "skipped", "{second}");
    assert!(resolve(&s, a_id).await["already_loaded"].as_bool().unwrap());
    let forced = run(&s, a_id, true).await;
    assert_eq!(forced["outcome"], "loaded", "{forced}");
    // A newer file arrives: the next run takes it.
    bucket.write("myfolderA/2022-12-01T08:00:00Z-salaries.csv", b"id,amount\n9,99.00\n").await;
    let third = run(&s, a_id, false).await;
    assert_eq!(third["key"], "myfolderA/2022-12-01T08:00:00Z-salaries.csv", "{third}");
    assert_eq!(third["state"], "succeeded", "{third}");
    assert_eq!(third["rows"], 1);
    let history = s.app.call("GET", &format!("/v1/orgs/{}/imports/{a_id}/runs", s.org), Some(&s.member), None).await;
    assert_eq!(history.body.as_array().unwrap().len(), 4);

    // Keys as customers write them (any script, spaces, `+`): listed, resolved, read and loaded under their name.
    for key in ["données/2024-05-06-ü.csv", "données/2024-05-07-ü.csv", "données/a b+c.csv"] {
        bucket.write(key, b"id,amount\n1,2.50\n").await;
    }
    let (status, latest) = create(&s, import("données/{{date}}-ü.csv", "unicode_latest")).await;
    assert_eq!(status, 201, "{latest}");
    let latest_id = latest["id"].as_str().unwrap();
    let resolved = resolve(&s, latest_id).await;
    assert_eq!(resolved["chosen"]["key"], "données/2024-05-07-ü.csv", "{resolved}");
    let done = run(&s, latest_id, false).await;
    assert_eq!((done["state"].as_str(), done["rows"].as_u64()), (Some("succeeded"), Some(1)), "{done}");
    for (path, table) in [("données/2024-05-06-ü.csv", "unicode_fixed"), ("données/a b+c.csv", "spaced")] {
        let body = json!({
            "integration": "customer", "source": { "mode": "fixed", "path": path },
            "connection": "local", "table": table, "load": { "mode": "replace" },
        });
        let (status, fixed) = create(&s, body).await;
        assert_eq!(status, 201, "{fixed}");
        let fixed_id = fixed["id"].as_str().unwrap();
        let resolved = resolve(&s, fixed_id).await;
        assert_eq!(resolved["chosen"]["key"], path, "{resolved}");
        let done = run(&s, fixed_id, false).await;
        assert_eq!(done["state"], "succeeded", "{done}");
    }
    // A file deleted between being chosen and being read is the import's own failure.
    let (_, gone) = create(
        &s,
        json!({ "integration": "customer", "source": { "mode": "fixed", "path": "données/never-there.csv" },
                "connection": "local", "table": "gone", "load": { "mode": "replace" } }),
    )
    .await;
    let done = run(&s, gone["id"].as_str().unwrap(), false).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_ne!(done["error"]["code"], "upload-object-missing", "{done}");
}

#[tokio::test]
async fn seed_003_on_moto() {
    seed_example(Store::Moto).await;
}

#[tokio::test]
async fn seed_003_on_fake_gcs() {
    seed_example(Store::FakeGcs).await;
}

#[tokio::test]
async fn seed_003_on_azurite() {
    seed_example(Store::Azurite).await;
}

#[tokio::test]
async fn fixed_files_and_server_side_encrypted_objects() {
    let s = org().await;
    let bucket = unique_name("imports");
    create_s3_bucket(&bucket).await;
    let mut integration = byob_testkit::uploads::moto_uploads_integration(&bucket, "byob");
    integration["features"] = json!(["imports"]);
    create_integration(&s.app, &s.org, integration).await;
    let admin = s3_admin(&server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1");
    let kms = byob_testkit::buckets::create_kms_key(&server_env("BYOB_TEST_S3_ENDPOINT")).await;
    admin
        .put_object()
        .bucket(&bucket)
        .key("byob/in/kms.csv")
        .body(b"id,name\n1,kms\n2,sealed\n".to_vec().into())
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
        .ssekms_key_id(&kms)
        .send()
        .await
        .unwrap();
    admin
        .put_object()
        .bucket(&bucket)
        .key("byob/in/sse.csv")
        .body(b"id,name\n1,aes\n".to_vec().into())
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
        .send()
        .await
        .unwrap();
    for (path, rows) in [("in/kms.csv", 2), ("in/sse.csv", 1)] {
        let body = json!({
            "integration": "customer", "source": { "mode": "fixed", "path": path },
            "connection": "local", "table": path.replace(['/', '.'], "_"),
        });
        let (status, created) = create(&s, body).await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap();
        assert_eq!(resolve(&s, id).await["chosen"]["key"], path);
        let done = run(&s, id, false).await;
        assert_eq!(done["state"], "succeeded", "{done}");
        assert_eq!(done["rows"], rows);
    }
    // A fixed file that is not there: the dry run says so, a run fails with that reason.
    let body = json!({ "integration": "customer", "source": { "mode": "fixed", "path": "in/missing.csv" },
                       "connection": "local", "table": "m" });
    let (_, created) = create(&s, body).await;
    let id = created["id"].as_str().unwrap();
    let resolved = resolve(&s, id).await;
    assert_eq!(resolved["chosen"], Value::Null);
    assert!(resolved["reason"].as_str().unwrap().contains("no object at `in/missing.csv`"), "{resolved}");
    let failed = run(&s, id, false).await;
    assert_eq!(failed["error"]["code"], "import-no-file", "{failed}");
}

/// A key that may read objects but not list them (moto in auth mode, a user policy with s3:GetObject only): a
/// fixed file imports; a latest-file import is told list permission is missing, not that there is no file.
#[tokio::test]
async fn a_missing_list_permission_is_reported_as_such() {
    use byob_testkit::moto::{iam, set_auth, start_moto, xml_value};
    let moto = start_moto().await;
    let bucket = "readonly-data";
    assert!(reqwest::Client::new().put(format!("{}/{bucket}", moto.url)).send().await.unwrap().status().is_success());
    let admin = s3_admin(&moto.url, "us-east-1");
    admin
        .put_object()
        .bucket(bucket)
        .key("byob/in/2024-01-01-data.csv")
        .body(b"id\n1\n".to_vec().into())
        .send()
        .await
        .unwrap();
    iam(&moto, &[("Action", "CreateUser"), ("UserName", "reader")]).await;
    let key = iam(&moto, &[("Action", "CreateAccessKey"), ("UserName", "reader")]).await;
    let policy = json!({ "Version": "2012-10-17", "Statement": [
        { "Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/byob/*") } ] });
    iam(
        &moto,
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", "reader"),
            ("PolicyName", "read"),
            ("PolicyDocument", &policy.to_string()),
        ],
    )
    .await;
    let s = org().await;
    let integration = json!({
        "name": "readonly", "provider": "s3", "bucket": bucket, "prefix": "byob", "region": "us-east-1",
        "endpoint": moto.url, "features": ["imports"],
        "credentials": { "mode": "s3_access_key", "access_key_id": xml_value(&key, "AccessKeyId"),
                         "secret_access_key": xml_value(&key, "SecretAccessKey") },
    });
    create_integration(&s.app, &s.org, integration).await;
    set_auth(&moto, "0").await;

    let fixed = json!({ "integration": "readonly", "source": { "mode": "fixed", "path": "in/2024-01-01-data.csv" },
                        "connection": "local", "table": "f" });
    let (_, created) = create(&s, fixed).await;
    let done = run(&s, created["id"].as_str().unwrap(), false).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let latest = json!({ "integration": "readonly", "source": { "mode": "latest", "pattern": "in/{{date}}-data.csv" },
                         "connection": "local", "table": "l" });
    let (_, created) = create(&s, latest).await;
    let id = created["id"].as_str().unwrap();
    let reply = s.app.call("GET", &format!("/v1/orgs/{}/imports/{id}/resolve", s.org), Some(&s.member), None).await;
    assert_eq!(reply.status, 502, "{:?}", reply.body);
    assert_eq!(reply.body["code"], "import-list-denied");
    assert!(reply.body["detail"].as_str().unwrap().contains("list permission"), "{:?}", reply.body);
    let failed = run(&s, id, false).await;
    assert_eq!(failed["error"]["code"], "import-list-denied", "{failed}");
    set_auth(&moto, "inf").await;
}

#[tokio::test]
async fn malformed_patterns_and_requests_are_refused() {
    let s = org().await;
    let bucket = unique_name("imports");
    create_s3_bucket(&bucket).await;
    create_integration(&s.app, &s.org, byob_testkit::uploads::moto_uploads_integration(&bucket, "byob")).await;
    let cases = [
        (json!({ "mode": "latest", "pattern": "a/{{date}.csv" }), "pattern-braces"),
        (json!({ "mode": "latest", "pattern": "a/{{date}}}}.csv" }), "pattern-braces"),
        (json!({ "mode": "latest", "pattern": "a/{date}.csv" }), "pattern-braces"),
        (json!({ "mode": "latest", "pattern": "a/{{day}}.csv" }), "pattern-placeholder"),
        (json!({ "mode": "latest", "pattern": "a/{{date}}-{{date}}.csv" }), "pattern-date-count"),
        (json!({ "mode": "latest", "pattern": "a/file.csv" }), "pattern-date-count"),
        (json!({ "mode": "latest", "pattern": "" }), "pattern-empty"),
        (json!({ "mode": "latest", "pattern": "{{date}}.csv" }), "pattern-folder-missing"),
        (json!({ "mode": "latest", "pattern": "{{date}}/x.csv" }), "pattern-date-in-folder"),
        (json!({ "mode": "latest", "pattern": "a/../{{date}}.csv" }), "pattern-path"),
        (json!({ "mode": "fixed", "path": "../etc/passwd" }), "prefix-dot-segment"),
        (json!({ "mode": "fixed", "path": "/abs.csv" }), "prefix-leading-slash"),
    ];
    for (source, rule) in cases {
        let body = json!({ "integration": "customer", "source": source, "connection": "local", "table": "t" });
        let (status, problem) = create(&s, body).await;
        assert_eq!(status, 422, "{source} -> {problem}");
        assert_eq!(problem["rule"], rule, "{source} -> {problem}");
    }
    let others = [
        json!({ "integration": "nope", "source": { "mode": "fixed", "path": "a.csv" }, "connection": "local", "table": "t" }),
        json!({ "integration": "customer", "source": { "mode": "fixed", "path": "a.csv" }, "connection": "nope", "table": "t" }),
        json!({ "integration": "customer", "source": { "mode": "sometimes" }, "connection": "local", "table": "t" }),
        json!({ "integration": "customer", "source": { "mode": "fixed", "path": "a.csv" }, "connection": "local", "table": "t",
                "load": { "mode": "upsert" } }),
        json!({ "integration": "customer", "source": { "mode": "fixed", "path": "a.csv" }, "connection": "local", "table": "t",
                "load": { "max_bad_rows": 5 } }),
        json!({ "integration": "customer", "source": { "mode": "fixed", "path": "a.csv" }, "connection": "local", "table": "t",
                "schedule": { "cron": "every day" } }),
    ];
    for body in others {
        let (status, problem) = create(&s, body.clone()).await;
        assert!(matches!(status, 404 | 422), "{body} -> {status} {problem}");
    }
    let listed = s.app.call("GET", &format!("/v1/orgs/{}/imports", s.org), Some(&s.member), None).await;
    assert_eq!(listed.body, json!([]));
}

/// 100,000 hourly files in one folder of an s3s-fs bucket (a real S3 server, written straight to its
/// directory), plus a subfolder and other names: names beginning with the date resolve in at most 3 list
/// requests; the same files named with the date later in the name resolve correctly, with one request a page.
#[tokio::test]
async fn a_folder_of_100k_keys() {
    let s = org().await;
    // One bucket per layout: s3s-fs walks the whole bucket for every page.
    let (hourly, named) = (unique_name("imports-hourly"), unique_name("imports-named"));
    let dir = std::path::PathBuf::from(server_env("BYOB_TEST_S3S_DIR"));
    let (hourly_root, named_root) = (dir.join(&hourly).join("byob"), dir.join(&named).join("byob"));
    let first: DateTime<Utc> = "2015-01-01T00:00:00Z".parse().unwrap();
    std::fs::create_dir_all(hourly_root.join("hourly/old")).unwrap();
    std::fs::create_dir_all(named_root.join("named")).unwrap();
    let mut last = first;
    for i in 0..100_000 {
        last = first + Duration::hours(i);
        let stamp = last.format("%Y-%m-%dT%H:%M:%SZ");
        std::fs::write(hourly_root.join(format!("hourly/{stamp}-events.csv")), "id\n1\n").unwrap();
        std::fs::write(named_root.join(format!("named/events-{stamp}.csv")), "id\n1\n").unwrap();
    }
    // Decoys: a later date in a subfolder, and names that do not match.
    std::fs::write(hourly_root.join("hourly/old/2099-01-01T00:00:00Z-events.csv"), "id\n1\n").unwrap();
    std::fs::write(hourly_root.join("hourly/2099-01-01T00:00:00Z-other.csv"), "id\n1\n").unwrap();
    std::fs::write(named_root.join("named/events-2099-13-01.csv"), "id\n1\n").unwrap();
    for (name, bucket) in [("hourly", &hourly), ("named", &named)] {
        let integration = integration_body(Access::S3sFs, name, bucket, "byob", &[]);
        create_integration(&s.app, &s.org, integration).await;
    }
    s.app.clock.advance(last + Duration::hours(3) - s.app.clock_now());
    let expected = last.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let import = |integration: &str, pattern: &str| {
        json!({ "integration": integration, "source": { "mode": "latest", "pattern": pattern }, "connection": "local",
                "table": "t", "load": { "mode": "replace" } })
    };
    let (status, created) = create(&s, import("hourly", "hourly/{{date}}-events.csv")).await;
    assert_eq!(status, 201, "{created}");
    let resolved = resolve(&s, created["id"].as_str().unwrap()).await;
    let requests = resolved["list_requests"].as_u64().unwrap();
    println!(
        "names beginning with the date: {requests} list request(s) for 100,000 keys, chose {}",
        resolved["chosen"]["key"]
    );
    assert_eq!(resolved["chosen"]["key"], format!("hourly/{expected}-events.csv"));
    assert!(requests <= 3, "{requests} list requests");

    // The date later in the name: the whole folder is listed, a page of 1,000 at a time. s3s-fs walks its
    // directory for every page, so this is resolved by a run (no HTTP request timeout), not the dry run.
    let (status, created) = create(&s, import("named", "named/events-{{date}}.csv")).await;
    assert_eq!(status, 201, "{created}");
    let done = run(&s, created["id"].as_str().unwrap(), false).await;
    let requests = done["list_requests"].as_u64().unwrap();
    println!("the date later in the name: {requests} list request(s) for 100,000 keys, chose {}", done["key"]);
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["key"], format!("named/events-{expected}.csv"));
    assert!(requests >= 100, "the whole folder is listed, a page at a time: {requests}");
    std::fs::remove_dir_all(dir.join(&hourly)).unwrap();
    std::fs::remove_dir_all(dir.join(&named)).unwrap();
}

/// A scheduled import on the controllable clock: it runs when due, skips the file it already loaded at the next
/// time, and takes a newer file when one arrives.
#[tokio::test]
async fn scheduled_imports_skip_what_they_already_loaded() {
    let s = org().await;
    let bucket = Bucket::create(Store::Moto, &s.app, &s.org).await;
    let mut integration = bucket.integration().unwrap();
    integration["features"] = json!(["imports"]);
    create_integration(&s.app, &s.org, integration).await;
    bucket.write("drop/2026-01-01-sales.csv", b"id,amount\n1,2.50\n").await;
    s.app.clock.advance("2026-01-01T12:00:00Z".parse::<DateTime<Utc>>().unwrap() - s.app.clock_now());
    let body = json!({
        "name": "daily-sales", "integration": "customer", "source": { "mode": "latest", "pattern": "drop/{{date}}-sales.csv" },
        "connection": "local", "table": "sales", "load": { "mode": "replace" },
        "schedule": { "cron": "0 7 * * *", "timezone": "Europe/Paris" },
    });
    let (status, created) = create(&s, body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["next_run_at"], "2026-01-02T06:00:00Z");
    let id = created["id"].as_str().unwrap();
    let tick = || async {
        let queued = s.app.services.imports.tick().await.unwrap();
        while s.app.services.runner.run_one().await.unwrap().is_some() {}
        queued
    };
    assert_eq!(tick().await, 0, "not due yet");
    s.app.clock.advance(Duration::days(1));
    assert_eq!(tick().await, 1);
    s.app.clock.advance(Duration::days(1));
    assert_eq!(tick().await, 1);
    bucket.write("drop/2026-01-03-sales.csv", b"id,amount\n1,2.50\n2,3.00\n").await;
    s.app.clock.advance(Duration::days(1));
    assert_eq!(tick().await, 1);
    let history = s.app.call("GET", &format!("/v1/orgs/{}/imports/{id}/runs", s.org), Some(&s.member), None).await;
    let outcomes: Vec<(&str, &str)> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|r| (r["outcome"].as_str().unwrap_or("-"), r["key"].as_str().unwrap_or("-")))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("loaded", "drop/2026-01-01-sales.csv"),
            ("skipped", "drop/2026-01-01-sales.csv"),
            ("loaded", "drop/2026-01-03-sales.csv"),
        ]
    );
    let got = s.app.call("GET", &format!("/v1/orgs/{}/imports/{id}", s.org), Some(&s.member), None).await;
    assert_eq!(got.body["last_loaded"]["key"], "drop/2026-01-03-sales.csv");
}
