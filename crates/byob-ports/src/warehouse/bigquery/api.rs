//! BigQuery's REST API for queries: `jobs.query` (`POST …/queries`), polled with `jobs.getQueryResults`
//! (`GET …/queries/{jobId}`) until the job is complete, its rows read page by page with `pageToken`;
//! timestamps asked as 64-bit microseconds (`formatOptions.useInt64Timestamp`) so none is rounded. The bearer
//! token is a self-signed JWT of the connection's service account key (cloud-platform scope), made locally.

use std::time::Duration;

use byob_core::Sensitive;
use object_store::gcp::GoogleCloudStorageBuilder;
use serde::Deserialize;
use serde_json::{Value, json};

use super::BigQuerySettings;
use crate::warehouse::WarehouseError;

/// Rows per page asked of BigQuery.
const PAGE_ROWS: u32 = 10_000;

#[derive(Debug, Clone, Deserialize)]
pub(super) struct FieldSchema {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub mode: Option<String>,
    pub precision: Option<String>,
    pub scale: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Schema {
    #[serde(default)]
    fields: Vec<FieldSchema>,
}

#[derive(Debug, Deserialize)]
struct JobReference {
    #[serde(rename = "jobId")]
    job_id: String,
    location: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CellValue {
    v: Value,
}

#[derive(Debug, Deserialize)]
struct Row {
    f: Vec<CellValue>,
}

#[derive(Debug, Deserialize)]
struct ErrorProto {
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reply {
    #[serde(default)]
    job_complete: bool,
    job_reference: Option<JobReference>,
    schema: Option<Schema>,
    rows: Option<Vec<Row>>,
    page_token: Option<String>,
    errors: Option<Vec<ErrorProto>>,
}

/// A query's columns and the reader of its rows.
pub(super) struct Answer {
    pub fields: Vec<FieldSchema>,
    rows: Option<Vec<Vec<Value>>>,
    page_token: Option<String>,
    job: Option<(String, Option<String>)>,
}

pub(super) struct Client {
    /// The route's local forward, while the client lives.
    _forward: Option<std::sync::Arc<crate::net::route::LocalForward>>,
    http: reqwest::Client,
    base: url::Url,
    token: Sensitive<String>,
    project: String,
    location: Option<String>,
    deadline: Duration,
}

/// A bearer token for the service account key: a self-signed JWT, made without a network call.
async fn bearer(key: &str) -> Result<Sensitive<String>, WarehouseError> {
    let unusable = |e: object_store::Error| {
        WarehouseError::Connect(format!("the service account key cannot sign a token: {}", first_line(&e.to_string())))
    };
    let store = GoogleCloudStorageBuilder::new()
        .with_bucket_name("byob-bigquery")
        .with_service_account_key(key)
        .build()
        .map_err(unusable)?;
    let credential = store.credentials().get_credential().await.map_err(unusable)?;
    Ok(Sensitive::new(credential.bearer.clone()))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

fn refused(status: reqwest::StatusCode, body: &str) -> WarehouseError {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("HTTP {status}"));
    match status.as_u16() {
        401 | 403 => WarehouseError::Connect(format!("BigQuery refused the service account: {message}")),
        _ => WarehouseError::Rejected(format!("BigQuery: {message}")),
    }
}

impl Client {
    pub(super) async fn new(s: &BigQuerySettings) -> Result<Self, WarehouseError> {
        let server = &s.server;
        let super::super::server::HttpEndpoint { http, base, _forward } = server.http_client().await?;
        let base = base
            .join(&format!("bigquery/v2/projects/{}/", server.database))
            .map_err(|e| WarehouseError::Connect(format!("`{}` is not a project: {e}", server.database)))?;
        let key = server
            .password
            .as_ref()
            .ok_or_else(|| WarehouseError::Connect("a BigQuery connection needs its service account key".into()))?;
        Ok(Self {
            _forward,
            http,
            base,
            token: bearer(key.expose()).await?,
            project: server.database.clone(),
            location: s.location.clone(),
            deadline: server.statement_timeout,
        })
    }

    /// Sends one request with the token and reads its JSON answer; an HTTP error is BigQuery's message.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, WarehouseError> {
        let response = request
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| WarehouseError::Connect(format!("BigQuery did not answer: {}", e.without_url())))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| WarehouseError::Connect(e.without_url().to_string()))?;
        if !status.is_success() {
            return Err(refused(status, &body));
        }
        serde_json::from_str(&body)
            .map_err(|e| WarehouseError::Database(format!("BigQuery's answer is unreadable: {e}")))
    }

    /// A query's answer; the errors BigQuery (or a stand-in) puts in a successful answer are errors too.
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Reply, WarehouseError> {
        let reply: Reply = self.send(request).await?;
        if let Some(error) = reply.errors.as_ref().and_then(|e| e.first()) {
            return Err(WarehouseError::Rejected(format!("BigQuery: {}", error.message.clone().unwrap_or_default())));
        }
        Ok(reply)
    }

    fn results_url(&self, job: &str, location: Option<&str>, page: Option<&str>) -> Result<url::Url, WarehouseError> {
        let mut url = self.base.join(&format!("queries/{job}")).map_err(|e| WarehouseError::Database(e.to_string()))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("maxResults", &PAGE_ROWS.to_string());
            q.append_pair("timeoutMs", "10000");
            q.append_pair("formatOptions.useInt64Timestamp", "true");
            if let Some(location) = location {
                q.append_pair("location", location);
            }
            if let Some(page) = page {
                q.append_pair("pageToken", page);
            }
        }
        Ok(url)
    }

    fn take(answer: &mut Answer, reply: Reply) {
        if let Some(schema) = reply.schema {
            answer.fields = schema.fields;
        }
        answer.rows = reply.rows.map(|rows| rows.into_iter().map(|r| r.f.into_iter().map(|c| c.v).collect()).collect());
        answer.page_token = reply.page_token;
        if let Some(job) = reply.job_reference {
            answer.job = Some((job.job_id, job.location));
        }
    }

    /// Runs one statement (or script) to its end; its rows are read with [`Client::next_rows`].
    pub(super) async fn run(&self, sql: &str) -> Result<Answer, WarehouseError> {
        let mut body = json!({
            "query": sql,
            "useLegacySql": false,
            "maxResults": PAGE_ROWS,
            "timeoutMs": 10_000,
            "formatOptions": { "useInt64Timestamp": true },
            "requestId": ulid::Ulid::new().to_string(),
        });
        if let Some(location) = &self.location {
            body["location"] = json!(location);
        }
        let url = self.base.join("queries").map_err(|e| WarehouseError::Database(e.to_string()))?;
        let mut reply = self.call(self.http.post(url).json(&body)).await?;
        let started = tokio::time::Instant::now();
        while !reply.job_complete {
            let Some(job) = &reply.job_reference else {
                return Err(WarehouseError::Database("BigQuery's answer names no job".into()));
            };
            if started.elapsed() > self.deadline {
                let cancel = self
                    .base
                    .join(&format!("jobs/{}/cancel", job.job_id))
                    .map_err(|e| WarehouseError::Database(e.to_string()))?;
                self.http.post(cancel).bearer_auth(self.token.expose()).send().await.ok();
                return Err(WarehouseError::Rejected(format!(
                    "the query ran longer than {} s and was cancelled",
                    self.deadline.as_secs()
                )));
            }
            // getQueryResults itself waits up to `timeoutMs` for the job: no pause of byob's own.
            let url = self.results_url(&job.job_id, job.location.as_deref(), None)?;
            reply = self.call(self.http.get(url)).await?;
        }
        let mut answer = Answer { fields: Vec::new(), rows: None, page_token: None, job: None };
        Self::take(&mut answer, reply);
        Ok(answer)
    }

    /// The next page of rows; `None` at the end.
    pub(super) async fn next_rows(&self, answer: &mut Answer) -> Result<Option<Vec<Vec<Value>>>, WarehouseError> {
        if let Some(rows) = answer.rows.take() {
            return Ok(Some(rows));
        }
        let (Some(page), Some((job, location))) = (answer.page_token.take(), answer.job.clone()) else {
            return Ok(None);
        };
        let url = self.results_url(&job, location.as_deref(), Some(&page))?;
        let reply = self.call(self.http.get(url)).await?;
        Self::take(answer, reply);
        Ok(Some(answer.rows.take().unwrap_or_default()))
    }

    pub(super) fn project(&self) -> &str {
        &self.project
    }

    /// Runs a load job (`jobs.insert`) to its end, polling `jobs.get`; returns the rows it wrote.
    pub(super) async fn load_job(&self, job: &Value) -> Result<u64, WarehouseError> {
        let url = self.base.join("jobs").map_err(|e| WarehouseError::Database(e.to_string()))?;
        let mut state = self.send::<Value>(self.http.post(url).json(job)).await?;
        let id = job["jobReference"]["jobId"].as_str().unwrap_or_default().to_string();
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(200);
        while state["status"]["state"].as_str() != Some("DONE") {
            if started.elapsed() > self.deadline {
                return Err(WarehouseError::Rejected(format!(
                    "the load job ran longer than {} s",
                    self.deadline.as_secs()
                )));
            }
            // jobs.get answers at once: byob waits between asks.
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
            let mut url = self.base.join(&format!("jobs/{id}")).map_err(|e| WarehouseError::Database(e.to_string()))?;
            if let Some(location) = &self.location {
                url.query_pairs_mut().append_pair("location", location);
            }
            state = self.send::<Value>(self.http.get(url)).await?;
        }
        if let Some(message) = state["status"]["errorResult"]["message"].as_str() {
            return Err(WarehouseError::Rejected(format!("BigQuery's load job failed: {message}")));
        }
        let rows = state["statistics"]["load"]["outputRows"].as_str().and_then(|n| n.parse().ok());
        Ok(rows.unwrap_or(0))
    }
}
