//! Google BigQuery as a data platform, against bqemulator (BigQuery's REST API over DuckDB): connections with
//! their BigQuery fields and precise errors, loads in every mode read back as BigQuery holds them (all or
//! nothing; decimals as NUMERIC or BIGNUMERIC sized from the rows, never rounded), and exports, paged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    bigquery_rows,
    buckets::{create_s3_bucket, gcs_test_key, unique_name},
    exports::export_to_moto,
    fresh_bigquery_dataset,
    uploads::{
        assert_connection_refusals, create_bigquery_connection, create_integration, load, moto_uploads_integration,
        upload_bytes,
    },
};
use serde_json::{Value, json};

struct Env {
    app: TestApp,
    org: String,
    member: String,
    dataset: String,
}

async fn env() -> Env {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let bucket = unique_name("bq");
    create_s3_bucket(&bucket).await;
    create_integration(&app, &org, moto_uploads_integration(&bucket, "byob")).await;
    let dataset = fresh_bigquery_dataset().await;
    create_bigquery_connection(&app, &org, &dataset).await;
    Env { app, org, member, dataset }
}

impl Env {
    async fn load(&self, csv: &[u8], body: Value) -> Value {
        let upload = upload_bytes(&self.app, &self.org, &self.member, "t.csv", csv).await;
        load(&self.app, &self.org, &self.member, &upload, body).await
    }

    async fn rows(&self, select: &str, table: &str) -> Vec<Vec<Value>> {
        bigquery_rows(&format!("SELECT {select} FROM `byob-test.{}.{table}` ORDER BY 1", self.dataset)).await
    }

    async fn tables(&self) -> Vec<String> {
        let sql = format!("SELECT table_name FROM `byob-test.{}.INFORMATION_SCHEMA.TABLES` ORDER BY 1", self.dataset);
        bigquery_rows(&sql).await.iter().map(|r| r[0].as_str().unwrap().to_string()).collect()
    }
}

#[tokio::test]
async fn bigquery_connections_take_their_fields_and_say_what_is_wrong() {
    let e = env().await;
    let base = format!("/v1/orgs/{}/connections", e.org);
    let got = e.app.call("GET", &format!("{base}/bq"), Some(&e.member), None).await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!(
        (got.body["project"].as_str(), got.body["dataset"].as_str()),
        (Some("byob-test"), Some(e.dataset.as_str()))
    );
    assert_eq!(got.body["user"], "byob-test@byob-test.iam.gserviceaccount.com", "the key's service account is shown");
    assert_eq!(got.body["has_password"], true);
    assert!(!got.body.to_string().contains("PRIVATE KEY"), "the key is never shown: {}", got.body);
    let test = e.app.call("POST", &format!("{base}/bq/test"), Some(&e.member), None).await;
    assert_eq!(
        (test.body["ok"].as_bool(), test.body["platform"].as_str()),
        (Some(true), Some("bigquery")),
        "{:?}",
        test.body
    );

    let template = json!({ "name": "b2", "platform": "bigquery", "project": "byob-test", "dataset": "sales",
                           "service_account_key": gcs_test_key() });
    let cases = [
        (json!({ "project": "My Project" }), "project", "bigquery-project"),
        (json!({ "project": "123456789012" }), "project", "bigquery-project"),
        (json!({ "dataset": "sales-2024" }), "dataset", "bigquery-dataset"),
        (json!({ "dataset": null }), "dataset", "connection-field-required"),
        (json!({ "service_account_key": null }), "service_account_key", "connection-field-required"),
        (
            json!({ "service_account_key": "{\"type\": \"authorized_user\"}" }),
            "service_account_key",
            "service-account-type",
        ),
        (json!({ "password": "p" }), "password", "connection-field-not-for-platform"),
        (json!({ "database": "x" }), "database", "connection-field-not-for-platform"),
    ];
    assert_connection_refusals(&e.app, &e.org, &template, &cases).await;
    let created = e.app.call("POST", &base, Some(OPERATOR_TOKEN), Some(template)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(
        (created.body["host"].as_str(), created.body["port"].as_u64()),
        (Some("bigquery.googleapis.com"), Some(443))
    );
}

#[tokio::test]
async fn loads_into_bigquery_in_every_mode_keep_every_value() {
    let e = env().await;
    let csv = "id,name,amount,day,at,local,flag\n\
1,plain,12.50,2024-01-02,2024-01-02T03:04:05.123456Z,2024-01-02 03:04:05,true\n\
2,\"quote 'q' \\\\ and, comma\",-99999999999999999999.12,1999-12-31,2024-06-30T23:59:59+05:30,,false\n\
3,\"multi\nline\",,,,2000-02-29 00:00:00,\n";
    let job = e.load(csv.as_bytes(), json!({ "connection": "bq", "table": "sales" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["rows_loaded"], 3);
    let rows = e.rows("id, name, amount, day, CAST(`at` AS STRING), CAST(`local` AS STRING), flag", "sales").await;
    assert_eq!(
        rows[1],
        [
            json!("2"),
            json!("quote 'q' \\\\ and, comma"),
            json!("-99999999999999999999.12"),
            json!("1999-12-31"),
            json!("2024-06-30 18:29:59+00"),
            Value::Null,
            json!("false")
        ]
    );
    assert_eq!(rows[2][1], "multi\nline");
    let columns = e
        .app
        .call("GET", &format!("/v1/orgs/{}/connections/bq/tables/sales/columns", e.org), Some(&e.member), None)
        .await;
    let types: Vec<&str> = columns.body.as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["integer", "text", "decimal", "date", "timestamp_tz", "timestamp", "boolean"],
        "{:?}",
        columns.body
    );

    // Decimals finer than NUMERIC's 9 places become BIGNUMERIC, every digit kept.
    let fine = e.load(b"id,amount\n1,0.123456789012345678\n", json!({ "connection": "bq", "table": "fine" })).await;
    assert_eq!(fine["state"], "succeeded", "{fine}");
    assert_eq!(e.rows("id, amount", "fine").await[0][1], "0.123456789012345678");

    let job = e.load(b"id,name\n7,seven\n", json!({ "connection": "bq", "table": "sales", "mode": "replace" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(e.rows("id, name", "sales").await, [[json!("7"), json!("seven")]]);
    let job = e.load(b"id,name\n8,eight\n", json!({ "connection": "bq", "table": "sales", "mode": "append" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(e.rows("id", "sales").await, [[json!("7")], [json!("8")]]);

    // A failed load changes nothing and leaves no build table.
    let bad =
        e.load(b"id,name\n9,nine\noops,x\n", json!({ "connection": "bq", "table": "sales", "mode": "append" })).await;
    assert_eq!(bad["state"], "failed", "{bad}");
    assert_eq!(e.rows("id", "sales").await, [[json!("7")], [json!("8")]]);
    assert_eq!(e.tables().await, ["fine", "sales"]);
}

#[tokio::test]
async fn exports_from_bigquery_read_every_page() {
    let e = env().await;
    // 12,000 rows made by BigQuery itself (loads are tested above): more than one page of 10,000.
    bigquery_rows(&format!(
        "CREATE TABLE `byob-test.{}.big` AS SELECT i AS id, CONCAT('name ', CAST(i AS STRING)) AS name, \
         CAST(CONCAT(CAST(i AS STRING), '.', LPAD(CAST(MOD(i, 100) AS STRING), 2, '0')) AS NUMERIC(12,2)) AS amount, \
         TIMESTAMP '2024-01-02 03:04:05.123456+00' AS `at` FROM UNNEST(GENERATE_ARRAY(0, 11999)) AS i",
        e.dataset
    ))
    .await;
    let query = format!("SELECT id, name, amount, `at` FROM `byob-test.{}.big` ORDER BY id", e.dataset);
    let (run, bytes) =
        export_to_moto(&e.app, &e.org, &e.member, json!({ "connection": "bq", "format": "csv", "query": query })).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["rows"], 12_000);
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 12_001, "a header and every row of both pages");
    assert_eq!(lines[1], "0,name 0,0.00,2024-01-02T03:04:05.123456Z");
    assert_eq!(lines[12_000], "11999,name 11999,11999.99,2024-01-02T03:04:05.123456Z");
}

#[tokio::test]
async fn a_load_bigquery_cannot_pull_is_streamed_and_says_why() {
    let e = env().await;
    // The upload is on S3 (moto): BigQuery's load jobs read gs:// only, so byob streams the rows.
    let job =
        e.load(b"id,name\n1,one\n2,two\n", json!({ "connection": "bq", "table": "pulled", "via": "platform" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["path"], "stream", "{job}");
    let reason = job["result"]["path_reason"].as_str().unwrap();
    assert!(reason.starts_with("bigquery did not load it: ") && reason.contains("gs://"), "{reason}");
    assert_eq!(e.rows("id, name", "pulled").await, [[json!("1"), json!("one")], [json!("2"), json!("two")]]);
    assert_eq!(e.tables().await, ["pulled"]);
}
