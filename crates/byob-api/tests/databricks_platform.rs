//! Databricks SQL as a data platform, against the test kit's fake of the Statement Execution API (every
//! statement polled, results in chunks inline or behind external links that must not be sent the token), whose
//! rows live in PostgreSQL: connections with their Databricks fields and precise errors, loads in every mode
//! (checksummed; all or nothing; decimals sized from the rows or refused rather than rounded), a pulled load
//! falling back to the stream, and exports across several chunks. Databricks' own SQL engine is not emulated:
//! docs/testing.md says what is not run against a real workspace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    buckets::{azurite_account_sas, create_azure_container, create_s3_bucket, unique_name},
    exports::export_to_moto,
    fake_databricks::FakeDatabricks,
    integrations::{Access, integration_body},
    postgres_records, postgres_tables, server_env,
    uploads::{
        assert_connection_refusals, azurite_sas_integration, create_databricks_connection, create_integration, load,
        moto_uploads_integration, postgres_sample_checksum, sample_csv, upload_bytes, with_changes,
    },
};
use serde_json::{Value, json};

struct Env {
    app: TestApp,
    org: String,
    member: String,
    fake: FakeDatabricks,
}

async fn env(chunk_rows: usize) -> Env {
    let bucket = unique_name("dbx");
    create_s3_bucket(&bucket).await;
    env_on(chunk_rows, moto_uploads_integration(&bucket, "byob")).await
}

/// The fake workspace, and uploads kept by the integration `integration`.
async fn env_on(chunk_rows: usize, integration: Value) -> Env {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    create_integration(&app, &org, integration).await;
    let fake = FakeDatabricks::start(chunk_rows).await;
    create_databricks_connection(&app, &org, &fake).await;
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

    /// The tables of the schema, byob's build tables included (none may be left behind).
    async fn tables(&self) -> Vec<String> {
        postgres_tables(&self.fake.engine.url, "default").await
    }
}

#[tokio::test]
async fn databricks_connections_take_their_fields_and_say_what_is_wrong() {
    let e = env(1000).await;
    let base = format!("/v1/orgs/{}/connections", e.org);
    let got = e.app.call("GET", &format!("{base}/dbx"), Some(&e.member), None).await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!((got.body["catalog"].as_str(), got.body["schema"].as_str()), (Some("main"), Some("default")));
    assert_eq!(got.body["http_path"], e.fake.http_path());
    assert!(!got.body.to_string().contains(&e.fake.token), "the token is never shown: {}", got.body);
    let test = e.app.call("POST", &format!("{base}/dbx/test"), Some(&e.member), None).await;
    assert_eq!((test.body["ok"].as_bool(), test.body["platform"].as_str()), (Some(true), Some("databricks")));

    let template = json!({ "name": "d2", "platform": "databricks", "host": "127.0.0.1", "port": e.fake.port,
                           "tls": "disable", "catalog": "main", "http_path": e.fake.http_path(),
                           "password": "dapi-wrong" });
    let body = |changes: Value| with_changes(&template, &changes);
    let op = Some(OPERATOR_TOKEN);
    let cases = [
        (json!({ "http_path": null }), "http_path", "connection-field-required"),
        (json!({ "http_path": "/sql/protocolv1/o/123/0123-456789-abc" }), "http_path", "databricks-http-path"),
        (json!({ "catalog": null }), "catalog", "connection-field-required"),
        (json!({ "password": null }), "password", "connection-field-required"),
        (json!({ "database": "main" }), "database", "connection-field-not-for-platform"),
        (json!({ "iam_role": "arn:aws:iam::123456789012:role/x" }), "iam_role", "connection-field-not-for-platform"),
    ];
    assert_connection_refusals(&e.app, &e.org, &template, &cases).await;
    let database = e.app.call("POST", &base, op, Some(body(json!({ "database": "main" })))).await;
    assert!(database.body["detail"].as_str().unwrap().contains("`catalog`"), "{:?}", database.body);

    // A wrong token is a failed test in Databricks' words, without the token.
    let created = e.app.call("POST", &base, op, Some(body(json!({})))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["port"], e.fake.port);
    let test = e.app.call("POST", &format!("{base}/d2/test"), Some(&e.member), None).await;
    assert_eq!(test.body["ok"], false, "{:?}", test.body);
    assert!(test.body["error"].as_str().unwrap().contains("refused the token"), "{:?}", test.body);
    assert!(!test.body.to_string().contains("dapi-wrong"));
}

#[tokio::test]
async fn loads_into_databricks_are_exact_in_every_mode_and_leave_no_build_table() {
    let e = env(1000).await;
    let (bytes, checksum) = sample_csv(3 * 1024 * 1024);
    let job = e.load(&bytes, json!({ "connection": "dbx", "table": "sales" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let (count, sum) = postgres_sample_checksum(&e.fake.engine.url, "sales").await;
    assert_eq!(count, job["result"]["rows_loaded"].as_u64().unwrap());
    assert!(count > 5_000);
    assert_eq!(sum, checksum, "the table holds exactly the source rows");
    let columns = e
        .app
        .call("GET", &format!("/v1/orgs/{}/connections/dbx/tables/sales/columns", e.org), Some(&e.member), None)
        .await;
    let types: Vec<&str> = columns.body.as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["integer", "text", "decimal", "date", "timestamp_tz", "boolean", "text"], "{:?}", columns.body);

    let job = e.load(&bytes, json!({ "connection": "dbx", "table": "sales", "mode": "replace" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(postgres_sample_checksum(&e.fake.engine.url, "sales").await, (count, checksum));
    let job = e.load(&bytes, json!({ "connection": "dbx", "table": "sales", "mode": "append" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(postgres_sample_checksum(&e.fake.engine.url, "sales").await.0, 2 * count);
    assert_eq!(e.tables().await, ["sales"], "no build table is left behind");
    let received = e.fake.engine.received.lock().await.clone();
    assert!(
        received
            .iter()
            .any(|s| s.starts_with("CREATE OR REPLACE TABLE `main`.`default`.`sales` USING DELTA AS SELECT")),
        "replace is one atomic statement"
    );
}

#[tokio::test]
async fn a_failed_databricks_load_changes_nothing_and_decimals_are_never_rounded() {
    let e = env(1000).await;
    let (mut bytes, _) = sample_csv(1024 * 1024);
    bytes.extend_from_slice(b"not-a-number,x,1.00,2024-01-01,2024-01-01T00:00:00Z,true,\n");
    let job = e.load(&bytes, json!({ "connection": "dbx", "table": "sales" })).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(e.tables().await.is_empty(), "{:?}", e.tables().await);

    let job = e.load(b"id,amount\n1,1.50\n2,-22.25\n", json!({ "connection": "dbx", "table": "t" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(e.rows("SELECT id, amount FROM t ORDER BY id").await, ["(1,1.50)", "(2,-22.25)"]);
    let scale = e
        .rows("SELECT numeric_precision, numeric_scale FROM information_schema.columns WHERE table_name = 't' AND column_name = 'amount'")
        .await;
    assert_eq!(scale, ["(4,2)"], "the decimal is as wide as its rows");
    let finer = e.load(b"id,amount\n5,5.125\n", json!({ "connection": "dbx", "table": "t", "mode": "append" })).await;
    assert_eq!(finer["state"], "failed", "{finer}");
    assert!(finer["error"]["message"].as_str().unwrap().contains("would round"), "{finer}");
    let bad =
        e.load(b"id,amount\n3,3.00\n4,oops\n", json!({ "connection": "dbx", "table": "t", "mode": "append" })).await;
    assert_eq!(bad["state"], "failed", "{bad}");
    assert_eq!(e.rows("SELECT id, amount FROM t ORDER BY id").await, ["(1,1.50)", "(2,-22.25)"]);
    assert_eq!(e.tables().await, ["t"]);
}

#[tokio::test]
async fn a_load_databricks_cannot_pull_is_streamed_and_says_why() {
    let e = env(1000).await;
    let job =
        e.load(b"id,name\n1,one\n2,two\n", json!({ "connection": "dbx", "table": "pulled", "via": "platform" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["path"], "stream", "{job}");
    let reason = job["result"]["path_reason"].as_str().unwrap();
    assert!(reason.starts_with("databricks did not load it: "), "{reason}");
    let received = e.fake.engine.received.lock().await.clone();
    let copy = received.iter().find(|s| s.starts_with("COPY INTO ")).expect("byob sent the COPY");
    assert!(
        copy.contains("WITH (CREDENTIAL (AWS_ACCESS_KEY = '") && copy.contains("AWS_SESSION_TOKEN = '"),
        "vended session credentials: {copy}"
    );
    let secret = copy.split("AWS_SECRET_KEY = '").nth(1).unwrap().split('\'').next().unwrap();
    assert!(!reason.contains(secret) && !job.to_string().contains(secret), "no credential in the job: {job}");
    assert_eq!(e.rows("SELECT id, name FROM pulled ORDER BY id").await, ["(1,one)", "(2,two)"]);
    assert_eq!(e.tables().await, ["pulled"]);
}

/// The `COPY INTO` statements byob sent the fake, in order.
async fn copies(e: &Env) -> Vec<String> {
    e.fake.engine.received.lock().await.iter().filter(|s| s.starts_with("COPY INTO ")).cloned().collect()
}

#[tokio::test]
async fn a_load_pulled_from_azure_gets_a_sas_that_reads_only_that_blob() {
    let container = unique_name("dbx-azure");
    create_azure_container(&container).await;
    let e = env_on(1000, integration_body(Access::Azurite, "customer", &container, "byob", &["uploads"])).await;
    // Loads whose streamed path then fails on a bad row, so their staged blobs stay (a loaded one is deleted).
    let csv = b"id,name\n1,one\nx,two\n";
    for table in ["first", "second"] {
        let body = json!({ "connection": "dbx", "table": table, "via": "platform",
                           "columns": [{ "source": "id", "type": "integer" }] });
        let job = e.load(csv, body).await;
        assert_eq!(job["state"], "failed", "{job}");
        assert!(!job.to_string().contains("sig="), "no SAS in the job: {job}");
    }
    let copies = copies(&e).await;
    assert_eq!(copies.len(), 2, "{copies:?}");
    // `FROM 'abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/KEY' WITH (CREDENTIAL (AZURE_SAS_TOKEN = 'SAS'))`
    let blob = |copy: &str| {
        let url = copy.split("FROM '").nth(1).unwrap().split('\'').next().unwrap().to_string();
        let token = copy.split("AZURE_SAS_TOKEN = '").nth(1).unwrap().split('\'').next().unwrap().to_string();
        let key = url.split(".dfs.core.windows.net/").nth(1).unwrap().to_string();
        assert_eq!(url, format!("abfss://{container}@devstoreaccount1.dfs.core.windows.net/{key}"));
        (key, token)
    };
    let (key, token) = blob(&copies[0]);
    let (neighbour, _) = blob(&copies[1]);
    let pairs: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(token.as_bytes()).into_owned().collect();
    assert_eq!((pairs["sr"].as_str(), pairs["sp"].as_str()), ("b", "r"), "one blob, read only: {token}");
    let expiry = chrono::DateTime::parse_from_rfc3339(&pairs["se"]).unwrap();
    assert!(expiry <= chrono::Utc::now() + chrono::Duration::minutes(15), "at most 15 minutes: {expiry}");

    let endpoint = server_env("BYOB_TEST_AZURE_ENDPOINT");
    let http = reqwest::Client::new();
    let at = |key: &str| format!("{endpoint}/{container}/{key}?{token}");
    let read = http.get(at(&key)).send().await.unwrap();
    assert_eq!(read.status(), 200, "the SAS reads its blob");
    assert_eq!(read.bytes().await.unwrap().as_ref(), csv);
    assert_eq!(http.get(at(&neighbour)).send().await.unwrap().status(), 403, "and not its neighbour");
    let write = http.put(at(&key)).header("x-ms-blob-type", "BlockBlob").body("x").send().await.unwrap();
    assert_eq!(write.status(), 403, "nor may it write");
}

#[tokio::test]
async fn a_customers_container_sas_is_never_handed_to_the_platform() {
    let container = unique_name("dbx-sas");
    create_azure_container(&container).await;
    let sas = azurite_account_sas("racwdl", chrono::Utc::now() + chrono::Duration::days(30));
    let e = env_on(1000, azurite_sas_integration("customer", &container, "byob", &sas, json!(["uploads"]))).await;
    let job = e.load(b"id\n1\n", json!({ "connection": "dbx", "table": "t", "via": "platform" })).await;
    assert_eq!((job["state"].as_str(), job["result"]["path"].as_str()), (Some("succeeded"), Some("stream")), "{job}");
    let reason = job["result"]["path_reason"].as_str().unwrap();
    assert!(reason.contains("cannot narrow it to one blob"), "{reason}");
    assert!(copies(&e).await.is_empty(), "no COPY was sent");
}

#[tokio::test]
async fn exports_from_databricks_read_every_chunk_behind_its_external_link() {
    let e = env(700).await;
    let mut csv = String::from("id,name,amount,at\n");
    for i in 0..5000 {
        csv.push_str(&format!("{i},name {i},{i}.{:02},2024-01-02T03:04:05.123456Z\n", i % 100));
    }
    let job = e.load(csv.as_bytes(), json!({ "connection": "dbx", "table": "big" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let body =
        json!({ "connection": "dbx", "format": "csv", "query": "SELECT id, name, amount, at FROM big ORDER BY id" });
    let (run, bytes) = export_to_moto(&e.app, &e.org, &e.member, body).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["rows"], 5000);
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5001, "a header and every row of the 8 chunks");
    assert_eq!(lines[1], "0,name 0,0.00,2024-01-02T03:04:05.123456Z");
    assert_eq!(lines[5000], "4999,name 4999,4999.99,2024-01-02T03:04:05.123456Z");
}
