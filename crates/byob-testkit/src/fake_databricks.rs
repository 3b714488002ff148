//! A fake of Databricks SQL's Statement Execution API (`/api/2.0/sql/statements`), in process, over the
//! [`SqlFake`] engine: bearer-token auth, one SQL warehouse id, every statement answered `PENDING` first (so the
//! client polls), results in `JSON_ARRAY` chunks — inline (`next_chunk_internal_link`) or as external links to
//! the fake's own "cloud storage", which refuses any request carrying the workspace token, as real presigned
//! storage URLs must never be sent it.

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

pub struct FakeDatabricks {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub port: u16,
    pub token: String,
    pub warehouse_id: String,
    pub catalog: String,
    pub engine: Arc<SqlFake>,
}

struct Stored {
    outcome: Result<Outcome, String>,
    external: bool,
}

struct Fake {
    engine: Arc<SqlFake>,
    token: String,
    warehouse_id: String,
    chunk_rows: usize,
    url: String,
    statements: Mutex<HashMap<String, Stored>>,
}

impl FakeDatabricks {
    /// A fake workspace with catalog `main` and schema `default`, whose results come in chunks of
    /// `chunk_rows` rows.
    pub async fn start(chunk_rows: usize) -> Self {
        let engine = Arc::new(SqlFake::start(Dialect::Databricks, "main", "default").await);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let port = listener.local_addr().expect("an address").port();
        let url = format!("http://127.0.0.1:{port}");
        let fake = Arc::new(Fake {
            engine: engine.clone(),
            token: "dapi-fake-token".into(),
            warehouse_id: "0123456789abcdef".into(),
            chunk_rows: chunk_rows.max(1),
            url: url.clone(),
            statements: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/api/2.0/sql/statements", post(submit))
            .route("/api/2.0/sql/statements/{id}", get(status))
            .route("/api/2.0/sql/statements/{id}/cancel", post(cancel))
            .route("/api/2.0/sql/statements/{id}/result/chunks/{n}", get(chunk))
            .route("/fake-storage/{id}/{n}", get(storage))
            // Databricks takes statements up to 16 MiB.
            .layer(axum::extract::DefaultBodyLimit::max(16 << 20))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            port,
            token: fake.token.clone(),
            warehouse_id: fake.warehouse_id.clone(),
            catalog: "main".into(),
            engine,
        }
    }

    /// The connection's `http_path`.
    #[must_use]
    pub fn http_path(&self) -> String {
        format!("/sql/1.0/warehouses/{}", self.warehouse_id)
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error_code": code, "message": message }))).into_response()
}

fn authorized(fake: &Fake, headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {}", fake.token))
}

fn type_of(c: &FakeColumn) -> (&'static str, String) {
    match c.pg_type.as_str() {
        "INT2" => ("SHORT", "SMALLINT".into()),
        "INT4" => ("INT", "INT".into()),
        "INT8" => ("LONG", "BIGINT".into()),
        "FLOAT4" => ("FLOAT", "FLOAT".into()),
        "FLOAT8" => ("DOUBLE", "DOUBLE".into()),
        "NUMERIC" => ("DECIMAL", format!("DECIMAL({},{})", c.precision.unwrap_or(38), c.scale.unwrap_or(0))),
        "BOOL" => ("BOOLEAN", "BOOLEAN".into()),
        "DATE" => ("DATE", "DATE".into()),
        "TIMESTAMP" => ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ".into()),
        "TIMESTAMPTZ" => ("TIMESTAMP", "TIMESTAMP".into()),
        _ => ("STRING", "STRING".into()),
    }
}

impl Fake {
    fn chunk_count(&self, outcome: &Outcome) -> usize {
        outcome.rows.len().div_ceil(self.chunk_rows).max(1)
    }

    /// Chunk `n` of a result, inline or as an external link.
    fn chunk(&self, id: &str, stored: &Stored, n: usize) -> Value {
        let Ok(outcome) = &stored.outcome else { return Value::Null };
        let count = self.chunk_count(outcome);
        let start = (n * self.chunk_rows).min(outcome.rows.len());
        let end = (start + self.chunk_rows).min(outcome.rows.len());
        let mut chunk = json!({ "chunk_index": n, "row_offset": start, "row_count": end - start });
        if n + 1 < count {
            chunk["next_chunk_index"] = json!(n + 1);
            chunk["next_chunk_internal_link"] = json!(format!("/api/2.0/sql/statements/{id}/result/chunks/{}", n + 1));
        }
        if stored.external {
            chunk["external_link"] = json!(format!("{}/fake-storage/{id}/{n}", self.url));
            chunk["expiration"] = json!("2099-01-01T00:00:00.000Z");
            json!({ "external_links": [chunk] })
        } else {
            chunk["data_array"] = json!(outcome.rows[start..end]);
            chunk
        }
    }

    fn response(&self, id: &str, stored: &Stored) -> Value {
        let outcome = match &stored.outcome {
            Ok(outcome) => outcome,
            Err(message) => {
                return json!({ "statement_id": id, "status": { "state": "FAILED", "sql_state": "42000",
                               "error": { "error_code": "BAD_REQUEST", "message": message } } });
            }
        };
        let columns: Vec<Value> = outcome
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (name, text) = type_of(c);
                let mut column = json!({ "name": c.name, "position": i, "type_name": name, "type_text": text });
                if name == "DECIMAL" {
                    column["type_precision"] = json!(c.precision.unwrap_or(38));
                    column["type_scale"] = json!(c.scale.unwrap_or(0));
                }
                column
            })
            .collect();
        let count = self.chunk_count(outcome);
        let chunks: Vec<Value> = (0..count)
            .map(|n| {
                let start = (n * self.chunk_rows).min(outcome.rows.len());
                let end = (start + self.chunk_rows).min(outcome.rows.len());
                json!({ "chunk_index": n, "row_offset": start, "row_count": end - start })
            })
            .collect();
        let mut reply = json!({
            "statement_id": id,
            "status": { "state": "SUCCEEDED" },
            "manifest": {
                "format": "JSON_ARRAY",
                "schema": { "column_count": columns.len(), "columns": columns },
                "total_chunk_count": count, "chunks": chunks, "total_row_count": outcome.rows.len(), "truncated": false,
            },
        });
        if !outcome.columns.is_empty() {
            reply["result"] = self.chunk(id, stored, 0);
        }
        reply
    }
}

async fn submit(State(fake): State<Arc<Fake>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !authorized(&fake, &headers) {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "Invalid access token.");
    }
    if body["warehouse_id"].as_str() != Some(fake.warehouse_id.as_str()) {
        return error(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", "SQL warehouse does not exist");
    }
    let Some(statement) = body["statement"].as_str() else {
        return error(StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE", "statement is required");
    };
    if body.get("parameters").is_some_and(|p| !p.as_array().is_some_and(Vec::is_empty)) {
        return error(StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE", "the fake takes no parameters");
    }
    let schema = body["schema"].as_str().unwrap_or("default");
    let outcome = fake.engine.run(statement, schema).await;
    let external = body["disposition"].as_str() == Some("EXTERNAL_LINKS");
    let id = ulid::Ulid::new().to_string().to_ascii_lowercase();
    fake.statements.lock().await.insert(id.clone(), Stored { outcome, external });
    // Every statement is still running when first asked: the client must poll.
    Json(json!({ "statement_id": id, "status": { "state": "PENDING" } })).into_response()
}

async fn status(State(fake): State<Arc<Fake>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorized(&fake, &headers) {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "Invalid access token.");
    }
    let statements = fake.statements.lock().await;
    match statements.get(&id) {
        Some(stored) => Json(fake.response(&id, stored)).into_response(),
        None => error(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", "no such statement"),
    }
}

async fn cancel(State(fake): State<Arc<Fake>>, headers: HeaderMap, Path(_id): Path<String>) -> Response {
    if !authorized(&fake, &headers) {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "Invalid access token.");
    }
    Json(json!({})).into_response()
}

async fn chunk(State(fake): State<Arc<Fake>>, headers: HeaderMap, Path((id, n)): Path<(String, usize)>) -> Response {
    if !authorized(&fake, &headers) {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "Invalid access token.");
    }
    let statements = fake.statements.lock().await;
    match statements.get(&id) {
        Some(stored) => Json(fake.chunk(&id, stored, n)).into_response(),
        None => error(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", "no such statement"),
    }
}

async fn storage(State(fake): State<Arc<Fake>>, headers: HeaderMap, Path((id, n)): Path<(String, usize)>) -> Response {
    if headers.contains_key("authorization") {
        return (StatusCode::BAD_REQUEST, "presigned storage URLs must not be sent the workspace token")
            .into_response();
    }
    let statements = fake.statements.lock().await;
    let Some(Stored { outcome: Ok(outcome), .. }) = statements.get(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let start = (n * fake.chunk_rows).min(outcome.rows.len());
    let end = (start + fake.chunk_rows).min(outcome.rows.len());
    Json(json!(outcome.rows[start..end])).into_response()
}
