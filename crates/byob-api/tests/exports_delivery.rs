//! Exports end to end on every store (moto, Azurite, fake-gcs-server, the default storage), from the embedded
//! SQLite warehouse and from PostgreSQL. The files are fetched with object_store and parsed by independent
//! readers (Python's `csv` and `json`, pyarrow): they hold exactly the source rows (NULLs, unicode, quotes,
//! newlines, extreme decimals, timestamps with zones), CSV and JSON Lines are byte-identical whatever the
//! platform, and each run's manifest describes its files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    exports::{Bucket, Store, export, read_with_python},
    fresh_postgres_database,
    uploads::{create_integration, create_pg_connection, load, moto_uploads_integration, upload_bytes},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// NULLs (empty fields), unicode, quotes, a comma, a newline, extreme decimals, timestamps in several zones.
const SOURCE: &str = "id,name,amount,day,at,flag\n\
1,plain,12.50,2024-01-02,2024-01-02T03:04:05Z,true\n\
2,\"quote \"\"q\"\" and, comma\",-99999999999999999999.123456789012345678,1999-12-31,2024-06-30T23:59:59.123456+05:30,false\n\
3,\"multi\nline\",0.000000000000000001,,2024-03-10T02:30:00-08:00,\n\
4,unicode é 中文 🎉,,2000-02-29,,true\n\
5,,0,2024-01-01,2024-01-01T00:00:00Z,false\n";

/// What byob writes for SOURCE: timestamps in UTC with `Z`, NULL as an empty field.
const EXPECTED_CSV: &str = "id,name,amount,day,at,flag\n\
1,plain,12.50,2024-01-02,2024-01-02T03:04:05Z,true\n\
2,\"quote \"\"q\"\" and, comma\",-99999999999999999999.123456789012345678,1999-12-31,2024-06-30T18:29:59.123456Z,false\n\
3,\"multi\nline\",0.000000000000000001,,2024-03-10T10:30:00Z,\n\
4,unicode é 中文 🎉,,2000-02-29,,true\n\
5,,0,2024-01-01,2024-01-01T00:00:00Z,false\n";

struct Setup {
    app: TestApp,
    org: String,
    member: String,
    pg_url: String,
    bucket: Bucket,
}

/// An org with a member, the bucket serving its exports, a PostgreSQL connection `pg`, and SOURCE loaded as
/// table `src` into both `local` and `pg`.
async fn setup(store: Store) -> Setup {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    // Source files are staged in a moto bucket of their own (an in-process app cannot relay uploads).
    let staging = byob_testkit::buckets::unique_name("staging");
    byob_testkit::buckets::create_s3_bucket(&staging).await;
    let mut uploads = moto_uploads_integration(&staging, "byob");
    uploads["name"] = json!("staging");
    create_integration(&app, &org, uploads).await;
    let bucket = Bucket::create(store, &app, &org).await;
    if let Some(body) = bucket.integration() {
        create_integration(&app, &org, body).await;
    }
    let pg_url = fresh_postgres_database().await;
    create_pg_connection(&app, &org, &pg_url).await;
    for connection in ["local", "pg"] {
        let upload = upload_bytes(&app, &org, &member, "src.csv", SOURCE.as_bytes()).await;
        let job = load(&app, &org, &member, &upload, json!({ "connection": connection, "table": "src" })).await;
        assert_eq!(job["state"], "succeeded", "{job}");
    }
    Setup { app, org, member, pg_url, bucket }
}

async fn run_ok(s: &Setup, body: Value) -> Value {
    let (_, run) = export(&s.app, &s.org, &s.member, body).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    run
}

/// The run's files, fetched into a temporary directory (for the Python readers) and as bytes.
async fn fetch(s: &Setup, run: &Value, dir: &std::path::Path) -> (Vec<std::path::PathBuf>, Vec<u8>) {
    let mut paths = Vec::new();
    let mut all = Vec::new();
    for (i, file) in run["files"].as_array().unwrap().iter().enumerate() {
        let bytes = s.bucket.read(file["key"].as_str().unwrap()).await;
        assert_eq!(file["bytes"], json!(bytes.len()));
        assert_eq!(file["sha256"], json!(hex::encode(Sha256::digest(&bytes))));
        let path = dir.join(format!("{}-{i}", run["id"].as_str().unwrap()));
        std::fs::write(&path, &bytes).unwrap();
        paths.push(path);
        all.extend(bytes);
    }
    (paths, all)
}

async fn every_format_from_both_platforms(store: Store) {
    let s = setup(store).await;
    let dir = tempfile::tempdir().unwrap();
    let query = "SELECT id, name, amount, day, at, flag FROM src ORDER BY id";

    // CSV: the same bytes from SQLite and PostgreSQL, exactly as expected, and Python's csv reads the rows.
    let mut csv = Vec::new();
    for connection in ["local", "pg"] {
        let run = run_ok(&s, json!({ "connection": connection, "query": query, "format": "csv" })).await;
        assert_eq!(run["rows"], 5);
        let (paths, bytes) = fetch(&s, &run, dir.path()).await;
        assert_eq!(String::from_utf8(bytes.clone()).unwrap(), EXPECTED_CSV, "from {connection}");
        let rows = read_with_python("csv", &paths);
        assert_eq!(
            rows[2],
            json!([
                "2",
                "quote \"q\" and, comma",
                "-99999999999999999999.123456789012345678",
                "1999-12-31",
                "2024-06-30T18:29:59.123456Z",
                "false"
            ])
        );
        assert_eq!(rows[3][1], "multi\nline");
        assert_eq!(rows[4][1], "unicode é 中文 🎉");
        csv.push(bytes);
    }
    assert_eq!(csv[0], csv[1], "CSV is byte-identical from SQLite and PostgreSQL");

    // JSON Lines: typed values, decimals as strings, the same bytes from both platforms.
    let mut jsonl = Vec::new();
    for connection in ["local", "pg"] {
        let run = run_ok(&s, json!({ "connection": connection, "query": query, "format": "jsonl" })).await;
        let (paths, bytes) = fetch(&s, &run, dir.path()).await;
        let rows = read_with_python("jsonl", &paths);
        assert_eq!(
            rows[1],
            json!({ "id": 2, "name": "quote \"q\" and, comma", "amount": "-99999999999999999999.123456789012345678",
                    "day": "1999-12-31", "at": "2024-06-30T18:29:59.123456Z", "flag": false })
        );
        assert_eq!(
            rows[2],
            json!({ "id": 3, "name": "multi\nline", "amount": "0.000000000000000001", "day": null,
                    "at": "2024-03-10T10:30:00Z", "flag": null })
        );
        assert_eq!(rows[4]["name"], Value::Null);
        jsonl.push(bytes);
    }
    assert_eq!(jsonl[0], jsonl[1], "JSON Lines is byte-identical from SQLite and PostgreSQL");

    // Parquet from each platform: pyarrow reads the same values; zoned timestamps are UTC.
    for connection in ["local", "pg"] {
        let run = run_ok(&s, json!({ "connection": connection, "table": "src", "format": "parquet" })).await;
        let (paths, _) = fetch(&s, &run, dir.path()).await;
        let read = read_with_python("parquet", &paths);
        let mut rows = read["rows"].as_array().unwrap().clone();
        rows.sort_by_key(|r| r[0].as_str().unwrap().parse::<i64>().unwrap());
        assert_eq!(rows[1][4], "2024-06-30T18:29:59.123456+00:00", "{read}");
        assert_eq!(rows[1][2], "-99999999999999999999.123456789012345678");
        assert_eq!(rows[2][1], "multi\nline");
        assert_eq!(rows[3][4], Value::Null);
        assert!(read["schema"].as_array().unwrap().contains(&json!("at:timestamp[us, tz=UTC]")), "{read}");
        assert!(read["schema"].as_array().unwrap().contains(&json!("day:date32[day]")), "{read}");
        assert!(read["schema"].as_array().unwrap().contains(&json!("flag:bool")), "{read}");
    }

    // Every run wrote a manifest and a marker next to its files, and nothing else is there.
    let keys = s.bucket.keys().await;
    assert_eq!(keys.iter().filter(|k| k.ends_with("/_SUCCESS")).count(), 6, "{keys:?}");
    assert_eq!(keys.iter().filter(|k| k.ends_with("/_manifest.json")).count(), 6);
    assert_eq!(keys.len(), 18, "{keys:?}");
}

#[tokio::test]
async fn moto_gets_every_format_from_both_platforms() {
    every_format_from_both_platforms(Store::Moto).await;
}

#[tokio::test]
async fn azurite_gets_every_format_from_both_platforms() {
    every_format_from_both_platforms(Store::Azurite).await;
}

#[tokio::test]
async fn fake_gcs_gets_every_format_from_both_platforms() {
    every_format_from_both_platforms(Store::FakeGcs).await;
}

#[tokio::test]
async fn the_default_storage_gets_every_format_from_both_platforms() {
    every_format_from_both_platforms(Store::Default).await;
}

/// PostgreSQL's own types keep their Parquet logical types: integer widths, DECIMAL(p,s), doubles, dates,
/// timestamps with and without zone; types byob has no form for arrive as text.
#[tokio::test]
async fn parquet_keeps_postgresql_types() {
    let s = setup(Store::Moto).await;
    let mut pg = sqlx::PgConnection::connect(&s.pg_url).await.unwrap();
    use sqlx::Connection as _;
    sqlx::raw_sql(
        "CREATE TABLE typed (i2 smallint, i4 integer, i8 bigint, f8 double precision, n numeric(38,18), nb numeric, \
         b boolean, d date, ts timestamp, tz timestamptz, t text, j jsonb);
         SET TIME ZONE 'Asia/Kolkata';
         INSERT INTO typed VALUES (-32768, 2147483647, -9223372036854775808, 0.1, \
           '-99999999999999999999.999999999999999999', 123456789012345678901234567890.5, true, '0001-01-01', \
           '2024-02-29 23:59:59.999999', '2024-01-01 05:30:00', 'é \"x\"', '{\"a\": [1, 2]}'),
           (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);",
    )
    .execute(&mut pg)
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run =
        run_ok(&s, json!({ "connection": "pg", "table": "typed", "format": "parquet", "compression": "zstd" })).await;
    let (paths, _) = fetch(&s, &run, dir.path()).await;
    let read = read_with_python("parquet", &paths);
    assert_eq!(
        read["schema"],
        json!([
            "i2:int16",
            "i4:int32",
            "i8:int64",
            "f8:double",
            "n:decimal128(38, 18)",
            "nb:string",
            "b:bool",
            "d:date32[day]",
            "ts:timestamp[us]",
            "tz:timestamp[us, tz=UTC]",
            "t:string",
            "j:string"
        ])
    );
    assert_eq!(
        read["rows"][0],
        json!([
            "-32768",
            "2147483647",
            "-9223372036854775808",
            "0.1",
            "-99999999999999999999.999999999999999999",
            "123456789012345678901234567890.5",
            "True",
            "0001-01-01",
            "2024-02-29T23:59:59.999999",
            "2024-01-01T00:00:00+00:00",
            "é \"x\"",
            "{\"a\": [1, 2]}"
        ])
    );
    assert!(read["rows"][1].as_array().unwrap().iter().all(Value::is_null));

    // The same table as CSV: every value in plain notation.
    let run = run_ok(&s, json!({ "connection": "pg", "table": "typed" })).await;
    let (_, bytes) = fetch(&s, &run, dir.path()).await;
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "i2,i4,i8,f8,n,nb,b,d,ts,tz,t,j\n\
         -32768,2147483647,-9223372036854775808,0.1,-99999999999999999999.999999999999999999,\
         123456789012345678901234567890.5,true,0001-01-01,2024-02-29T23:59:59.999999,2024-01-01T00:00:00Z,\
         \"é \"\"x\"\"\",\"{\"\"a\"\": [1, 2]}\"\n\
         ,,,,,,,,,,,\n"
    );
}

/// Split by rows, compressed: each file is whole, the manifest lists them with their hashes, and `_SUCCESS`
/// comes last.
#[tokio::test]
async fn split_files_and_their_manifest() {
    let s = setup(Store::Moto).await;
    let body = json!({
        "connection": "pg", "query": "SELECT * FROM src ORDER BY id", "format": "csv", "compression": "gzip",
        "options": { "max_rows_per_file": 2, "line_ending": "crlf", "null_value": "NULL" },
        "path_template": "out/{{export}}/{{date}}/{{run_id}}/part-{{part}}.csv.gz",
    });
    let (created, run) = export(&s.app, &s.org, &s.member, body).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    let export_id = created["export"]["id"].as_str().unwrap();
    let files = run["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files.iter().map(|f| f["rows"].as_u64().unwrap()).collect::<Vec<_>>(), [2, 2, 1]);
    let folder = format!("out/{export_id}/{}/{}", s.app.clock_now().format("%Y-%m-%d"), run["id"].as_str().unwrap());
    assert_eq!(files[0]["key"], format!("{folder}/part-00001.csv.gz"));
    assert_eq!(run["manifest_key"], format!("{folder}/_manifest.json"));

    let manifest: Value = serde_json::from_slice(&s.bucket.read(&format!("{folder}/_manifest.json")).await).unwrap();
    assert_eq!(manifest["rows"], 5);
    assert_eq!(manifest["files"], run["files"]);
    assert_eq!(manifest["schema"][2], json!({ "name": "amount", "type": "decimal", "precision": null, "scale": null }));
    assert!(manifest["query_fingerprint"].as_str().unwrap().starts_with("sha256:"));
    assert!(manifest["started_at"].is_string() && manifest["finished_at"].is_string());
    assert_eq!(s.bucket.read(&format!("{folder}/_SUCCESS")).await, b"");

    let mut text = String::new();
    for f in files {
        let gz = s.bucket.read(f["key"].as_str().unwrap()).await;
        use std::io::Read as _;
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).unwrap();
    }
    assert!(text.starts_with("id,name,amount,day,at,flag\r\n1,plain,12.50,"), "{text}");
    assert!(text.contains("4,unicode é 中文 🎉,NULL,2000-02-29,NULL,true\r\n"), "{text}");
}

/// A query that fails after several files were complete: the run fails with the platform's reason, and no
/// file, manifest or marker of it remains.
#[tokio::test]
async fn a_failed_run_leaves_nothing() {
    let s = setup(Store::Moto).await;
    let body = json!({
        "connection": "pg", "format": "csv", "options": { "max_rows_per_file": 1000 },
        "query": "SELECT x, 1 / (50000 - x) AS boom FROM generate_series(1, 60000) AS x",
    });
    let (_, run) = export(&s.app, &s.org, &s.member, body).await;
    assert_eq!(run["state"], "failed", "{run}");
    assert_eq!(run["error"]["code"], "export-query-failed", "{run}");
    assert!(run["error"]["message"].as_str().unwrap().contains("division by zero"), "{run}");
    assert_eq!(run["files"], json!([]));
    assert_eq!(s.bucket.keys().await, Vec::<String>::new(), "nothing of the failed run is left");
    let events =
        s.app.call("GET", &format!("/v1/orgs/{}/events?type=export-failed", s.org), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(events.body.as_array().map_or(0, Vec::len), 1, "{:?}", events.body);
}

/// A PostgreSQL query that would change data through a `WITH` is refused at run time as a write, and changes
/// nothing.
#[tokio::test]
async fn a_data_modifying_with_is_refused_as_a_write() {
    let s = setup(Store::Moto).await;
    let body = json!({ "connection": "pg", "query": "WITH gone AS (DELETE FROM src RETURNING *) SELECT * FROM gone" });
    let (_, run) = export(&s.app, &s.org, &s.member, body).await;
    assert_eq!(run["state"], "failed", "{run}");
    assert_eq!(run["error"]["code"], "export-query-failed", "{run}");
    let message = run["error"]["message"].as_str().unwrap();
    assert!(message.contains("exports only read"), "{message}");
    let run = run_ok(&s, json!({ "connection": "pg", "table": "src" })).await;
    assert_eq!(run["rows"], 5, "the table is intact");
}

/// Split by size: every file but the last reaches the limit, none is far over it, and together they hold every
/// row once.
#[tokio::test]
async fn split_by_bytes() {
    let s = setup(Store::Azurite).await;
    let body = json!({
        "connection": "pg", "format": "csv", "options": { "max_bytes_per_file": 1_048_576 },
        "query": "SELECT x, md5(x::text) AS h FROM generate_series(1, 60000) AS x ORDER BY x",
    });
    let (_, run) = export(&s.app, &s.org, &s.member, body).await;
    assert_eq!(run["state"], "succeeded", "{run}");
    let files = run["files"].as_array().unwrap();
    assert!(files.len() >= 2, "{run}");
    for f in &files[..files.len() - 1] {
        let bytes = f["bytes"].as_u64().unwrap();
        assert!((1_048_576..1_048_576 + 1_000_000).contains(&bytes), "{f}");
    }
    let dir = tempfile::tempdir().unwrap();
    let (paths, _) = fetch(&s, &run, dir.path()).await;
    let rows = read_with_python("csv", &paths);
    let data: Vec<&Value> = rows.as_array().unwrap().iter().filter(|r| r[0] != "x").collect();
    assert_eq!(data.len(), 60_000);
    assert_eq!(data[59_999][0], "60000");
    assert_eq!(rows.as_array().unwrap().len(), 60_000 + files.len(), "each file has its header");
}

/// Cancelled while running: the run ends `cancelled` at its next progress report, its open upload is aborted
/// and its finished files deleted, so the bucket is left empty.
#[tokio::test]
async fn a_cancelled_run_leaves_nothing() {
    let s = setup(Store::Moto).await;
    let body = json!({
        "connection": "pg", "format": "csv", "options": { "max_rows_per_file": 200_000 },
        "query": "SELECT x, md5(x::text) AS h FROM generate_series(1, 5000000) AS x",
    });
    let created = s.app.call("POST", &format!("/v1/orgs/{}/exports", s.org), Some(&s.member), Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let export = created.body["export"]["id"].as_str().unwrap().to_string();
    let run = created.body["run"]["id"].as_str().unwrap().to_string();
    let runner = s.app.services.runner.clone();
    let worker = tokio::spawn(async move { runner.run_one().await.unwrap() });
    let job_path = format!("/v1/orgs/{}/jobs/{run}", s.org);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let job = s.app.call("GET", &job_path, Some(&s.member), None).await.body;
        if job["progress"]["rows_done"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline && job["state"] != "succeeded", "{job}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let cancel = s.app.call("POST", &format!("{job_path}/cancel"), Some(&s.member), None).await;
    assert_eq!(cancel.status, 200, "{:?}", cancel.body);
    worker.await.unwrap();
    let ended =
        s.app.call("GET", &format!("/v1/orgs/{}/exports/{export}/runs/{run}", s.org), Some(&s.member), None).await.body;
    assert_eq!(ended["state"], "cancelled", "{ended}");
    assert_eq!(ended["files"], json!([]));
    assert_eq!(s.bucket.keys().await, Vec::<String>::new(), "nothing of the cancelled run is left");
    assert_eq!(byob_testkit::exports::open_multipart_uploads(&s.bucket.name).await, 0);
}
