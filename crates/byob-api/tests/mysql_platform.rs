//! MySQL/MariaDB as a data platform, against a real MariaDB: connections (fields, write-only password, clear
//! errors), loads streamed through `LOAD DATA LOCAL INFILE` (50 MB checksummed; all or nothing in every mode;
//! a value the server would round is refused, not changed), and exports whose CSV and JSON Lines are the same
//! bytes as from PostgreSQL and the embedded warehouse.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    buckets::{create_s3_bucket, unique_name},
    exports::{Bucket, Store, export, read_with_python},
    fresh_mysql_database, fresh_postgres_database, mysql_rows,
    uploads::{
        create_integration, create_mysql_connection, create_pg_connection, load, moto_uploads_integration,
        mysql_sample_checksum, sample_csv, upload_bytes,
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

/// NULLs, unicode, quotes, a comma, a newline, tabs and backslashes, wide decimals (one scale per column, as
/// MySQL's DECIMAL keeps), timestamps in several zones.
const SOURCE: &str = "id,name,amount,day,at,flag\n\
1,plain,12.50,2024-01-02,2024-01-02T03:04:05Z,true\n\
2,\"quote \"\"q\"\" and, comma\",-99999999999999999999.12,1999-12-31,2024-06-30T23:59:59.123456+05:30,false\n\
3,\"multi\nline\",0.01,,2024-03-10T02:30:00-08:00,\n\
4,unicode é 中文 🎉,,2000-02-29,,true\n\
5,\"tab\there \\ back\",0.00,2024-01-01,2024-01-01T00:00:00Z,false\n";

#[tokio::test]
async fn exports_from_mariadb_are_the_same_bytes_as_from_postgres_and_sqlite() {
    let e = env().await;
    let pg_url = fresh_postgres_database().await;
    create_pg_connection(&e.app, &e.org, &pg_url).await;
    let bucket = Bucket::create(Store::Moto, &e.app, &e.org).await;
    let mut exports = bucket.integration().unwrap();
    exports["name"] = json!("exports");
    create_integration(&e.app, &e.org, exports).await;
    for connection in ["local", "pg", "maria"] {
        let upload = upload_bytes(&e.app, &e.org, &e.member, "src.csv", SOURCE.as_bytes()).await;
        let job = load(&e.app, &e.org, &e.member, &upload, json!({ "connection": connection, "table": "src" })).await;
        assert_eq!(job["state"], "succeeded", "{job}");
    }
    let dir = tempfile::tempdir().unwrap();
    for format in ["csv", "jsonl"] {
        let mut outputs = Vec::new();
        for connection in ["local", "pg", "maria"] {
            let body = json!({
                "connection": connection, "format": format,
                "query": "SELECT id, name, amount, day, at, flag FROM src ORDER BY id",
            });
            let (_, run) = export(&e.app, &e.org, &e.member, body).await;
            assert_eq!(run["state"], "succeeded", "{connection} {format}: {run}");
            assert_eq!(run["rows"], 5);
            let mut bytes = Vec::new();
            for file in run["files"].as_array().unwrap() {
                bytes.extend(bucket.read(file["key"].as_str().unwrap()).await);
            }
            outputs.push((connection, bytes));
        }
        for (connection, bytes) in &outputs[1..] {
            assert_eq!(
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&outputs[0].1),
                "{format} from {connection} is the same bytes as from local"
            );
        }
        let path = dir.path().join(format!("maria.{format}"));
        std::fs::write(&path, &outputs[2].1).unwrap();
        let rows = read_with_python(format, &[path]);
        if format == "jsonl" {
            assert_eq!(
                rows[1],
                json!({ "id": 2, "name": "quote \"q\" and, comma", "amount": "-99999999999999999999.12",
                        "day": "1999-12-31", "at": "2024-06-30T18:29:59.123456Z", "flag": false })
            );
            assert_eq!(rows[4]["name"], "tab\there \\ back");
        }
    }

    // Parquet from MariaDB: typed, and pyarrow reads the values.
    let (_, run) =
        export(&e.app, &e.org, &e.member, json!({ "connection": "maria", "table": "src", "format": "parquet" })).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    let key = run["files"][0]["key"].as_str().unwrap();
    let path = dir.path().join("maria.parquet");
    std::fs::write(&path, bucket.read(key).await).unwrap();
    let read = read_with_python("parquet", &[path]);
    let mut rows = read["rows"].as_array().unwrap().clone();
    rows.sort_by_key(|r| r[0].as_str().unwrap().parse::<i64>().unwrap());
    assert_eq!(rows[1][4], "2024-06-30T18:29:59.123456+00:00", "{read}");
    assert_eq!(rows[1][2], "-99999999999999999999.12");

    // An export only reads: a statement that writes is refused and changes nothing.
    let body = json!({ "connection": "maria", "format": "csv", "query": "DELETE FROM src" });
    let refused = e.app.call("POST", &format!("/v1/orgs/{}/exports", e.org), Some(&e.member), Some(body)).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(mysql_rows(&e.url, "SELECT COUNT(*) FROM src").await, [[Some("5".to_string())]]);
}
