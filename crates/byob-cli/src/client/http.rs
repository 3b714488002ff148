//! A thin HTTP client of the byob API that turns problem+json answers into readable errors.

use anyhow::Context;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::Value;

use crate::args::ClientOpts;

#[derive(Debug)]
pub(crate) struct ApiClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl ApiClient {
    pub(crate) fn new(opts: &ClientOpts) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().user_agent(concat!("byob-cli/", env!("CARGO_PKG_VERSION"))).build()?;
        Ok(Self { base: opts.url.trim_end_matches('/').to_string(), token: opts.token.clone(), http })
    }

    /// Sends a request; a success gives the body text, a failure a readable error naming the problem's code.
    async fn exchange(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&impl Serialize>,
    ) -> anyhow::Result<String> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.clone(), &url).query(query);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.with_context(|| format!("cannot reach byob at {}", self.base))?;
        let status = response.status();
        let text = response.text().await.context("reading the response")?;
        if status.is_success() {
            return Ok(text);
        }
        Err(self.problem(&method, path, status, &text))
    }

    /// A GET whose answer is a file: byob's redirect is followed to the storage (reqwest drops the token on a
    /// redirect to another host, so the bucket never sees it); the response is returned to be streamed.
    pub(crate) async fn get_file(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.with_context(|| format!("cannot reach byob at {}", self.base))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        Err(self.problem(&Method::GET, path, status, &text))
    }

    /// A readable error from a failed answer, naming the problem's code and request id.
    fn problem(&self, method: &Method, path: &str, status: StatusCode, text: &str) -> anyhow::Error {
        let problem: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let field = |k: &str| problem.get(k).and_then(Value::as_str).map(str::to_string);
        let detail = field("detail").unwrap_or_else(|| text.to_string());
        let code = field("code").unwrap_or_else(|| status.as_u16().to_string());
        let mut message = format!("{method} {path}: {} {code}: {detail}", status.as_u16());
        if status == StatusCode::UNAUTHORIZED && self.token.is_none() {
            message.push_str(" (set BYOB_TOKEN or pass --token)");
        }
        if let Some(id) = field("request_id") {
            message.push_str(&format!(" [request {id}]"));
        }
        anyhow::anyhow!(message)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&impl Serialize>,
    ) -> anyhow::Result<Value> {
        let text = self.exchange(method, path, query, body).await?;
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).context("the server answered with invalid JSON")
    }

    pub(crate) async fn get(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
        self.send(Method::GET, path, query, None::<&()>).await
    }

    /// A GET whose answer is text (Terraform, shell).
    pub(crate) async fn get_text(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<String> {
        self.exchange(Method::GET, path, query, None::<&()>).await
    }

    pub(crate) async fn post(&self, path: &str, body: &impl Serialize) -> anyhow::Result<Value> {
        self.send(Method::POST, path, &[], Some(body)).await
    }

    /// A POST without a body (actions such as `disable`).
    pub(crate) async fn post_empty(&self, path: &str) -> anyhow::Result<Value> {
        self.send(Method::POST, path, &[], None::<&()>).await
    }

    pub(crate) async fn patch(&self, path: &str, body: &impl Serialize) -> anyhow::Result<Value> {
        self.send(Method::PATCH, path, &[], Some(body)).await
    }

    pub(crate) async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.send(Method::DELETE, path, &[], None::<&()>).await
    }

    /// A DELETE narrowed by query parameters (every attachment of a record).
    pub(crate) async fn delete_with(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
        self.send(Method::DELETE, path, query, None::<&()>).await
    }

    /// A PUT of raw bytes (an asset's content) with extra headers; the answer is JSON.
    pub(crate) async fn put_bytes(
        &self,
        path: &str,
        body: reqwest::Body,
        headers: &[(&str, String)],
    ) -> anyhow::Result<Value> {
        let mut request =
            self.http.put(format!("{}{path}", self.base)).header("content-type", "application/octet-stream").body(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.with_context(|| format!("cannot reach byob at {}", self.base))?;
        let status = response.status();
        let text = response.text().await.context("reading the response")?;
        if !status.is_success() {
            return Err(self.problem(&Method::PUT, path, status, &text));
        }
        serde_json::from_str(&text).context("the server answered with invalid JSON")
    }

    pub(crate) async fn put(&self, path: &str, body: &impl Serialize) -> anyhow::Result<Value> {
        self.send(Method::PUT, path, &[], Some(body)).await
    }
}
