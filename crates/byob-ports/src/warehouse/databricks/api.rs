//! Databricks SQL's Statement Execution API: a statement is posted to `/api/2.0/sql/statements` for the SQL
//! warehouse, polled at `/api/2.0/sql/statements/{id}` until it ends, and its result read in chunks — inline
//! `JSON_ARRAY` rows (metadata), or external links to the workspace's cloud storage (exports: no 25 MiB limit),
//! fetched without the workspace token, which must never go to a storage URL.

use std::time::Duration;

use byob_core::Sensitive;
use serde::Deserialize;
use serde_json::json;

use super::DatabricksSettings;
use crate::warehouse::WarehouseError;

/// How a result comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Disposition {
    /// Rows in the answer (at most 25 MiB in all): metadata and small results.
    Inline,
    /// Links to chunks on the workspace's storage: exports.
    ExternalLinks,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct ColumnInfo {
    pub name: String,
    pub type_name: String,
    pub type_precision: Option<u16>,
    pub type_scale: Option<u16>,
}

#[derive(Debug, Default, Deserialize)]
struct Schema {
    #[serde(default)]
    columns: Vec<ColumnInfo>,
}

#[derive(Debug, Default, Deserialize)]
struct Manifest {
    schema: Option<Schema>,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    error_code: Option<String>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Status {
    state: String,
    error: Option<ApiError>,
}

#[derive(Debug, Deserialize)]
struct ExternalLink {
    external_link: String,
    next_chunk_internal_link: Option<String>,
}

/// One piece of a result: its rows, or links to them, and where the next piece is.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Chunk {
    #[serde(default)]
    data_array: Option<Vec<Vec<Option<String>>>>,
    next_chunk_internal_link: Option<String>,
    #[serde(default)]
    external_links: Option<Vec<ExternalLink>>,
}

#[derive(Debug, Deserialize)]
struct Reply {
    statement_id: String,
    status: Status,
    manifest: Option<Manifest>,
    result: Option<Chunk>,
}

/// A statement that ended well: its columns, and the reader of its rows.
pub(super) struct Answer {
    pub columns: Vec<ColumnInfo>,
    first: Option<Chunk>,
}

/// A client of one workspace's SQL warehouse.
pub(super) struct Client {
    /// The route's local forward, while the client lives.
    _forward: Option<std::sync::Arc<crate::net::route::LocalForward>>,
    http: reqwest::Client,
    base: url::Url,
    token: Sensitive<String>,
    warehouse_id: String,
    catalog: String,
    schema: String,
    deadline: Duration,
}

fn refused(status: reqwest::StatusCode, body: &str) -> WarehouseError {
    let said: Option<ApiError> = serde_json::from_str(body).ok();
    let message = said
        .map(|e| format!("{}: {}", e.error_code.unwrap_or_default(), e.message.unwrap_or_default()))
        .unwrap_or_else(|| format!("HTTP {status}"));
    match status.as_u16() {
        401 | 403 => WarehouseError::Connect(format!("Databricks refused the token ({message})")),
        404 => WarehouseError::Rejected(format!("Databricks: {message} (check `http_path`)")),
        _ => WarehouseError::Rejected(format!("Databricks: {message}")),
    }
}

impl Client {
    pub(super) async fn new(s: &DatabricksSettings) -> Result<Self, WarehouseError> {
        let server = &s.server;
        let super::super::server::HttpEndpoint { http, base, _forward } = server.http_client().await?;
        let token = server.password.clone().ok_or_else(|| {
            WarehouseError::Connect("a Databricks connection needs its access token as `password`".into())
        })?;
        Ok(Self {
            _forward,
            http,
            base,
            token,
            warehouse_id: s.warehouse_id.clone(),
            catalog: server.database.clone(),
            schema: server.schema.clone(),
            deadline: server.statement_timeout,
        })
    }

    fn url(&self, path: &str) -> Result<url::Url, WarehouseError> {
        self.base.join(path.trim_start_matches('/')).map_err(|e| WarehouseError::Database(e.to_string()))
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<String, WarehouseError> {
        let response = request
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| WarehouseError::Connect(format!("Databricks did not answer: {}", e.without_url())))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| WarehouseError::Connect(e.without_url().to_string()))?;
        if !status.is_success() {
            return Err(refused(status, &body));
        }
        Ok(body)
    }

    /// Runs one statement to its end.
    pub(super) async fn run(&self, statement: &str, disposition: Disposition) -> Result<Answer, WarehouseError> {
        let body = json!({
            "statement": statement,
            "warehouse_id": self.warehouse_id,
            "catalog": self.catalog,
            "schema": self.schema,
            "disposition": match disposition { Disposition::Inline => "INLINE", Disposition::ExternalLinks => "EXTERNAL_LINKS" },
            "format": "JSON_ARRAY",
            "wait_timeout": "10s",
            "on_wait_timeout": "CONTINUE",
        });
        let text = self.call(self.http.post(self.url("api/2.0/sql/statements")?).json(&body)).await?;
        let mut reply: Reply = serde_json::from_str(&text)
            .map_err(|e| WarehouseError::Database(format!("Databricks' answer is not a statement: {e}")))?;
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(50);
        while matches!(reply.status.state.as_str(), "PENDING" | "RUNNING") {
            if started.elapsed() > self.deadline {
                let cancel = self.url(&format!("api/2.0/sql/statements/{}/cancel", reply.statement_id))?;
                self.call(self.http.post(cancel)).await.ok();
                return Err(WarehouseError::Rejected(format!(
                    "the statement ran longer than {} s and was cancelled",
                    self.deadline.as_secs()
                )));
            }
            // Polling waits on Databricks, not on a condition byob could observe sooner.
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
            let status = self.url(&format!("api/2.0/sql/statements/{}", reply.statement_id))?;
            let text = self.call(self.http.get(status)).await?;
            reply = serde_json::from_str(&text)
                .map_err(|e| WarehouseError::Database(format!("Databricks' answer is not a statement: {e}")))?;
        }
        match reply.status.state.as_str() {
            "SUCCEEDED" => Ok(Answer {
                columns: reply.manifest.and_then(|m| m.schema).map(|s| s.columns).unwrap_or_default(),
                first: reply.result,
            }),
            state => {
                let message = reply.status.error.and_then(|e| e.message).unwrap_or_else(|| state.to_lowercase());
                Err(WarehouseError::Rejected(message))
            }
        }
    }

    /// The next rows of a result, one chunk at a time; `None` at its end.
    pub(super) async fn next_rows(
        &self,
        answer: &mut Answer,
    ) -> Result<Option<Vec<Vec<Option<String>>>>, WarehouseError> {
        let Some(chunk) = answer.first.take() else { return Ok(None) };
        let (rows, next) = match (chunk.data_array, chunk.external_links) {
            (_, Some(links)) if !links.is_empty() => {
                let mut rows = Vec::new();
                let mut next = None;
                for link in links {
                    rows.extend(self.external(&link.external_link).await?);
                    next = link.next_chunk_internal_link;
                }
                (rows, next)
            }
            (data, _) => (data.unwrap_or_default(), chunk.next_chunk_internal_link),
        };
        if let Some(link) = next {
            let text = self.call(self.http.get(self.url(&link)?)).await?;
            answer.first = Some(
                serde_json::from_str(&text)
                    .map_err(|e| WarehouseError::Database(format!("Databricks' chunk is unreadable: {e}")))?,
            );
        }
        Ok(Some(rows))
    }

    /// A chunk from the workspace's storage: a presigned URL, sent no token.
    async fn external(&self, link: &str) -> Result<Vec<Vec<Option<String>>>, WarehouseError> {
        let url =
            url::Url::parse(link).map_err(|e| WarehouseError::Database(format!("a chunk link is not a URL: {e}")))?;
        let response = self.http.get(url).send().await.map_err(|e| {
            WarehouseError::Connect(format!("a result chunk could not be fetched: {}", e.without_url()))
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(WarehouseError::Database(format!("a result chunk could not be fetched: HTTP {status}")));
        }
        let bytes = response.bytes().await.map_err(|e| WarehouseError::Connect(e.without_url().to_string()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| WarehouseError::Database(format!("a result chunk is unreadable: {e}")))
    }
}
