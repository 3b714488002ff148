//! Redshift as a data platform. No Redshift emulator exists, so PostgreSQL stands in for the wire: byob's
//! Redshift module (multi-row `INSERT` loads in one transaction, decimals sized from the rows, exports read row by
//! row without `COPY … TO STDOUT`) runs against a real server here. The `COPY … FROM 's3://…'` of pulled loads
//! is checked as exact SQL in `byob-ports` (PostgreSQL refuses it, and the load is streamed: tested below).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    buckets::{create_s3_bucket, unique_name},
    fresh_postgres_database, postgres_records, postgres_tables,
    uploads::{
        create_integration, create_redshift_connection, load, moto_uploads_integration, postgres_sample_checksum,
        sample_csv, upload_bytes,
    },
};
use serde_json::{Value, json};

struct Env {
    app: TestApp,
    org: String,
    member: String,
    url: String,
}

async fn env() -> Env {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let bucket = unique_name("rs");
    create_s3_bucket(&bucket).await;
    create_integration(&app, &org, moto_uploads_integration(&bucket, "byob")).await;
    let url = fresh_postgres_database().await;
    create_redshift_connection(&app, &org, &url, None).await;
    Env { app, org, member, url }
}

impl Env {
    async fn load(&self, csv: &[u8], body: Value) -> Value {
        let upload = upload_bytes(&self.app, &self.org, &self.member, "t.csv", csv).await;
        load(&self.app, &self.org, &self.member, &upload, body).await
    }

    async fn rows(&self, sql: &str) -> Vec<String> {
        postgres_records(&self.url, sql).await
    }

    /// The tables of the schema, byob's build tables included (none may be left behind).
    async fn tables(&self) -> Vec<String> {
        postgres_tables(&self.url, "public").await
    }
}

#[tokio::test]
async fn redshift_connections_take_their_fields_and_say_what_is_wrong() {
    let e = env().await;
    let base = format!("/v1/orgs/{}/connections", e.org);
    let got = e.app.call("GET", &format!("{base}/rs"), Some(&e.member), None).await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!((got.body["platform"].as_str(), got.body["schema"].as_str()), (Some("redshift"), Some("public")));
    let test = e.app.call("POST", &format!("{base}/rs/test"), Some(&e.member), None).await;
    assert_eq!(test.body["ok"], true, "{:?}", test.body);

    let body = |extra: Value| {
        let mut b = json!({ "name": "r2", "platform": "redshift", "host": "acme.abc123.eu-west-1.redshift.amazonaws.com",
                            "database": "dev", "user": "byob", "password": "p" });
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let bad_role = e.app.call("POST", &base, Some(OPERATOR_TOKEN), Some(body(json!({ "iam_role": "redshift" })))).await;
    assert_eq!(bad_role.status, 422, "{:?}", bad_role.body);
    assert_eq!(bad_role.body["rule"], "arn-format", "{:?}", bad_role.body);
    let user_arn = json!({ "iam_role": "arn:aws:iam::123456789012:user/alice" });
    let user = e.app.call("POST", &base, Some(OPERATOR_TOKEN), Some(body(user_arn))).await;
    assert_eq!(user.body["rule"], "arn-resource", "{:?}", user.body);
    let account = e.app.call("POST", &base, Some(OPERATOR_TOKEN), Some(body(json!({ "account": "x" })))).await;
    assert_eq!(account.body["rule"], "connection-field-not-for-platform", "{:?}", account.body);

    let role = "arn:aws:iam::123456789012:role/redshift-reads-acme";
    let ok = e.app.call("POST", &base, Some(OPERATOR_TOKEN), Some(body(json!({ "iam_role": role })))).await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);
    assert_eq!((ok.body["port"].as_u64(), ok.body["iam_role"].as_str()), (Some(5439), Some(role)));
    assert_eq!(ok.body["has_password"], true);
    assert!(ok.body.get("password").is_none(), "{:?}", ok.body);
}

#[tokio::test]
async fn twenty_megabytes_load_exactly_through_inserts_and_replace_swaps_whole_tables() {
    let e = env().await;
    let (bytes, checksum) = sample_csv(20 * 1024 * 1024);
    let job = e.load(&bytes, json!({ "connection": "rs", "table": "sales" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let (count, sum) = postgres_sample_checksum(&e.url, "sales").await;
    assert_eq!(count, job["result"]["rows_loaded"].as_u64().unwrap());
    assert!(count > 40_000);
    assert_eq!(sum, checksum, "the table holds exactly the source rows");
    // The decimal column is as wide as its rows need (Redshift's bare DECIMAL would be (18,0) and round).
    let amount = e
        .rows(
            "SELECT data_type, numeric_scale FROM information_schema.columns WHERE table_name = 'sales' \
             AND column_name = 'amount'",
        )
        .await;
    assert_eq!(amount, ["(numeric,2)"]);

    let job = e.load(&bytes, json!({ "connection": "rs", "table": "sales", "mode": "replace" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(postgres_sample_checksum(&e.url, "sales").await, (count, checksum));
    assert_eq!(e.tables().await, ["sales"], "no build table is left behind");
}

#[tokio::test]
async fn a_failed_redshift_load_leaves_no_table_and_no_half_of_one() {
    let e = env().await;
    let (mut bytes, _) = sample_csv(5 * 1024 * 1024);
    bytes.extend_from_slice(b"not-a-number,x,1.00,2024-01-01,2024-01-01T00:00:00Z,true,\n");
    let job = e.load(&bytes, json!({ "connection": "rs", "table": "sales" })).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(e.tables().await.is_empty(), "{:?}", e.tables().await);

    let job = e.load(b"id,amount\n1,1.50\n2,2.25\n", json!({ "connection": "rs", "table": "t" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let before = e.rows("SELECT id, amount FROM t ORDER BY id").await;
    assert_eq!(before, ["(1,1.50)", "(2,2.25)"]);
    let bad =
        e.load(b"id,amount\n3,3.00\n4,oops\n", json!({ "connection": "rs", "table": "t", "mode": "append" })).await;
    assert_eq!(bad["state"], "failed", "{bad}");
    assert_eq!(e.rows("SELECT id, amount FROM t ORDER BY id").await, before);

    // A value finer than the column's scale is refused, never rounded.
    let finer = e.load(b"id,amount\n5,5.125\n", json!({ "connection": "rs", "table": "t", "mode": "append" })).await;
    assert_eq!(finer["state"], "failed", "{finer}");
    assert_eq!(finer["error"]["code"], "load-rejected", "{finer}");
    assert!(finer["error"]["message"].as_str().unwrap().contains("would round"), "{finer}");
    let fits = e.load(b"id,amount\n6,6.5\n", json!({ "connection": "rs", "table": "t", "mode": "append" })).await;
    assert_eq!(fits["state"], "succeeded", "{fits}");
    assert_eq!(e.rows("SELECT id, amount FROM t ORDER BY id").await, ["(1,1.50)", "(2,2.25)", "(6,6.50)"]);
    assert_eq!(e.tables().await, ["t"]);
}

#[tokio::test]
async fn a_load_redshift_cannot_pull_is_streamed_and_says_why() {
    let e = env().await;
    // PostgreSQL has no COPY from s3://: the statement byob generated, with credentials it vended for the one
    // object, is refused, and byob streams the rows instead.
    let job =
        e.load(b"id,name\n1,one\n2,two\n", json!({ "connection": "rs", "table": "pulled", "via": "platform" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["path"], "stream", "{job}");
    let reason = job["result"]["path_reason"].as_str().unwrap();
    assert!(reason.starts_with("redshift did not load it: "), "{reason}");
    assert!(!reason.contains("SECRET_ACCESS_KEY '") && !reason.contains("SESSION_TOKEN '"), "{reason}");
    assert_eq!(e.rows("SELECT id, name FROM pulled ORDER BY id").await, ["(1,one)", "(2,two)"]);
    assert_eq!(e.tables().await, ["pulled"], "the refused COPY's build table was rolled back");
}
