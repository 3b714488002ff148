//! The bad-input corpus: CSV files a real user sends (ragged rows, broken encodings, BOMs, odd line endings,
//! quotes, empty files, bad headers, huge fields, values that do not fit). Each one either loads as
//! docs/uploads.md documents, or gets a precise error; and a failed load into an existing table leaves it
//! exactly as it was, on SQLite, PostgreSQL and MariaDB.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    buckets::{create_s3_bucket, unique_name},
    fresh_mysql_database, fresh_postgres_database,
    uploads::{
        create_integration, create_mysql_connection, create_pg_connection, moto_uploads_integration, mysql_table_dump,
        table_dump, try_load, upload_bytes,
    },
};
use serde_json::{Value, json};

/// What a case must give.
enum Expect {
    /// The load request itself is refused with this status and code.
    Refused(u16, &'static str),
    /// The job fails with this code, its message containing the text; the target table is unchanged.
    Fails(&'static str, &'static str),
    /// The job succeeds with these rows loaded and rejected.
    Loads(u64, u64),
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// Load options beyond connection and table; `mode` defaults to `append` into the baseline table.
    options: Value,
    expect: Expect,
}

const HEADER: &str = "id,name,amount,day\n";

fn csv(rows: &str) -> Vec<u8> {
    format!("{HEADER}{rows}").into_bytes()
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
    for unit in text.encode_utf16() {
        out.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
    }
    out
}

fn create(table: &str) -> Value {
    json!({ "mode": "create", "table": table })
}

#[allow(clippy::too_many_lines)]
fn corpus() -> Vec<Case> {
    let ten_mb = "x".repeat(10 * 1024 * 1024);
    let mut latin1 = HEADER.as_bytes().to_vec();
    latin1.extend(b"7,caf\xE9,1.00,2024-01-01\n");
    let mut bad_utf8_late = HEADER.as_bytes().to_vec();
    bad_utf8_late.extend(b"7,ok,1.00,2024-01-01\n8,bro\xC3\x28ken,2.00,2024-01-02\n");
    vec![
        Case {
            name: "ragged-short-row",
            bytes: csv("7,a,1.5,2024-01-01\n8,b\n"),
            options: json!({}),
            expect: Expect::Fails("bad-row", "line 3: expected 4 fields, found 2"),
        },
        Case {
            name: "ragged-long-row",
            bytes: csv("7,a,1.5,2024-01-01,extra\n"),
            options: json!({}),
            expect: Expect::Fails("bad-row", "line 2: expected 4 fields, found 5"),
        },
        Case {
            name: "ragged-rows-skipped",
            bytes: csv("7,a,1.5,2024-01-01\n8,b\n9,c,2,2024-01-03\n"),
            options: json!({ "mode": "create", "table": "skipped", "on_error": "skip" }),
            expect: Expect::Loads(2, 1),
        },
        Case {
            name: "too-many-bad-rows",
            bytes: csv("7,a\n8,b\n9,c\n10,d,1,2024-01-01\n"),
            options: json!({ "on_error": "skip", "max_bad_rows": 2 }),
            expect: Expect::Fails("too-many-bad-rows", "more than 2 rows"),
        },
        Case {
            name: "latin1-read-as-latin1",
            bytes: latin1.clone(),
            options: create("latin"),
            expect: Expect::Loads(1, 0),
        },
        Case {
            name: "latin1-forced-utf8",
            bytes: latin1,
            options: json!({ "encoding": "utf8" }),
            expect: Expect::Fails("bad-row", "column `name`: the field is not valid UTF-8"),
        },
        Case {
            name: "invalid-utf8-forced",
            bytes: bad_utf8_late,
            options: json!({ "encoding": "utf8" }),
            expect: Expect::Fails("bad-row", "line 3, column `name`"),
        },
        Case {
            name: "utf8-bom",
            bytes: [b"\xEF\xBB\xBF".as_slice(), &csv("7,a,1.5,2024-01-01\n")].concat(),
            options: create("bom"),
            expect: Expect::Loads(1, 0),
        },
        Case {
            name: "utf16le-bom",
            bytes: utf16(&format!("{HEADER}7,ünï,1.5,2024-01-01\n"), false),
            options: create("utf16le"),
            expect: Expect::Loads(1, 0),
        },
        Case {
            name: "utf16be-bom",
            bytes: utf16(&format!("{HEADER}7,ünï,1.5,2024-01-01\n"), true),
            options: create("utf16be"),
            expect: Expect::Loads(1, 0),
        },
        Case {
            name: "mixed-line-endings",
            bytes: b"id,name,amount,day\r\n7,a,1,2024-01-01\n8,b,2,2024-01-02\r9,c,3,2024-01-03\r\n".to_vec(),
            options: create("endings"),
            expect: Expect::Loads(3, 0),
        },
        Case {
            name: "no-final-newline",
            bytes: b"id,name,amount,day\n7,a,1,2024-01-01".to_vec(),
            options: create("nonewline"),
            expect: Expect::Loads(1, 0),
        },
        Case {
            name: "quotes-inside-fields",
            bytes: csv("7,\"say \"\"hi\"\", then, go\",1,2024-01-01\n8,\"two\nlines\",2,2024-01-02\n"),
            options: create("quotes"),
            expect: Expect::Loads(2, 0),
        },
        Case {
            name: "bare-quote-in-unquoted-field",
            bytes: csv("7,5\" screen,1,2024-01-01\n"),
            options: create("barequote"),
            expect: Expect::Loads(1, 0),
        },
        Case {
            name: "unclosed-quote",
            bytes: csv("7,\"abc,1,2024-01-01\n8,b,2,2024-01-02\n"),
            options: json!({}),
            expect: Expect::Fails("bad-row", "line 2: the quote opened on line 2 is never closed"),
        },
        Case {
            // Its field would swallow the rest of the file, with the right number of fields.
            name: "unclosed-quote-at-the-end",
            bytes: b"id,name\n1,\"never closed\n2,b\n".to_vec(),
            options: create("neverclosed"),
            expect: Expect::Fails("bad-row", "the quote opened on line 2 is never closed"),
        },
        Case { name: "empty-file", bytes: Vec::new(), options: json!({}), expect: Expect::Refused(422, "csv-empty") },
        Case {
            // One 256 KiB line of commas: 262,145 columns, refused before any preview or table of that width.
            name: "a-line-of-commas",
            bytes: [vec![b','; 256 * 1024], b"\n".to_vec()].concat(),
            options: json!({}),
            expect: Expect::Refused(422, "csv-too-many-columns"),
        },
        Case {
            name: "blank-lines-only",
            bytes: b"\n\n  \n".to_vec(),
            options: json!({}),
            expect: Expect::Refused(422, "csv-empty"),
        },
        Case {
            name: "header-only",
            bytes: HEADER.as_bytes().to_vec(),
            options: create("headeronly"),
            expect: Expect::Loads(0, 0),
        },
        Case {
            name: "duplicate-column-names",
            bytes: b"id,name,NAME,day\n7,a,b,2024-01-01\n".to_vec(),
            options: json!({}),
            expect: Expect::Refused(422, "csv-column-name"),
        },
        Case {
            name: "blank-column-name",
            bytes: b"id,,amount,day\n7,a,1,2024-01-01\n".to_vec(),
            options: json!({}),
            expect: Expect::Refused(422, "csv-column-name"),
        },
        Case {
            name: "duplicate-renamed",
            bytes: b"id,name,NAME,day\n7,a,b,2024-01-01\n".to_vec(),
            options: json!({ "mode": "create", "table": "renamed", "columns": [{ "position": 3, "name": "name_2" }] }),
            expect: Expect::Loads(1, 0),
        },
        Case {
            name: "ten-megabyte-field",
            bytes: csv(&format!("7,{ten_mb},1,2024-01-01\n")),
            options: create("bigfield"),
            expect: Expect::Loads(1, 0),
        },
        Case {
            name: "integer-overflow",
            bytes: csv("99999999999999999999,a,1,2024-01-01\n"),
            options: json!({}),
            expect: Expect::Fails("bad-row", "column `id`: `99999999999999999999` is outside the 64-bit integer range"),
        },
        Case {
            name: "impossible-date",
            bytes: csv("7,a,1,2024-02-30\n"),
            options: json!({}),
            expect: Expect::Fails("bad-row", "column `day`: `2024-02-30` is not a date"),
        },
        Case {
            name: "decimal-with-exponent",
            bytes: csv("7,a,1e5,2024-01-01\n"),
            options: json!({}),
            expect: Expect::Fails("bad-row", "column `amount`: `1e5` is not a decimal"),
        },
        Case {
            name: "text-in-declared-integer",
            bytes: csv("7,a,1,2024-01-01\nseven,b,2,2024-01-02\n"),
            options: json!({ "columns": [{ "source": "id", "type": "integer" }] }),
            expect: Expect::Fails("bad-row", "line 3, column `id`: `seven` is not an integer"),
        },
        Case {
            name: "null-in-required-column",
            bytes: csv("7,,1,2024-01-01\n"),
            options: json!({ "mode": "create", "table": "required", "columns": [{ "source": "name", "nullable": false }] }),
            expect: Expect::Fails("bad-row", "column `name`: the column does not accept NULL"),
        },
        Case {
            name: "nul-character",
            bytes: csv("7,a\u{0}b,1,2024-01-01\n"),
            options: json!({}),
            expect: Expect::Fails("bad-row", "NUL character"),
        },
        Case {
            name: "semicolons",
            bytes: b"id;name;amount;day\n7;a,b;1.5;2024-01-01\n".to_vec(),
            options: create("semicolons"),
            expect: Expect::Loads(1, 0),
        },
        Case {
            name: "column-not-in-table",
            bytes: b"id,colour\n7,red\n".to_vec(),
            options: json!({}),
            expect: Expect::Fails("column-not-in-table", "`colour` is not in the table"),
        },
        Case {
            name: "create-over-existing",
            bytes: csv("7,a,1,2024-01-01\n"),
            options: create("t"),
            expect: Expect::Fails("table-exists", "already exists"),
        },
        Case {
            name: "append-to-missing",
            bytes: csv("7,a,1,2024-01-01\n"),
            options: json!({ "table": "missing" }),
            expect: Expect::Fails("table-missing", "does not exist"),
        },
        Case {
            name: "bad-table-name",
            bytes: csv("7,a,1,2024-01-01\n"),
            options: json!({ "table": "a.b.c" }),
            expect: Expect::Refused(422, "validation-failed"),
        },
        Case {
            name: "unknown-connection",
            bytes: csv("7,a,1,2024-01-01\n"),
            options: json!({ "connection": "nope" }),
            expect: Expect::Refused(404, "connection-not-found"),
        },
        Case {
            name: "bad-override",
            bytes: csv("7,a,1,2024-01-01\n"),
            options: json!({ "columns": [{ "source": "nope", "type": "integer" }] }),
            expect: Expect::Refused(422, "validation-failed"),
        },
    ]
}

struct Env {
    app: TestApp,
    org: String,
    token: String,
    pg_url: String,
    maria_url: String,
}

async fn env() -> Env {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, token) = app.member_with_token(&org, Role::Member).await;
    let bucket = unique_name("corpus");
    create_s3_bucket(&bucket).await;
    create_integration(&app, &org, moto_uploads_integration(&bucket, "")).await;
    let pg_url = fresh_postgres_database().await;
    create_pg_connection(&app, &org, &pg_url).await;
    let maria_url = fresh_mysql_database().await;
    create_mysql_connection(&app, &org, &maria_url).await;
    Env { app, org, token, pg_url, maria_url }
}

async fn upload(e: &Env, bytes: &[u8]) -> String {
    upload_bytes(&e.app, &e.org, &e.token, "case.csv", bytes).await
}

async fn load(e: &Env, upload: &str, body: Value) -> Result<Value, (u16, Value)> {
    try_load(&e.app, &e.org, &e.token, upload, body).await
}

async fn dump(e: &Env, connection: &str) -> String {
    if connection == "maria" {
        return mysql_table_dump(&e.maria_url, "t").await;
    }
    let path = e.app.warehouse_path(&e.org);
    table_dump((connection == "local").then_some(path.as_path()), &e.pg_url, "t").await
}

async fn run_corpus(connection: &str) {
    let e = env().await;
    let baseline = upload(&e, &csv("1,first,1.10,2024-01-01\n2,\"sec, ond\",-2.50,2024-12-31\n")).await;
    let job = load(&e, &baseline, json!({ "connection": connection, "table": "t" })).await.unwrap();
    assert_eq!(job["state"], "succeeded", "{job}");
    let before = dump(&e, connection).await;
    let cases = corpus();
    assert!(cases.len() >= 25);
    for case in cases {
        let id = upload(&e, &case.bytes).await;
        let mut body = json!({ "connection": connection, "table": "t", "mode": "append" });
        for (k, v) in case.options.as_object().unwrap() {
            body[k] = v.clone();
        }
        let outcome = load(&e, &id, body).await;
        match (&case.expect, outcome) {
            (Expect::Refused(status, code), Err((got, problem))) => {
                assert_eq!((got, problem["code"].as_str().unwrap()), (*status, *code), "{}: {problem}", case.name);
                assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}", case.name);
            }
            (Expect::Fails(code, text), Ok(job)) => {
                assert_eq!(job["state"], "failed", "{}: {job}", case.name);
                assert_eq!(job["error"]["code"], *code, "{}: {}", case.name, job["error"]);
                let message = job["error"]["message"].as_str().unwrap();
                assert!(message.contains(text), "{}: {message}", case.name);
            }
            (Expect::Loads(rows, rejected), Ok(job)) => {
                assert_eq!(job["state"], "succeeded", "{}: {job}", case.name);
                assert_eq!(job["result"]["rows_loaded"], *rows, "{}: {job}", case.name);
                assert_eq!(job["result"]["rows_rejected"], *rejected, "{}: {job}", case.name);
                if *rejected > 0 {
                    assert!(job["result"]["rejected_key"].as_str().unwrap().ends_with("/rejected.csv"));
                }
            }
            (_, other) => panic!("{}: unexpected {other:?}", case.name),
        }
        assert_eq!(dump(&e, connection).await, before, "{}: the baseline table changed", case.name);
    }
}

#[tokio::test]
async fn the_corpus_on_the_embedded_warehouse() {
    run_corpus("local").await;
}

#[tokio::test]
async fn the_corpus_on_postgres() {
    run_corpus("pg").await;
}

#[tokio::test]
async fn the_corpus_on_mariadb() {
    run_corpus("maria").await;
}
