//! Exports from every platform byob connects to, through byob's own encoders: the same rows loaded into the
//! embedded warehouse, PostgreSQL, MariaDB, Snowflake (fakesnow), Redshift (its module, on PostgreSQL's wire),
//! Databricks and Trino (the test kit's fakes of their protocols) and BigQuery (bqemulator) export as the same
//! CSV and JSON Lines bytes,
//! read back by independent readers; Parquet carries each platform's types; an export never writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    buckets::{create_s3_bucket, unique_name},
    exports::{Bucket, Store, export, read_with_python},
    fresh_mysql_database, fresh_postgres_database, fresh_snowflake_database, mysql_rows,
    uploads::{
        create_bigquery_connection, create_databricks_connection, create_integration, create_mysql_connection,
        create_pg_connection, create_redshift_connection, create_snowflake_connection, create_trino_connection, load,
        moto_uploads_integration, upload_bytes,
    },
};
use serde_json::json;

const PLATFORMS: [&str; 8] = ["local", "pg", "maria", "snow", "rs", "dbx", "trino", "bq"];

/// NULLs, unicode, quotes, a comma, a newline, tabs and backslashes, wide decimals (one scale per column, as
/// MySQL's DECIMAL keeps), timestamps in several zones.
const SOURCE: &str = "id,name,amount,day,at,flag\n\
1,plain,12.50,2024-01-02,2024-01-02T03:04:05Z,true\n\
2,\"quote \"\"q\"\" and, comma\",-99999999999999999999.12,1999-12-31,2024-06-30T23:59:59.123456+05:30,false\n\
3,\"multi\nline\",0.01,,2024-03-10T02:30:00-08:00,\n\
4,unicode é 中文 🎉,,2000-02-29,,true\n\
5,\"tab\there \\ back\",0.00,2024-01-01,2024-01-01T00:00:00Z,false\n";

#[tokio::test]
async fn every_platform_exports_the_same_bytes_for_the_same_rows() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let staging = unique_name("staging");
    create_s3_bucket(&staging).await;
    create_integration(&app, &org, moto_uploads_integration(&staging, "byob")).await;
    create_pg_connection(&app, &org, &fresh_postgres_database().await).await;
    let maria_url = fresh_mysql_database().await;
    create_mysql_connection(&app, &org, &maria_url).await;
    create_snowflake_connection(&app, &org, &fresh_snowflake_database().await).await;
    create_redshift_connection(&app, &org, &fresh_postgres_database().await, None).await;
    let databricks = byob_testkit::fake_databricks::FakeDatabricks::start(2).await;
    create_databricks_connection(&app, &org, &databricks).await;
    let trino = byob_testkit::fake_trino::FakeTrino::start(2).await;
    create_trino_connection(&app, &org, &trino, None).await;
    let dataset = byob_testkit::fresh_bigquery_dataset().await;
    create_bigquery_connection(&app, &org, &dataset).await;
    let e = Env { app, org, member };
    let bucket = Bucket::create(Store::Moto, &e.app, &e.org).await;
    let mut exports = bucket.integration().unwrap();
    exports["name"] = json!("exports");
    create_integration(&e.app, &e.org, exports).await;
    for connection in PLATFORMS {
        let upload = upload_bytes(&e.app, &e.org, &e.member, "src.csv", SOURCE.as_bytes()).await;
        let job = load(&e.app, &e.org, &e.member, &upload, json!({ "connection": connection, "table": "src" })).await;
        assert_eq!(job["state"], "succeeded", "{job}");
    }
    let dir = tempfile::tempdir().unwrap();
    for format in ["csv", "jsonl"] {
        let mut outputs = Vec::new();
        for connection in PLATFORMS {
            // Snowflake resolves unquoted names in upper case, as byob made them; the aliases keep the header.
            // bqemulator's translation to DuckDB needs `at` quoted and the table qualified.
            let bigquery =
                format!("SELECT id, name, amount, day, `at`, flag FROM `byob-test.{dataset}.src` ORDER BY id");
            let query = match connection {
                "snow" => {
                    r#"SELECT id AS "id", name AS "name", amount AS "amount", day AS "day", "AT" AS "at", flag AS "flag" FROM src ORDER BY id"#
                }
                "bq" => bigquery.as_str(),
                _ => "SELECT id, name, amount, day, at, flag FROM src ORDER BY id",
            };
            let body = json!({ "connection": connection, "format": format, "query": query });
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

    // Parquet from each platform: typed, and pyarrow reads the same values.
    for connection in PLATFORMS {
        let body = json!({ "connection": connection, "table": "src", "format": "parquet" });
        let (_, run) = export(&e.app, &e.org, &e.member, body).await;
        assert_eq!(run["state"], "succeeded", "{connection}: {run}");
        let key = run["files"][0]["key"].as_str().unwrap();
        let path = dir.path().join(format!("{connection}.parquet"));
        std::fs::write(&path, bucket.read(key).await).unwrap();
        let read = read_with_python("parquet", &[path]);
        let mut rows = read["rows"].as_array().unwrap().clone();
        rows.sort_by_key(|r| r[0].as_str().unwrap().parse::<i64>().unwrap());
        assert_eq!(rows[1][4], "2024-06-30T18:29:59.123456+00:00", "{connection}: {read}");
        // BigQuery types the column as its result schema says; bqemulator reports a parameterized NUMERIC(22,2)
        // as plain NUMERIC, which is DECIMAL(38,9): the same value at scale 9.
        let amount = if connection == "bq" { "-99999999999999999999.120000000" } else { "-99999999999999999999.12" };
        assert_eq!(rows[1][2], amount, "{connection}: {read}");
    }

    // An export only reads: a statement that writes is refused and changes nothing.
    for connection in ["maria", "snow", "rs", "dbx", "trino", "bq"] {
        let body = json!({ "connection": connection, "format": "csv", "query": "DELETE FROM src" });
        let refused = e.app.call("POST", &format!("/v1/orgs/{}/exports", e.org), Some(&e.member), Some(body)).await;
        assert_eq!(refused.status, 422, "{connection}: {:?}", refused.body);
    }
    assert_eq!(mysql_rows(&maria_url, "SELECT COUNT(*) FROM src").await, [[Some("5".to_string())]]);
}

struct Env {
    app: TestApp,
    org: String,
    member: String,
}
