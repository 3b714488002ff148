//! MySQL/MariaDB as a data platform, against a real MariaDB: connections (fields, write-only password, clear
//! errors), loads streamed through `LOAD DATA LOCAL INFILE` (50 MB checksummed; all or nothing in every mode;
//! a value the server would round is refused, not changed), and exports whose CSV and JSON Lines are the same
//! bytes as from PostgreSQL and the embedded warehouse.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    buckets::{create_s3_bucket, unique_name},
    fresh_mysql_database, mysql_rows,
    uploads::{
        create_integration, create_mysql_connection, load, moto_uploads_integration, mysql_sample_checksum, sample_csv,
        upload_bytes,
    },
};
use serde_json::{Value, json};

struct Env {
    app: TestApp,
    org: String,
    member: String,
    url: String,
}

/// An org with a member, an uploads bucket on moto and a MariaDB connection `maria`.
async fn env() -> Env {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let bucket = unique_name("maria");
    create_s3_bucket(&bucket).await;
    create_integration(&app, &org, moto_uploads_integration(&bucket, "byob")).await;
    let url = fresh_mysql_database().await;
    create_mysql_connection(&app, &org, &url).await;
    Env { app, org, member, url }
}

/// The tables of the test database, byob's build tables included (none may be left behind).
async fn tables(e: &Env) -> Vec<String> {
    let db = e.url.rsplit('/').next().unwrap();
    mysql_rows(
        &e.url,
        &format!("SELECT table_name FROM information_schema.tables WHERE table_schema = '{db}' ORDER BY 1"),
    )
    .await
    .into_iter()
    .map(|r| r[0].clone().unwrap())
    .collect()
}

#[tokio::test]
async fn connections_to_mysql_keep_their_password_secret_and_say_what_is_wrong() {
    let e = env().await;
    let base = format!("/v1/orgs/{}/connections", e.org);
    let got = e.app.call("GET", &format!("{base}/maria"), Some(&e.member), None).await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!(got.body["platform"], "mysql");
    assert_eq!(got.body["has_password"], true);
    assert_eq!(got.body["schema"], got.body["database"], "MySQL's default schema is its database");
    assert!(!got.body.to_string().contains("byob-test"), "the password is never shown: {}", got.body);

    let url = url::Url::parse(&e.url).unwrap();
    let body = |extra: Value| {
        let mut b = json!({
            "name": "m2", "platform": "mysql", "host": url.host_str().unwrap(), "port": url.port().unwrap(),
            "database": url.path().trim_start_matches('/'), "user": "byob", "password": "wrong-password",
            "tls": "disable",
        });
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let op = Some(byob_testkit::app::OPERATOR_TOKEN);
    let schema = e.app.call("POST", &base, op, Some(body(json!({ "schema": "public" })))).await;
    assert_eq!(schema.status, 422, "{:?}", schema.body);
    assert_eq!(schema.body["rule"], "connection-field-not-for-platform", "{:?}", schema.body);
    let oracle = e.app.call("POST", &base, op, Some(body(json!({ "platform": "oracle" })))).await;
    assert_eq!(oracle.status, 422, "{:?}", oracle.body);
    assert_eq!(oracle.body["rule"], "platform-unsupported", "{:?}", oracle.body);
    assert!(oracle.body.to_string().contains("`mysql`"), "{:?}", oracle.body);

    // A wrong password is a failed test in the server's words, without the password.
    let created = e.app.call("POST", &base, op, Some(body(json!({})))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let test = e.app.call("POST", &format!("{base}/m2/test"), Some(&e.member), None).await;
    assert_eq!(test.body["ok"], false, "{:?}", test.body);
    assert!(test.body["error"].as_str().unwrap().contains("Access denied"), "{:?}", test.body);
    assert!(!test.body.to_string().contains("wrong-password"));
    let test = e.app.call("POST", &format!("{base}/maria/test"), Some(&e.member), None).await;
    assert_eq!(test.body["ok"], true, "{:?}", test.body);
    assert_eq!(test.body["platform"], "mysql");
}

#[tokio::test]
async fn fifty_megabytes_load_into_mariadb_exactly_and_replace_swaps_whole_tables() {
    let e = env().await;
    let (bytes, checksum) = sample_csv(50 * 1024 * 1024);
    let first = upload_bytes(&e.app, &e.org, &e.member, "sales.csv", &bytes).await;
    let job = load(&e.app, &e.org, &e.member, &first, json!({ "connection": "maria", "table": "sales" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["progress"]["bytes_done"], json!(bytes.len()));
    let (count, sum) = mysql_sample_checksum(&e.url, "sales").await;
    assert_eq!(count, job["result"]["rows_loaded"].as_u64().unwrap());
    assert!(count > 100_000);
    assert_eq!(sum, checksum, "MariaDB holds exactly the source rows");

    // The table's types are byob's, read back through the connection (the UTC column is an instant).
    let columns = e
        .app
        .call("GET", &format!("/v1/orgs/{}/connections/maria/tables/sales/columns", e.org), Some(&e.member), None)
        .await;
    assert_eq!(columns.status, 200, "{:?}", columns.body);
    let types: Vec<&str> = columns.body.as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["integer", "text", "decimal", "date", "timestamp_tz", "boolean", "text"]);

    let second = upload_bytes(&e.app, &e.org, &e.member, "sales.csv", &bytes).await;
    let job =
        load(&e.app, &e.org, &e.member, &second, json!({ "connection": "maria", "table": "sales", "mode": "replace" }))
            .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(mysql_sample_checksum(&e.url, "sales").await, (count, checksum));
    assert_eq!(tables(&e).await, ["sales"], "no build or old table is left behind");
}

#[tokio::test]
async fn a_load_that_fails_at_its_last_row_leaves_no_table_and_no_half_of_one() {
    let e = env().await;
    let (mut bytes, _) = sample_csv(20 * 1024 * 1024);
    bytes.extend_from_slice(b"not-a-number,x,1.00,2024-01-01,2024-01-01T00:00:00Z,true,\n");
    let upload = upload_bytes(&e.app, &e.org, &e.member, "bad.csv", &bytes).await;
    let job = load(&e.app, &e.org, &e.member, &upload, json!({ "connection": "maria", "table": "sales" })).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "bad-row", "{job}");
    assert!(tables(&e).await.is_empty(), "{:?}", tables(&e).await);

    // Into an existing table: the transaction is rolled back, the table is as it was.
    let good = upload_bytes(&e.app, &e.org, &e.member, "ok.csv", b"id,amount\n1,1.50\n2,2.25\n").await;
    let job = load(&e.app, &e.org, &e.member, &good, json!({ "connection": "maria", "table": "t" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let before = mysql_rows(&e.url, "SELECT id, amount FROM t ORDER BY id").await;
    let bad = upload_bytes(&e.app, &e.org, &e.member, "bad.csv", b"id,amount\n3,3.00\n4,oops\n").await;
    let job =
        load(&e.app, &e.org, &e.member, &bad, json!({ "connection": "maria", "table": "t", "mode": "append" })).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(mysql_rows(&e.url, "SELECT id, amount FROM t ORDER BY id").await, before);

    // A value the server would round (finer than the column's scale) is refused, never changed.
    let finer = upload_bytes(&e.app, &e.org, &e.member, "finer.csv", b"id,amount\n5,5.125\n").await;
    let job =
        load(&e.app, &e.org, &e.member, &finer, json!({ "connection": "maria", "table": "t", "mode": "append" })).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "load-rejected", "{job}");
    assert!(job["error"]["message"].as_str().unwrap().contains("nothing was loaded"), "{job}");
    assert_eq!(mysql_rows(&e.url, "SELECT id, amount FROM t ORDER BY id").await, before);
    assert_eq!(tables(&e).await, ["t"]);
}

#[tokio::test]
async fn decimals_that_grow_finer_mid_load_widen_the_column_and_keep_every_value() {
    let e = env().await;
    // 5,000 whole numbers (more than one batch), then finer ones: the column starts at scale 0 and is widened
    // between two LOAD DATA statements, keeping every value as written.
    let mut csv = String::from("id,amount\n");
    for i in 0..5000 {
        csv.push_str(&format!("{i},{i}\n"));
    }
    csv.push_str("5000,0.5\n5001,-12.125\n5002,99999999999999999999999999999999999\n");
    let upload = upload_bytes(&e.app, &e.org, &e.member, "growing.csv", csv.as_bytes()).await;
    let body =
        json!({ "connection": "maria", "table": "growing", "columns": [{ "source": "amount", "type": "decimal" }] });
    let job = load(&e.app, &e.org, &e.member, &upload, body).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["rows_loaded"], 5003);
    let column = mysql_rows(
        &e.url,
        "SELECT column_type FROM information_schema.columns WHERE table_name = 'growing' AND column_name = 'amount'",
    )
    .await;
    assert_eq!(column, [[Some("decimal(38,3)".to_string())]]);
    let rows = mysql_rows(&e.url, "SELECT id, amount FROM growing WHERE id IN (7, 5000, 5001, 5002) ORDER BY id").await;
    let amounts: Vec<&str> = rows.iter().map(|r| r[1].as_deref().unwrap()).collect();
    assert_eq!(amounts, ["7.000", "0.500", "-12.125", "99999999999999999999999999999999999.000"]);
    assert_eq!(tables(&e).await, ["growing"]);
}
