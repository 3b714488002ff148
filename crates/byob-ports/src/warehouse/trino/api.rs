//! Trino's client protocol: a statement is posted to `/v1/statement`, and its results — columns, then rows in
//! pages — are read by following each answer's `nextUri` until there is none. byob asks for full-precision
//! timestamps (`PARAMETRIC_DATETIME`), sets the session's zone to UTC, retries the 502/503/504 answers Trino's
//! protocol says to retry, follows `nextUri` only on the server it was given, and cancels a statement that
//! outlives the job's deadline.

use std::time::Duration;

use byob_core::Sensitive;
use serde::Deserialize;
use serde_json::Value;

use super::TrinoSettings;
use crate::warehouse::WarehouseError;

#[derive(Debug, Clone, Deserialize)]
pub(super) struct TrinoColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryError {
    message: Option<String>,
    error_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reply {
    next_uri: Option<String>,
    columns: Option<Vec<TrinoColumn>>,
    data: Option<Vec<Vec<Value>>>,
    error: Option<QueryError>,
    update_count: Option<u64>,
}

/// A statement under way: its columns once Trino says them, rows not yet read, and where the rest is.
pub(super) struct Answer {
    pub columns: Vec<TrinoColumn>,
    pub update_count: Option<u64>,
    rows: Option<Vec<Vec<Value>>>,
    next: Option<url::Url>,
    started: tokio::time::Instant,
}

pub(super) struct Client {
    /// The route's local forward, while the client lives.
    _forward: Option<std::sync::Arc<crate::net::route::LocalForward>>,
    http: reqwest::Client,
    base: url::Url,
    user: String,
    password: Option<Sensitive<String>>,
    catalog: String,
    schema: String,
    deadline: Duration,
}

impl Client {
    pub(super) async fn new(s: &TrinoSettings) -> Result<Self, WarehouseError> {
        let server = &s.server;
        let super::super::server::HttpEndpoint { http, base, _forward } = server.http_client().await?;
        Ok(Self {
            _forward,
            http,
            base,
            user: server.user.clone(),
            password: server.password.clone(),
            catalog: server.database.clone(),
            schema: server.schema.clone(),
            deadline: server.statement_timeout,
        })
    }

    /// Sends one request, retrying what Trino's protocol says to retry until the deadline.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        started: tokio::time::Instant,
    ) -> Result<Reply, WarehouseError> {
        let mut pause = Duration::from_millis(50);
        loop {
            let attempt = request
                .try_clone()
                .ok_or_else(|| WarehouseError::Database("a request could not be repeated".into()))?;
            let attempt = match &self.password {
                Some(password) => attempt.basic_auth(&self.user, Some(password.expose())),
                None => attempt,
            };
            let response = attempt
                .send()
                .await
                .map_err(|e| WarehouseError::Connect(format!("Trino did not answer: {}", e.without_url())))?;
            let status = response.status();
            if matches!(status.as_u16(), 502..=504) && started.elapsed() < self.deadline {
                // Trino asks clients to retry these after a short wait.
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
                continue;
            }
            let body = response.text().await.map_err(|e| WarehouseError::Connect(e.without_url().to_string()))?;
            return match status.as_u16() {
                200 => serde_json::from_str(&body)
                    .map_err(|e| WarehouseError::Database(format!("Trino's answer is unreadable: {e}"))),
                401 | 403 => {
                    Err(WarehouseError::Connect(format!("Trino refused the user or password (HTTP {status})")))
                }
                _ => Err(WarehouseError::Rejected(format!(
                    "Trino answered HTTP {status}: {}",
                    body.chars().take(200).collect::<String>()
                ))),
            };
        }
    }

    fn take(&self, answer: &mut Answer, reply: Reply) -> Result<(), WarehouseError> {
        if let Some(error) = reply.error {
            let name = error.error_name.unwrap_or_default();
            return Err(WarehouseError::Rejected(format!("{name}: {}", error.message.unwrap_or_default())));
        }
        if let Some(columns) = reply.columns {
            answer.columns = columns;
        }
        if reply.update_count.is_some() {
            answer.update_count = reply.update_count;
        }
        answer.rows = reply.data;
        answer.next = match reply.next_uri {
            None => None,
            Some(next) => {
                let url = url::Url::parse(&next)
                    .map_err(|e| WarehouseError::Database(format!("Trino's nextUri is not a URL: {e}")))?;
                // Only the server byob was pointed at: a nextUri elsewhere is not followed.
                if url.host_str() != self.base.host_str()
                    || url.port_or_known_default() != self.base.port_or_known_default()
                {
                    return Err(WarehouseError::Database(format!(
                        "Trino's nextUri points at another server ({}); byob follows it only on {}",
                        url.host_str().unwrap_or_default(),
                        self.base.host_str().unwrap_or_default()
                    )));
                }
                Some(url)
            }
        };
        Ok(())
    }

    /// Follows `nextUri` once.
    async fn advance(&self, answer: &mut Answer) -> Result<(), WarehouseError> {
        let Some(next) = answer.next.clone() else { return Ok(()) };
        if answer.started.elapsed() > self.deadline {
            self.http.delete(next).send().await.ok();
            return Err(WarehouseError::Rejected(format!(
                "the statement ran longer than {} s and was cancelled",
                self.deadline.as_secs()
            )));
        }
        let reply = self.send(self.http.get(next), answer.started).await?;
        self.take(answer, reply)
    }

    /// Starts a statement and reads until its columns are known (or it ends).
    pub(super) async fn start(&self, statement: &str) -> Result<Answer, WarehouseError> {
        let url = self.base.join("v1/statement").map_err(|e| WarehouseError::Database(e.to_string()))?;
        let request = self
            .http
            .post(url)
            .header("X-Trino-User", &self.user)
            .header("X-Trino-Catalog", &self.catalog)
            .header("X-Trino-Schema", &self.schema)
            .header("X-Trino-Source", "byob")
            .header("X-Trino-Time-Zone", "UTC")
            .header("X-Trino-Client-Capabilities", "PARAMETRIC_DATETIME")
            .body(statement.to_string());
        let started = tokio::time::Instant::now();
        let mut answer = Answer { columns: Vec::new(), update_count: None, rows: None, next: None, started };
        let reply = self.send(request, started).await?;
        self.take(&mut answer, reply)?;
        while answer.columns.is_empty() && answer.rows.is_none() && answer.next.is_some() {
            self.advance(&mut answer).await?;
        }
        Ok(answer)
    }

    /// The next page of rows; `None` once the statement has ended.
    pub(super) async fn next_rows(&self, answer: &mut Answer) -> Result<Option<Vec<Vec<Value>>>, WarehouseError> {
        loop {
            if let Some(rows) = answer.rows.take() {
                return Ok(Some(rows));
            }
            if answer.next.is_none() {
                return Ok(None);
            }
            self.advance(answer).await?;
        }
    }

    /// Runs a statement to its end; returns the rows it changed, when Trino says.
    pub(super) async fn execute(&self, statement: &str) -> Result<Option<u64>, WarehouseError> {
        let mut answer = self.start(statement).await?;
        while self.next_rows(&mut answer).await?.is_some() {}
        Ok(answer.update_count)
    }
}
