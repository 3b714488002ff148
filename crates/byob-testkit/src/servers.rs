//! Addresses of the real servers the suite runs against.

use sqlx::{Connection, Executor, PgConnection};

/// The value of a `BYOB_TEST_*` variable that `scripts/servers.sh start` exports.
///
/// # Panics
/// When the variable is unset: the servers are not running.
#[must_use]
pub fn server_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: this test needs the real servers. Run `scripts/test.sh`, or start them once with \
             `eval \"$(scripts/servers.sh start)\"` and rerun `cargo nextest run`."
        )
    })
}

/// A new, empty PostgreSQL database for one test, so tests run in parallel without seeing each other.
pub async fn fresh_postgres_database() -> String {
    let admin_url = server_env("BYOB_TEST_POSTGRES_URL");
    let name = format!("byob_t_{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
    let mut conn = PgConnection::connect(&admin_url).await.expect("connect to the test PostgreSQL");
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create a test database");
    conn.close().await.ok();
    match admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("BYOB_TEST_POSTGRES_URL must end with a database name"),
    }
}

/// Settings for the server at `url` (a `BYOB_TEST_*_URL` or a fresh database's), reached as `host` under the
/// network policy `network`, without TLS, schema `public`.
#[must_use]
pub fn server_settings(
    url: &url::Url,
    host: &str,
    network: byob_ports::net::NetworkPolicy,
) -> byob_ports::warehouse::ServerSettings {
    byob_ports::warehouse::ServerSettings {
        host: host.into(),
        port: url.port().expect("the URL names a port"),
        database: url.path().trim_start_matches('/').into(),
        user: url.username().into(),
        password: url.password().map(|p| byob_core::Sensitive::new(p.to_string())),
        tls: byob_core::connection::TlsMode::Disable,
        schema: "public".into(),
        network,
        route: byob_ports::net::route::Route::Direct,
        statement_timeout: std::time::Duration::from_secs(60),
    }
}

/// A table `name` of `rows` rows in the PostgreSQL database at `url`: an id, a hash, a decimal and a timestamp.
pub async fn create_numbered_table(url: &str, name: &str, rows: u64) {
    let mut pg = PgConnection::connect(url).await.expect("connect to the test database");
    let statement = format!(
        "CREATE TABLE {name} AS SELECT g AS id, md5(g::text) AS h, g * 1.25 AS amount, \
         timestamptz '2024-01-01' + g * interval '1 second' AS at FROM generate_series(1, {rows}) AS g"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut pg).await.expect("create the table");
    pg.close().await.ok();
}

/// A new, empty MariaDB database for one test; returns its URL (`mysql://user:password@host:port/database`).
pub async fn fresh_mysql_database() -> String {
    use mysql_async::prelude::Queryable as _;
    let admin_url = server_env("BYOB_TEST_MYSQL_URL");
    let name = format!("byob_t_{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
    let mut conn = mysql_async::Conn::from_url(&admin_url).await.expect("connect to the test MariaDB");
    conn.query_drop(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4")).await.expect("create a test database");
    conn.disconnect().await.ok();
    match admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("BYOB_TEST_MYSQL_URL must end with a database name"),
    }
}

/// Runs one statement on the MariaDB database at `url` and returns its rows as text (NULL as `None`).
pub async fn mysql_rows(url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    use mysql_async::prelude::Queryable as _;
    let mut conn = mysql_async::Conn::from_url(url).await.expect("connect to the test MariaDB");
    let rows: Vec<mysql_async::Row> = conn.query(sql).await.expect("query the test MariaDB");
    conn.disconnect().await.ok();
    rows.into_iter()
        .map(|row| {
            row.unwrap()
                .into_iter()
                .map(|v| match v {
                    mysql_async::Value::NULL => None,
                    mysql_async::Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                    other => Some(other.as_sql(true)),
                })
                .collect()
        })
        .collect()
}

/// Runs one query on the PostgreSQL database at `url` and returns each row as PostgreSQL writes a record
/// (`(1,one)`).
pub async fn postgres_records(url: &str, sql: &str) -> Vec<String> {
    use sqlx::Row as _;
    let mut conn = PgConnection::connect(url).await.expect("connect to the test PostgreSQL");
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT t::text AS r FROM ({sql}) t")))
        .fetch_all(&mut conn)
        .await
        .expect("query the test PostgreSQL");
    rows.iter().map(|r| r.get("r")).collect()
}

/// The tables of one schema of the PostgreSQL database at `url`, by name.
pub async fn postgres_tables(url: &str, schema: &str) -> Vec<String> {
    let sql = format!("SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}' ORDER BY 1");
    let records = postgres_records(url, &sql).await;
    records.into_iter().map(|r| r.trim_matches(['(', ')']).trim_matches('"').to_string()).collect()
}

/// A new, empty dataset in the BigQuery stand-in's project `byob-test` (bqemulator) for one test; returns its
/// name.
pub async fn fresh_bigquery_dataset() -> String {
    let endpoint = server_env("BYOB_TEST_BIGQUERY_ENDPOINT");
    let name = format!("byob_t_{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
    let body = serde_json::json!({ "datasetReference": { "projectId": "byob-test", "datasetId": name } });
    let created = reqwest::Client::new()
        .post(format!("{endpoint}/bigquery/v2/projects/byob-test/datasets"))
        .json(&body)
        .send()
        .await
        .expect("the BigQuery stand-in answers");
    assert!(created.status().is_success(), "create a test dataset: {}", created.status());
    name
}

/// Runs one query on the BigQuery stand-in and returns its rows, each value as BigQuery's REST API gives it.
pub async fn bigquery_rows(sql: &str) -> Vec<Vec<serde_json::Value>> {
    let endpoint = server_env("BYOB_TEST_BIGQUERY_ENDPOINT");
    let body = serde_json::json!({ "query": sql, "useLegacySql": false });
    let reply: serde_json::Value = reqwest::Client::new()
        .post(format!("{endpoint}/bigquery/v2/projects/byob-test/queries"))
        .json(&body)
        .send()
        .await
        .expect("the BigQuery stand-in answers")
        .json()
        .await
        .expect("a JSON answer");
    assert!(reply.get("errors").is_none(), "{sql}: {reply}");
    reply["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| r["f"].as_array().map(|f| f.iter().map(|c| c["v"].clone()).collect()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

/// A new, empty database (with its `PUBLIC` schema) on the Snowflake stand-in (fakesnow) for one test; returns
/// its name.
pub async fn fresh_snowflake_database() -> String {
    let endpoint = server_env("BYOB_TEST_SNOWFLAKE_ENDPOINT");
    let name = format!("BYOB_T_{}", ulid::Ulid::new().to_string());
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{endpoint}/session/v1/login-request"))
        .json(&serde_json::json!({ "data": { "LOGIN_NAME": "byob", "PASSWORD": "test", "SESSION_PARAMETERS": {} } }))
        .send()
        .await
        .expect("log in to fakesnow")
        .json()
        .await
        .expect("fakesnow's login answer");
    let token = login["data"]["token"].as_str().expect("a session token").to_string();
    for sql in [format!("CREATE DATABASE {name}"), format!("CREATE SCHEMA {name}.PUBLIC")] {
        let done: serde_json::Value = http
            .post(format!("{endpoint}/queries/v1/query-request"))
            .header("authorization", format!("Snowflake Token=\"{token}\""))
            .json(&serde_json::json!({ "sqlText": sql }))
            .send()
            .await
            .expect("run a statement on fakesnow")
            .json()
            .await
            .expect("fakesnow's answer");
        assert_eq!(done["success"], true, "{sql}: {done}");
    }
    name
}
