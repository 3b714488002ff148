//! Snowflake as a data platform, against fakesnow (Snowflake's REST protocol over DuckDB): connections with
//! their Snowflake fields and precise errors, loads in every mode (create, append, replace) read back value by
//! value through byob's own export, all or nothing, and decimals kept at their scale or refused — never rounded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    buckets::{create_s3_bucket, unique_name},
    exports::{Bucket, Store, export, read_with_python},
    fresh_snowflake_database, server_env,
    uploads::{
        create_integration, create_snowflake_connection, load, moto_uploads_integration, upload_bytes, with_changes,
    },
};
use serde_json::{Value, json};

struct Env {
    app: TestApp,
    org: String,
    member: String,
    bucket: Bucket,
}

async fn env() -> Env {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let staging = unique_name("snow");
    create_s3_bucket(&staging).await;
    create_integration(&app, &org, moto_uploads_integration(&staging, "byob")).await;
    create_snowflake_connection(&app, &org, &fresh_snowflake_database().await).await;
    let bucket = Bucket::create(Store::Moto, &app, &org).await;
    let mut exports = bucket.integration().unwrap();
    exports["name"] = json!("exports");
    create_integration(&app, &org, exports).await;
    Env { app, org, member, bucket }
}

impl Env {
    async fn load(&self, csv: &str, body: Value) -> Value {
        let upload = upload_bytes(&self.app, &self.org, &self.member, "t.csv", csv.as_bytes()).await;
        load(&self.app, &self.org, &self.member, &upload, body).await
    }

    /// The table's rows as byob exports them (JSON Lines, read by Python), ordered by id.
    async fn rows(&self, table: &str) -> Vec<Value> {
        let body = json!({ "connection": "snow", "format": "jsonl", "table": table });
        let (_, run) = export(&self.app, &self.org, &self.member, body).await;
        assert_eq!(run["state"], "succeeded", "{run}");
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for (i, file) in run["files"].as_array().unwrap().iter().enumerate() {
            let path = dir.path().join(format!("{i}.jsonl"));
            std::fs::write(&path, self.bucket.read(file["key"].as_str().unwrap()).await).unwrap();
            paths.push(path);
        }
        let mut rows = read_with_python("jsonl", &paths).as_array().unwrap().clone();
        rows.sort_by_key(|r| r["ID"].as_i64().unwrap());
        rows
    }

    async fn tables(&self) -> Vec<String> {
        let got = self
            .app
            .call("GET", &format!("/v1/orgs/{}/connections/snow/tables", self.org), Some(&self.member), None)
            .await;
        assert_eq!(got.status, 200, "{:?}", got.body);
        got.body.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect()
    }
}

const FIRST: &str = "id,name,amount,day,at,flag\n\
1,plain,12.50,2024-01-02,2024-01-02T03:04:05Z,true\n\
2,\"quote \"\"q\"\", comma\",-3.25,1999-12-31,2024-06-30T23:59:59.123456+05:30,false\n\
3,unicode é 中文 🎉,,,,\n";

#[tokio::test]
async fn loads_in_every_mode_read_back_value_by_value() {
    let e = env().await;
    let job = e.load(FIRST, json!({ "connection": "snow", "table": "sales" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["rows_loaded"], 3);
    // Snowflake resolves plain names in upper case; byob made the table so.
    assert_eq!(e.tables().await, ["SALES"]);
    let columns = e
        .app
        .call("GET", &format!("/v1/orgs/{}/connections/snow/tables/sales/columns", e.org), Some(&e.member), None)
        .await;
    assert_eq!(columns.status, 200, "{:?}", columns.body);
    let types: Vec<&str> = columns.body.as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["integer", "text", "decimal", "date", "timestamp_tz", "boolean"]);
    let rows = e.rows("sales").await;
    assert_eq!(
        rows[1],
        json!({ "ID": 2, "NAME": "quote \"q\", comma", "AMOUNT": "-3.25", "DAY": "1999-12-31",
                "AT": "2024-06-30T18:29:59.123456Z", "FLAG": false })
    );
    assert_eq!(rows[0]["AMOUNT"], "12.50", "decimals keep the data's scale");
    assert_eq!(
        rows[2],
        json!({ "ID": 3, "NAME": "unicode é 中文 🎉", "AMOUNT": null, "DAY": null, "AT": null, "FLAG": null })
    );

    // Append: into the existing columns, matched by name whatever their case.
    let job = e
        .load("id,amount,name\n4,7.5,appended\n", json!({ "connection": "snow", "table": "sales", "mode": "append" }))
        .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let rows = e.rows("sales").await;
    assert_eq!(rows.len(), 4);
    assert_eq!((rows[3]["NAME"].as_str(), rows[3]["AMOUNT"].as_str()), (Some("appended"), Some("7.50")));

    // A value finer than the column's scale is refused, and the transaction leaves the table as it was.
    let job = e.load("id,amount\n5,1.125\n", json!({ "connection": "snow", "table": "sales", "mode": "append" })).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "load-rejected", "{job}");
    assert!(job["error"]["message"].as_str().unwrap().contains("without rounding"), "{job}");
    assert_eq!(e.rows("sales").await.len(), 4);

    // Replace: the new rows take the old table's place whole.
    let job = e
        .load("id,label\n10,new\n11,newer\n", json!({ "connection": "snow", "table": "sales", "mode": "replace" }))
        .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(e.rows("sales").await, [json!({ "ID": 10, "LABEL": "new" }), json!({ "ID": 11, "LABEL": "newer" })]);
    assert_eq!(e.tables().await, ["SALES"], "no build table is left behind");

    // A load whose last row is bad leaves no table.
    let job = e
        .load(
            "id,n\n1,1\n2,x\n",
            json!({ "connection": "snow", "table": "broken", "columns": [{ "source": "n", "type": "integer" }] }),
        )
        .await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(e.tables().await, ["SALES"]);
}

#[tokio::test]
async fn snowflake_connections_say_what_is_wrong() {
    let e = env().await;
    let base = format!("/v1/orgs/{}/connections", e.org);
    let got = e.app.call("GET", &format!("{base}/snow"), Some(&e.member), None).await;
    assert_eq!(got.body["account"], "byob-test");
    assert_eq!(got.body["warehouse"], "COMPUTE_WH");
    assert_eq!(got.body["schema"], "PUBLIC");
    assert!(!got.body.to_string().contains("stand-in"), "the password is never shown: {}", got.body);
    let test = e.app.call("POST", &format!("{base}/snow/test"), Some(&e.member), None).await;
    assert_eq!(test.body["ok"], true, "{:?}", test.body);

    let create = |body: Value| e.app.call("POST", &base, Some(OPERATOR_TOKEN), Some(body));
    let bad =
        create(json!({ "name": "s2", "platform": "snowflake", "account": "https://xy12345.snowflakecomputing.com",
                             "database": "D", "user": "u" }))
        .await;
    assert_eq!(bad.status, 422, "{:?}", bad.body);
    assert_eq!(bad.body["rule"], "snowflake-account", "{:?}", bad.body);
    let missing = create(json!({ "name": "s2", "platform": "snowflake", "database": "D", "user": "u" })).await;
    assert_eq!(missing.body["rule"], "snowflake-account", "{:?}", missing.body);
    let pg_with_account = create(json!({ "name": "p2", "platform": "postgres", "host": "db.example.com",
                                         "database": "d", "user": "u", "account": "xy12345" }))
    .await;
    assert_eq!(pg_with_account.status, 422, "{:?}", pg_with_account.body);
    assert_eq!(pg_with_account.body["rule"], "connection-field-not-for-platform");
    let pg_without_host = create(json!({ "name": "p3", "platform": "postgres", "database": "d", "user": "u" })).await;
    assert_eq!(pg_without_host.body["rule"], "connection-host", "{:?}", pg_without_host.body);

    // The default host is the account's own.
    let ok = create(json!({ "name": "s3", "platform": "snowflake", "account": "myorg-myaccount", "database": "D",
                            "user": "u", "password": "p" }))
    .await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);
    assert_eq!(ok.body["host"], "myorg-myaccount.snowflakecomputing.com");
    assert_eq!(ok.body["port"], 443);
}

#[tokio::test]
async fn key_pair_connections_show_the_fingerprint_and_load() {
    let e = env().await;
    let base = format!("/v1/orgs/{}/connections", e.org);
    let key = include_str!("../../byob-ports/tests/data/snowflake_test_key.p8");
    let endpoint = url::Url::parse(&server_env("BYOB_TEST_SNOWFLAKE_ENDPOINT")).unwrap();
    let body = json!({
        "name": "snowkey", "platform": "snowflake", "account": "byob-test", "host": endpoint.host_str().unwrap(),
        "port": endpoint.port().unwrap(), "tls": "disable", "database": fresh_snowflake_database().await, "user": "byob",
        "private_key": key, "member_access": { "append": "any", "replace": "any", "run_queries": true },
    });
    let created = e.app.call("POST", &base, Some(OPERATOR_TOKEN), Some(body.clone())).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["public_key_fingerprint"], "SHA256:JxOa5jTveXDLzSO+9juviz5QWQRTXLhufLScJKGU8Cs=");
    assert_eq!(created.body["has_password"], true);
    assert!(!created.body.to_string().contains("PRIVATE KEY"));
    let test = e.app.call("POST", &format!("{base}/snowkey/test"), Some(&e.member), None).await;
    assert_eq!(test.body["ok"], true, "{:?}", test.body);
    let job = e.load("id,name\n1,one\n", json!({ "connection": "snowkey", "table": "keyed" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");

    let refusals = [
        (
            json!({ "name": "k2", "private_key": "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----" }),
            "-nocrypt",
        ),
        (json!({ "name": "k3", "private_key": "hunter2" }), "BEGIN PRIVATE KEY"),
        (json!({ "name": "k4", "password": "p" }), "not both"),
    ];
    for (changes, says) in refusals {
        let refused = e.app.call("POST", &base, Some(OPERATOR_TOKEN), Some(with_changes(&body, &changes))).await;
        assert_eq!(refused.status, 422, "{changes}: {:?}", refused.body);
        assert_eq!(
            (refused.body["field"].as_str(), refused.body["rule"].as_str()),
            (Some("private_key"), Some("snowflake-private-key"))
        );
        assert!(refused.body["detail"].as_str().unwrap().contains(says), "{:?}", refused.body);
        assert!(!refused.body.to_string().contains("MIIB"), "the key is never echoed: {:?}", refused.body);
    }
}

#[tokio::test]
async fn a_load_snowflake_cannot_pull_is_streamed_and_says_why() {
    let e = env().await;
    let csv = "id,name\n1,one\n2,two\n";
    // fakesnow cannot read s3:// (its DuckDB extension cannot be downloaded here): the COPY byob generated with
    // credentials it vended for the one object is refused, and byob streams the rows instead.
    let job = e.load(csv, json!({ "connection": "snow", "table": "pulled", "via": "platform" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["rows_loaded"], 2);
    assert_eq!(job["result"]["path"], "stream", "{job}");
    let reason = job["result"]["path_reason"].as_str().unwrap();
    assert!(reason.starts_with("snowflake did not load it: "), "{reason}");
    assert!(
        !reason.contains("AWS_SECRET_KEY") && !reason.contains("AWS_TOKEN"),
        "no credential in the reason: {reason}"
    );
    assert_eq!(e.rows("pulled").await, [json!({ "ID": 1, "NAME": "one" }), json!({ "ID": 2, "NAME": "two" })]);
    // The grant is audited, without the credentials.
    let audit = e
        .app
        .call("GET", &format!("/v1/orgs/{}/audit?action=upload.pull.grant", e.org), Some(OPERATOR_TOKEN), None)
        .await;
    assert_eq!(audit.status, 200, "{:?}", audit.body);
    let shown = audit.body.to_string();
    assert!(shown.contains("vended-15-minutes") && shown.contains("s3://"), "{shown}");
    assert!(!shown.contains("ASIA") && !shown.contains("AWS_TOKEN"), "{shown}");

    // Options only byob's reader has are streamed without asking the platform.
    let job =
        e.load(csv, json!({ "connection": "snow", "table": "skipped", "via": "platform", "on_error": "skip" })).await;
    assert_eq!(job["result"]["path"], "stream", "{job}");
    assert!(job["result"]["path_reason"].as_str().unwrap().contains("on_error: skip"), "{job}");
    // Streamed loads say nothing more.
    let job = e.load(csv, json!({ "connection": "snow", "table": "streamed" })).await;
    assert_eq!((job["result"]["path"].as_str(), job["result"]["path_reason"].as_str()), (Some("stream"), None));
}
