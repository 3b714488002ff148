//! A fake of Trino's client protocol (`POST /v1/statement`, then `nextUri` pages), in process, over the
//! [`SqlFake`] engine: every statement is queued first, its columns come on a page of their own before any
//! rows, rows come in pages of `page_rows`, the first follow-up of each statement is answered 503 (which Trino's
//! clients must retry), and values are JSON as Trino sends them (numbers and booleans as JSON, decimals, dates
//! and timestamps as text). Headers each statement came with are kept for tests to check.

use std::{collections::HashMap, sync::Arc};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::sql_fake::{Dialect, FakeColumn, Outcome, SqlFake};

pub struct FakeTrino {
    pub port: u16,
    /// The catalog the fake serves (`iceberg`), with the schema `default`.
    pub catalog: String,
    pub engine: Arc<SqlFake>,
    /// The `X-Trino-*` headers of every statement, in order.
    pub headers: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

struct Stored {
    outcome: Result<Outcome, String>,
    retried: bool,
}

struct Fake {
    engine: Arc<SqlFake>,
    url: String,
    page_rows: usize,
    statements: Mutex<HashMap<String, Stored>>,
    headers: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

impl FakeTrino {
    pub async fn start(page_rows: usize) -> Self {
        let engine = Arc::new(SqlFake::start(Dialect::Trino, "iceberg", "default").await);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let port = listener.local_addr().expect("an address").port();
        let headers = Arc::new(Mutex::new(Vec::new()));
        let fake = Arc::new(Fake {
            engine: engine.clone(),
            url: format!("http://127.0.0.1:{port}"),
            page_rows: page_rows.max(1),
            statements: Mutex::new(HashMap::new()),
            headers: headers.clone(),
        });
        let app = Router::new()
            .route("/v1/statement", post(submit))
            .route("/v1/statement/executing/{id}/{page}", get(page).delete(cancel))
            .layer(axum::extract::DefaultBodyLimit::max(16 << 20))
            .with_state(fake);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { port, catalog: "iceberg".into(), engine, headers }
    }
}

fn trino_type(c: &FakeColumn) -> String {
    match c.pg_type.as_str() {
        "INT8" => "bigint".into(),
        "INT4" => "integer".into(),
        "INT2" => "smallint".into(),
        "FLOAT8" => "double".into(),
        "FLOAT4" => "real".into(),
        "NUMERIC" => format!("decimal({},{})", c.precision.unwrap_or(38), c.scale.unwrap_or(0)),
        "BOOL" => "boolean".into(),
        "DATE" => "date".into(),
        "TIMESTAMP" => "timestamp(6)".into(),
        "TIMESTAMPTZ" => "timestamp(6) with time zone".into(),
        _ => "varchar".into(),
    }
}

/// A value as Trino's JSON carries it.
fn trino_value(c: &FakeColumn, value: Option<&String>) -> Value {
    let Some(v) = value else { return Value::Null };
    match c.pg_type.as_str() {
        "INT2" | "INT4" | "INT8" => v.parse::<i64>().map_or(Value::Null, Value::from),
        "FLOAT4" | "FLOAT8" => v.parse::<f64>().map_or_else(|_| Value::from(v.clone()), Value::from),
        "BOOL" => Value::from(v == "true"),
        "TIMESTAMP" => Value::from(v.replacen('T', " ", 1)),
        "TIMESTAMPTZ" => Value::from(format!("{} UTC", v.replacen('T', " ", 1).trim_end_matches('Z'))),
        _ => Value::from(v.clone()),
    }
}

async fn submit(State(fake): State<Arc<Fake>>, headers: HeaderMap, body: String) -> Response {
    let seen: HashMap<String, String> = headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("x-trino-"))
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let Some(user) = seen.get("x-trino-user").cloned() else {
        return (StatusCode::BAD_REQUEST, "User must be set").into_response();
    };
    let schema = seen.get("x-trino-schema").cloned().unwrap_or_else(|| "default".into());
    fake.headers.lock().await.push(seen);
    let _ = user;
    // Trino's `query.max-length` default.
    let outcome = if body.chars().count() > 1_000_000 {
        Err(format!("Query text length ({}) exceeds the maximum length (1000000)", body.chars().count()))
    } else {
        fake.engine.run(&body, &schema).await
    };
    let id = format!("20261201_{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
    fake.statements.lock().await.insert(id.clone(), Stored { outcome, retried: false });
    Json(json!({
        "id": id,
        "infoUri": format!("{}/ui/query.html?{id}", fake.url),
        "nextUri": format!("{}/v1/statement/executing/{id}/0", fake.url),
        "stats": { "state": "QUEUED" },
    }))
    .into_response()
}

async fn page(State(fake): State<Arc<Fake>>, Path((id, page)): Path<(String, usize)>) -> Response {
    let mut statements = fake.statements.lock().await;
    let Some(stored) = statements.get_mut(&id) else {
        return (StatusCode::NOT_FOUND, "no such query").into_response();
    };
    if !stored.retried {
        stored.retried = true;
        return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
    }
    let next = |n: usize| format!("{}/v1/statement/executing/{id}/{n}", fake.url);
    let outcome = match &stored.outcome {
        Ok(outcome) => outcome,
        Err(message) => {
            return Json(json!({ "id": id, "stats": { "state": "FAILED" }, "error": {
                "message": message, "errorCode": 1, "errorName": "GENERIC_USER_ERROR", "errorType": "USER_ERROR" } }))
            .into_response();
        }
    };
    if outcome.columns.is_empty() {
        return Json(json!({ "id": id, "stats": { "state": "FINISHED" }, "updateType": "UPDATE",
                            "updateCount": outcome.affected }))
        .into_response();
    }
    let columns: Vec<Value> = outcome
        .columns
        .iter()
        .map(|c| json!({ "name": c.name, "type": trino_type(c), "typeSignature": { "rawType": trino_type(c) } }))
        .collect();
    // Page 0 says the columns only; page n (from 1) holds the n-th slice of rows.
    let mut reply = json!({ "id": id, "columns": columns, "stats": { "state": "RUNNING" } });
    if page == 0 {
        reply["nextUri"] = json!(next(1));
        return Json(reply).into_response();
    }
    let start = ((page - 1) * fake.page_rows).min(outcome.rows.len());
    let end = (start + fake.page_rows).min(outcome.rows.len());
    let data: Vec<Value> = outcome.rows[start..end]
        .iter()
        .map(|row| Value::Array(outcome.columns.iter().zip(row).map(|(c, v)| trino_value(c, v.as_ref())).collect()))
        .collect();
    if !data.is_empty() {
        reply["data"] = Value::Array(data);
    }
    if end < outcome.rows.len() {
        reply["nextUri"] = json!(next(page + 1));
    } else {
        reply["stats"]["state"] = json!("FINISHED");
    }
    Json(reply).into_response()
}

async fn cancel(State(fake): State<Arc<Fake>>, Path((id, _)): Path<(String, usize)>) -> StatusCode {
    fake.statements.lock().await.remove(&id);
    StatusCode::NO_CONTENT
}
