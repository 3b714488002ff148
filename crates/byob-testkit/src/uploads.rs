//! What upload tests share: a deterministic CSV with every awkward kind of value, a client that sends a file
//! the way a browser does (plain HTTP PUTs to the URLs of byob's plan), and checksums of loaded tables that
//! ignore how each platform stores a type.

use std::fmt::Write as _;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The sample's header and its types.
pub const SAMPLE_HEADER: &str = "id,name,amount,day,at,flag,note\n";

/// A CSV of about `target_bytes` bytes: integers, text with quotes, commas, newlines and unicode, exact
/// decimals, dates, timestamps with zones, booleans, and NULLs (empty fields). Returns the file and the
/// checksum of its rows in canonical form (see [`canonical_row`]).
#[must_use]
pub fn sample_csv(target_bytes: usize) -> (Vec<u8>, String) {
    let mut out = String::with_capacity(target_bytes + 256);
    out.push_str(SAMPLE_HEADER);
    let mut hasher = Sha256::new();
    let mut id: u64 = 0;
    while out.len() < target_bytes {
        id += 1;
        let name = match id % 5 {
            0 => format!("Smith, \"Bob\" #{id}"),
            1 => format!("línea {id}\nsegunda"),
            2 => format!("plain{id}"),
            3 => format!("日本 {id}"),
            _ => format!("tab\there {id}"),
        };
        let amount = format!("{}{}.{:02}", if id.is_multiple_of(7) { "-" } else { "" }, id * 37 % 100_000, id % 100);
        let day = format!("2024-{:02}-{:02}", id % 12 + 1, id % 28 + 1);
        let at = format!("2024-03-{:02}T{:02}:{:02}:{:02}Z", id % 28 + 1, id % 24, id % 60, (id * 7) % 60);
        let flag = if id.is_multiple_of(2) { "true" } else { "false" };
        let note = if id.is_multiple_of(3) { None } else { Some(format!("n{}", id % 1000)) };
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        let _ = writeln!(out, "{id},{quoted},{amount},{day},{at},{flag},{}", note.clone().unwrap_or_default());
        hasher.update(canonical_row(&[
            Some(id.to_string()),
            Some(name),
            Some(amount),
            Some(day),
            Some(at),
            Some(flag.to_string()),
            note,
        ]));
    }
    (out.into_bytes(), hex(&hasher.finalize()))
}

/// One row as checksummed: fields joined by the unit separator, NULL as `\N`, ended by the record separator.
#[must_use]
pub fn canonical_row(fields: &[Option<String>]) -> Vec<u8> {
    let mut row = fields.iter().map(|f| f.clone().unwrap_or_else(|| "\\N".into())).collect::<Vec<_>>().join("\u{1f}");
    row.push('\u{1e}');
    row.into_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The checksum of the sample table as loaded into the embedded SQLite warehouse.
pub async fn sqlite_sample_checksum(warehouse: &std::path::Path, table: &str) -> (u64, String) {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", warehouse.display())).await.unwrap();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, name, amount, day, at, CASE WHEN flag THEN 'true' ELSE 'false' END AS flag, \
         note FROM \"{table}\" ORDER BY id"
    )))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut hasher = Sha256::new();
    for r in &rows {
        let at: String = r.get("at");
        hasher.update(canonical_row(&[
            Some(r.get::<i64, _>("id").to_string()),
            Some(r.get("name")),
            Some(r.get("amount")),
            Some(r.get("day")),
            Some(at),
            Some(r.get("flag")),
            r.get("note"),
        ]));
    }
    (rows.len() as u64, hex(&hasher.finalize()))
}

/// The checksum of the sample table as loaded into PostgreSQL.
pub async fn postgres_sample_checksum(url: &str, table: &str) -> (u64, String) {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, name, amount::text AS amount, day::text AS day, \
         to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS at, \
         CASE WHEN flag THEN 'true' ELSE 'false' END AS flag, note FROM \"{table}\" ORDER BY id"
    )))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut hasher = Sha256::new();
    for r in &rows {
        hasher.update(canonical_row(&[
            Some(r.get::<i64, _>("id").to_string()),
            Some(r.get("name")),
            Some(r.get("amount")),
            Some(r.get("day")),
            Some(r.get("at")),
            Some(r.get("flag")),
            r.get("note"),
        ]));
    }
    (rows.len() as u64, hex(&hasher.finalize()))
}

/// Sends `bytes` as byob's plan says, with plain HTTP like a browser: every part to its URL with the headers
/// given (in parallel unless the plan is sequential). Returns the body for `…/complete`.
pub async fn send_parts(plan: &Value, bytes: &[u8]) -> Value {
    let http = reqwest::Client::new();
    let parts = plan["parts"].as_array().expect("parts").clone();
    let send = |part: Value| {
        let http = http.clone();
        let offset = part["offset"].as_u64().unwrap() as usize;
        let length = part["length"].as_u64().unwrap() as usize;
        let body = bytes[offset..offset + length].to_vec();
        async move {
            let mut request = http.put(part["url"].as_str().unwrap()).body(body);
            for (name, value) in part["headers"].as_object().unwrap() {
                request = request.header(name, value.as_str().unwrap());
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            assert!(
                status < 300 || status == 308,
                "part {}: {status} {:?}",
                part["part_number"],
                response.text().await
            );
            let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            json!({ "part_number": part["part_number"], "etag": etag })
        }
    };
    let completed = if plan["sequential"].as_bool().unwrap_or(false) {
        let mut done = Vec::new();
        for part in parts {
            done.push(send(part).await);
        }
        done
    } else {
        futures::future::join_all(parts.into_iter().map(send)).await
    };
    json!({ "parts": completed })
}

/// Every row of a table with columns `id, name, amount, day`, as text in id order: in the embedded warehouse
/// at `sqlite_path`, or in PostgreSQL at `pg_url`.
pub async fn table_dump(sqlite_path: Option<&std::path::Path>, pg_url: &str, table: &str) -> String {
    use sqlx::{Connection, Row};
    if let Some(path) = sqlite_path {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT group_concat(quote(id) || ',' || quote(name) || ',' || quote(amount) || ',' || quote(day), '|') \
             AS d FROM (SELECT * FROM \"{table}\" ORDER BY id)"
        )))
        .fetch_one(&mut conn)
        .await
        .unwrap();
        row.get("d")
    } else {
        let mut conn = sqlx::PgConnection::connect(pg_url).await.unwrap();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT string_agg(t::text, '|' ORDER BY id) AS d FROM \"{table}\" t"
        )))
        .fetch_one(&mut conn)
        .await
        .unwrap();
        row.get("d")
    }
}

/// The sample table's rows in MariaDB (as [`sample_csv`] wrote them), counted and hashed like
/// [`postgres_sample_checksum`].
pub async fn mysql_sample_checksum(url: &str, table: &str) -> (u64, String) {
    let rows = crate::mysql_rows(
        url,
        &format!(
            "SELECT id, name, CAST(amount AS CHAR), CAST(day AS CHAR), DATE_FORMAT(at, '%Y-%m-%dT%H:%i:%sZ'), \
             IF(flag, 'true', 'false'), note FROM `{table}` ORDER BY id"
        ),
    )
    .await;
    let mut hasher = Sha256::new();
    for row in &rows {
        hasher.update(canonical_row(row));
    }
    (rows.len() as u64, hex(&hasher.finalize()))
}

/// The test table's rows in MariaDB as one string (id, name, amount, day), to see that a failed load changed
/// nothing.
pub async fn mysql_table_dump(url: &str, table: &str) -> String {
    let rows = crate::mysql_rows(url, &format!("SELECT id, name, amount, day FROM `{table}` ORDER BY id")).await;
    format!("{rows:?}")
}

/// An S3 integration on moto serving uploads (static keys: moto outside auth mode accepts any).
#[must_use]
pub fn moto_uploads_integration(bucket: &str, prefix: &str) -> Value {
    crate::integrations::integration_body(crate::integrations::Access::Moto, "customer", bucket, prefix, &["uploads"])
}

/// An Azurite integration named `name` on `container` (prefix `prefix`) reached with the account SAS `sas`,
/// serving `features`.
pub fn azurite_sas_integration(name: &str, container: &str, prefix: &str, sas: &str, features: Value) -> Value {
    json!({
        "name": name, "provider": "azure", "bucket": container, "prefix": prefix,
        "endpoint": crate::server_env("BYOB_TEST_AZURE_ENDPOINT"), "features": features,
        "credentials": { "mode": "azure_sas", "account": crate::buckets::AZURITE_ACCOUNT, "sas_token": sas },
    })
}

/// Creates the integration (as the operator), checks it was accepted, and returns its id.
pub async fn create_integration(app: &crate::TestApp, org: &str, body: Value) -> String {
    let created =
        app.call("POST", &format!("/v1/orgs/{org}/integrations"), Some(crate::app::OPERATOR_TOKEN), Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    created.id()
}

/// A PostgreSQL connection named `pg` to the database at `pg_url` (as the operator), open to members: the tests
/// using it are about loads and exports, not about what members may do (`connection_access.rs` is).
pub async fn create_pg_connection(app: &crate::TestApp, org: &str, pg_url: &str) {
    let open = json!({ "append": "any", "replace": "any", "run_queries": true });
    create_pg_connection_with(app, org, pg_url, open).await;
}

/// A PostgreSQL connection named `pg` with the given member access (`{}` for the defaults).
pub async fn create_pg_connection_with(app: &crate::TestApp, org: &str, pg_url: &str, member_access: Value) {
    let url = url::Url::parse(pg_url).unwrap();
    let body = json!({
        "name": "pg", "platform": "postgres", "host": url.host_str().unwrap(), "port": url.port().unwrap(),
        "database": url.path().trim_start_matches('/'), "user": url.username(), "tls": "disable",
        "member_access": member_access,
    });
    let created =
        app.call("POST", &format!("/v1/orgs/{org}/connections"), Some(crate::app::OPERATOR_TOKEN), Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
}

/// A Redshift connection named `rs` to the database at `pg_url`: PostgreSQL stands in for Redshift (no
/// emulator exists), so byob's Redshift module — its `INSERT` loads, row-reading exports and transactions — runs
/// against a real server speaking the same wire. Open to members like `pg`.
pub async fn create_redshift_connection(app: &crate::TestApp, org: &str, pg_url: &str, iam_role: Option<&str>) {
    let url = url::Url::parse(pg_url).unwrap();
    let mut body = json!({
        "name": "rs", "platform": "redshift", "host": url.host_str().unwrap(), "port": url.port().unwrap(),
        "database": url.path().trim_start_matches('/'), "user": url.username(), "tls": "disable",
        "member_access": { "append": "any", "replace": "any", "run_queries": true },
    });
    if let Some(role) = iam_role {
        body["iam_role"] = json!(role);
    }
    let created =
        app.call("POST", &format!("/v1/orgs/{org}/connections"), Some(crate::app::OPERATOR_TOKEN), Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["platform"], "redshift");
}

/// `base` with `changes` applied: each member set, or removed when `null`.
#[must_use]
pub fn with_changes(base: &Value, changes: &Value) -> Value {
    let mut body = base.clone();
    if let (Some(body), Some(changes)) = (body.as_object_mut(), changes.as_object()) {
        for (k, v) in changes {
            if v.is_null() {
                body.remove(k);
            } else {
                body.insert(k.clone(), v.clone());
            }
        }
    }
    body
}

/// Asks the operator to create a connection from `base` changed by each case, and checks each is refused with
/// 422 naming the case's field and rule.
pub async fn assert_connection_refusals(app: &crate::TestApp, org: &str, base: &Value, cases: &[(Value, &str, &str)]) {
    let url = format!("/v1/orgs/{org}/connections");
    for (changes, field, rule) in cases {
        let refused = app.call("POST", &url, Some(crate::app::OPERATOR_TOKEN), Some(with_changes(base, changes))).await;
        assert_eq!(refused.status, 422, "{changes}: {:?}", refused.body);
        assert_eq!(
            (refused.body["field"].as_str(), refused.body["rule"].as_str()),
            (Some(*field), Some(*rule)),
            "{changes}: {:?}",
            refused.body
        );
    }
}

/// A Databricks connection named `dbx` to the test kit's fake of the Statement Execution API, open to members
/// like `pg`.
pub async fn create_databricks_connection(
    app: &crate::TestApp,
    org: &str,
    fake: &crate::fake_databricks::FakeDatabricks,
) {
    let body = json!({
        "name": "dbx", "platform": "databricks", "host": "127.0.0.1", "port": fake.port, "tls": "disable",
        "http_path": fake.http_path(), "catalog": fake.catalog, "password": fake.token,
        "member_access": { "append": "any", "replace": "any", "run_queries": true },
    });
    let created =
        app.call("POST", &format!("/v1/orgs/{org}/connections"), Some(crate::app::OPERATOR_TOKEN), Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["platform"], "databricks");
}

/// A Trino connection named `trino` to the test kit's fake of its protocol (user `byob`, no password over plain
/// HTTP), open to members like `pg`; `external_catalog` for loads Trino pulls.
pub async fn create_trino_connection(
    app: &crate::TestApp,
    org: &str,
    fake: &crate::fake_trino::FakeTrino,
    external_catalog: Option<&str>,
) {
    let mut body = json!({
        "name": "trino", "platform": "trino", "host": "127.0.0.1", "port": fake.port, "tls": "disable",
        "catalog": fake.catalog, "user": "byob",
        "member_access": { "append": "any", "replace": "any", "run_queries": true },
    });
    if let Some(catalog) = external_catalog {
        body["external_catalog"] = json!(catalog);
    }
    let created =
        app.call("POST", &format!("/v1/orgs/{org}/connections"), Some(crate::app::OPERATOR_TOKEN), Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["platform"], "trino");
}

/// A BigQuery connection named `bq` to `dataset` on the stand-in (bqemulator), with a throwaway service account
/// key, open to members like `pg`.
pub async fn create_bigquery_connection(app: &crate::TestApp, org: &str, dataset: &str) {
    let endpoint = url::Url::parse(&crate::server_env("BYOB_TEST_BIGQUERY_ENDPOINT")).unwrap();
    let body = json!({
        "name": "bq", "platform": "bigquery", "host": endpoint.host_str().unwrap(), "port": endpoint.port().unwrap(),
        "tls": "disable", "project": "byob-test", "dataset": dataset,
        "service_account_key": crate::buckets::gcs_test_key(),
        "member_access": { "append": "any", "replace": "any", "run_queries": true },
    });
    let created =
        app.call("POST", &format!("/v1/orgs/{org}/connections"), Some(crate::app::OPERATOR_TOKEN), Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["platform"], "bigquery");
}

/// A MySQL/MariaDB connection named `maria` to the database at `url` (`mysql://user:password@host:port/db`),
/// created by the operator with the password as a write-only secret, open to members like `pg`.
pub async fn create_mysql_connection(app: &crate::TestApp, org: &str, url: &str) {
    let url = url::Url::parse(url).unwrap();
    let body = json!({
        "name": "maria", "platform": "mariadb", "host": url.host_str().unwrap(), "port": url.port().unwrap(),
        "database": url.path().trim_start_matches('/'), "user": url.username(), "password": url.password(),
        "tls": "prefer", "member_access": { "append": "any", "replace": "any", "run_queries": true },
    });
    let created =
        app.call("POST", &format!("/v1/orgs/{org}/connections"), Some(crate::app::OPERATOR_TOKEN), Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["platform"], "mysql");
    assert!(created.body.get("password").is_none(), "{:?}", created.body);
}

/// A Snowflake connection named `snow` to `database` on the stand-in (fakesnow), open to members like `pg`.
pub async fn create_snowflake_connection(app: &crate::TestApp, org: &str, database: &str) {
    let endpoint = url::Url::parse(&crate::server_env("BYOB_TEST_SNOWFLAKE_ENDPOINT")).unwrap();
    let body = json!({
        "name": "snow", "platform": "snowflake", "account": "byob-test", "host": endpoint.host_str().unwrap(),
        "port": endpoint.port().unwrap(), "tls": "disable", "database": database, "user": "byob",
        "password": "stand-in", "warehouse": "COMPUTE_WH", "role": "BYOB_LOADER",
        "member_access": { "append": "any", "replace": "any", "run_queries": true },
    });
    let created =
        app.call("POST", &format!("/v1/orgs/{org}/connections"), Some(crate::app::OPERATOR_TOKEN), Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["platform"], "snowflake");
}

/// Starts an upload of `bytes`, sends it as the plan says and completes it; returns the upload id.
pub async fn upload_bytes(app: &crate::TestApp, org: &str, token: &str, name: &str, bytes: &[u8]) -> String {
    let body = json!({ "filename": name, "size": bytes.len(), "content_type": "text/csv" });
    let plan = app.call("POST", &format!("/v1/orgs/{org}/uploads"), Some(token), Some(body)).await;
    assert_eq!(plan.status, 201, "{:?}", plan.body);
    let id = plan.body["upload"]["id"].as_str().unwrap().to_string();
    let completion = if plan.body["method"] == "relay" {
        relay_parts(app, org, &id, &plan.body, bytes).await
    } else {
        send_parts(&plan.body, bytes).await
    };
    let done = app.call("POST", &format!("/v1/orgs/{org}/uploads/{id}/complete"), Some(token), Some(completion)).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["state"], "uploaded");
    id
}

/// Sends `bytes` through byob itself, part by part, for a plan whose method is `relay` (a store with no URLs):
/// in-process, with each part's token, as the relay route does. Returns the body for `…/complete`.
pub async fn relay_parts(app: &crate::TestApp, org: &str, upload: &str, plan: &Value, bytes: &[u8]) -> Value {
    let mut done = Vec::new();
    for part in plan["parts"].as_array().expect("parts") {
        let url = url::Url::parse(part["url"].as_str().unwrap()).unwrap();
        let token = url.query_pairs().find(|(k, _)| k == "token").unwrap().1.into_owned();
        let offset = part["offset"].as_u64().unwrap() as usize;
        let length = part["length"].as_u64().unwrap() as usize;
        let chunk = bytes::Bytes::copy_from_slice(&bytes[offset..offset + length]);
        let number = u32::try_from(part["part_number"].as_u64().unwrap()).unwrap();
        let etag = app
            .services
            .uploads
            .relay_part(
                org.parse().unwrap(),
                upload.parse().unwrap(),
                number,
                &token,
                futures::stream::iter([Ok::<_, String>(chunk)]),
            )
            .await
            .unwrap();
        done.push(json!({ "part_number": number, "etag": etag }));
    }
    json!({ "parts": done })
}

/// Asks for a load (`POST …/uploads/{upload}/load`) without running the queue.
pub async fn start_load(app: &crate::TestApp, org: &str, token: &str, upload: &str, body: Value) -> crate::app::Reply {
    app.call("POST", &format!("/v1/orgs/{org}/uploads/{upload}/load"), Some(token), Some(body)).await
}

/// Starts a load and runs the queue in-process until it is empty: `Ok(job)` once it ended, or `Err` with the
/// status and problem when the request was refused.
pub async fn try_load(
    app: &crate::TestApp,
    org: &str,
    token: &str,
    upload: &str,
    body: Value,
) -> Result<Value, (u16, Value)> {
    let started = start_load(app, org, token, upload, body).await;
    if started.status != 202 {
        return Err((started.status, started.body));
    }
    while app.services.runner.run_one().await.unwrap().is_some() {}
    let job = app.call("GET", &format!("/v1/orgs/{org}/jobs/{}", started.id()), Some(token), None).await;
    assert_eq!(job.status, 200);
    Ok(job.body)
}

/// As [`try_load`], for a request that must be accepted.
pub async fn load(app: &crate::TestApp, org: &str, token: &str, upload: &str, body: Value) -> Value {
    try_load(app, org, token, upload, body)
        .await
        .unwrap_or_else(|(status, problem)| panic!("load refused: {status} {problem}"))
}
