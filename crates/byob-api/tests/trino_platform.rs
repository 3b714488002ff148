//! Starburst / Trino as a data platform, against the test kit's fake of Trino's client protocol (statements
//! queued, columns on a page of their own, rows in pages, a 503 to retry on every statement), whose rows live in
//! PostgreSQL: connections with their Trino fields and precise errors, loads in every mode (checksummed; all or
//! nothing; decimals sized from the rows or refused rather than rounded), a pulled load through the customer's
//! Hive catalog falling back to the stream, and exports over many pages. Trino's own engine is not emulated:
//! docs/testing.md says what is not run against a real cluster.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    buckets::{create_s3_bucket, unique_name},
    exports::export_to_moto,
    fake_trino::FakeTrino,
    postgres_records, postgres_tables,
    uploads::{
        assert_connection_refusals, create_integration, create_trino_connection, load, moto_uploads_integration,
        postgres_sample_checksum, sample_csv, upload_bytes,
    },
};
use serde_json::{Value, json};

struct Env {
    app: TestApp,
    org: String,
    member: String,
    fake: FakeTrino,
}

async fn env(page_rows: usize, external_catalog: Option<&str>) -> Env {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let bucket = unique_name("trino");
    create_s3_bucket(&bucket).await;
    create_integration(&app, &org, moto_uploads_integration(&bucket, "byob")).await;
    let fake = FakeTrino::start(page_rows).await;
    create_trino_connection(&app, &org, &fake, external_catalog).await;
    Env { app, org, member, fake }
}

impl Env {
    async fn load(&self, csv: &[u8], body: Value) -> Value {
        let upload = upload_bytes(&self.app, &self.org, &self.member, "t.csv", csv).await;
        load(&self.app, &self.org, &self.member, &upload, body).await
    }

    async fn rows(&self, sql: &str) -> Vec<String> {
        postgres_records(&self.fake.engine.url, sql).await
    }

    async fn tables(&self) -> Vec<String> {
        postgres_tables(&self.fake.engine.url, "default").await
    }
}

#[tokio::test]
async fn trino_connections_take_their_fields_and_say_what_is_wrong() {
    let e = env(100, Some("hive")).await;
    let base = format!("/v1/orgs/{}/connections", e.org);
    let got = e.app.call("GET", &format!("{base}/trino"), Some(&e.member), None).await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!((got.body["catalog"].as_str(), got.body["schema"].as_str()), (Some("iceberg"), Some("default")));
    assert_eq!(got.body["external_catalog"], "hive");
    let test = e.app.call("POST", &format!("{base}/trino/test"), Some(&e.member), None).await;
    assert_eq!(
        (test.body["ok"].as_bool(), test.body["platform"].as_str()),
        (Some(true), Some("trino")),
        "{:?}",
        test.body
    );
    let seen = e.fake.headers.lock().await.clone();
    let first = seen.first().expect("a statement");
    assert_eq!(first.get("x-trino-user").map(String::as_str), Some("byob"));
    assert_eq!(first.get("x-trino-time-zone").map(String::as_str), Some("UTC"));
    assert_eq!(first.get("x-trino-client-capabilities").map(String::as_str), Some("PARAMETRIC_DATETIME"));

    let template = json!({ "name": "t2", "platform": "starburst", "host": "127.0.0.1", "port": e.fake.port,
                           "tls": "disable", "catalog": "iceberg", "user": "byob" });
    let cases = [
        (json!({ "catalog": null }), "catalog", "connection-field-required"),
        (json!({ "user": null }), "user", "connection-field-required"),
        (json!({ "password": "p" }), "password", "connection-password-needs-tls"),
        (json!({ "http_path": "/sql/1.0/warehouses/abc" }), "http_path", "connection-field-not-for-platform"),
        (json!({ "external_catalog": "" }), "external_catalog", "identifier-empty"),
    ];
    assert_connection_refusals(&e.app, &e.org, &template, &cases).await;
    let created = e.app.call("POST", &base, Some(OPERATOR_TOKEN), Some(template)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["platform"], "trino", "starburst is another name for trino");
}

#[tokio::test]
async fn loads_into_trino_are_exact_in_every_mode_and_leave_no_build_table() {
    let e = env(500, None).await;
    let (bytes, checksum) = sample_csv(2 * 1024 * 1024);
    let job = e.load(&bytes, json!({ "connection": "trino", "table": "sales" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let (count, sum) = postgres_sample_checksum(&e.fake.engine.url, "sales").await;
    assert_eq!(count, job["result"]["rows_loaded"].as_u64().unwrap());
    assert_eq!(sum, checksum, "the table holds exactly the source rows");
    let columns = e
        .app
        .call("GET", &format!("/v1/orgs/{}/connections/trino/tables/sales/columns", e.org), Some(&e.member), None)
        .await;
    let types: Vec<&str> = columns.body.as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["integer", "text", "decimal", "date", "timestamp_tz", "boolean", "text"], "{:?}", columns.body);
    let job = e.load(&bytes, json!({ "connection": "trino", "table": "sales", "mode": "replace" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(postgres_sample_checksum(&e.fake.engine.url, "sales").await, (count, checksum));
    let job = e.load(&bytes, json!({ "connection": "trino", "table": "sales", "mode": "append" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(postgres_sample_checksum(&e.fake.engine.url, "sales").await.0, 2 * count);
    assert_eq!(e.tables().await, ["sales"], "no build table is left behind");

    // A failure changes nothing; a finer decimal is refused rather than rounded.
    let before = e.rows("SELECT count(*) FROM sales").await;
    let (mut bad, _) = sample_csv(256 * 1024);
    bad.extend_from_slice(b"not-a-number,x,1.00,2024-01-01,2024-01-01T00:00:00Z,true,\n");
    let job = e.load(&bad, json!({ "connection": "trino", "table": "sales", "mode": "append" })).await;
    assert_eq!(job["state"], "failed", "{job}");
    let finer =
        e.load(b"id,amount\n5,5.125\n", json!({ "connection": "trino", "table": "sales", "mode": "append" })).await;
    assert_eq!(finer["state"], "failed", "{finer}");
    assert!(finer["error"]["message"].as_str().unwrap().contains("would round"), "{finer}");
    assert_eq!(e.rows("SELECT count(*) FROM sales").await, before);
    assert_eq!(e.tables().await, ["sales"]);
}

#[tokio::test]
async fn a_load_trino_cannot_pull_is_streamed_and_says_why() {
    let e = env(100, Some("hive")).await;
    let job = e
        .load(b"id,name\n1,one\n2,two\n", json!({ "connection": "trino", "table": "pulled", "via": "platform" }))
        .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["path"], "stream", "{job}");
    let reason = job["result"]["path_reason"].as_str().unwrap();
    assert!(reason.starts_with("trino did not load it: "), "{reason}");
    // byob vends nothing for Trino: it declared an external table over the object's folder in the Hive catalog.
    let received = e.fake.engine.received.lock().await.clone();
    let external = received.iter().find(|s| s.contains("external_location")).expect("byob declared the external table");
    assert!(external.starts_with("CREATE TABLE \"hive\".\"default\".\"pulled__byob_"), "{external}");
    assert!(!external.contains("aws_") && !external.contains("SECRET"), "{external}");
    assert_eq!(e.rows("SELECT id, name FROM pulled ORDER BY id").await, ["(1,one)", "(2,two)"]);
    assert_eq!(e.tables().await, ["pulled"]);
}

#[tokio::test]
async fn exports_from_trino_read_every_page() {
    let e = env(300, None).await;
    let mut csv = String::from("id,name,amount,at\n");
    for i in 0..2000 {
        csv.push_str(&format!("{i},name {i},{i}.{:02},2024-01-02T03:04:05.123456Z\n", i % 100));
    }
    let job = e.load(csv.as_bytes(), json!({ "connection": "trino", "table": "big" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let body =
        json!({ "connection": "trino", "format": "csv", "query": "SELECT id, name, amount, at FROM big ORDER BY id" });
    let (run, bytes) = export_to_moto(&e.app, &e.org, &e.member, body).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["rows"], 2000);
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2001, "a header and every row of the 7 pages");
    assert_eq!(lines[1], "0,name 0,0.00,2024-01-02T03:04:05.123456Z");
    assert_eq!(lines[2000], "1999,name 1999,1999.99,2024-01-02T03:04:05.123456Z");
}
