//! Snowflake's REST protocol, as its own drivers speak it: a login that gives a session token, statements
//! posted to `/queries/v1/query-request` (polled while Snowflake says they still run), results as a first
//! Arrow (or JSON) rowset inline plus further chunks fetched from Snowflake's own storage.

use std::time::Duration;

use byob_core::Sensitive;
use serde::Deserialize;
use serde_json::{Value, json};

use super::SnowflakeSettings;
use crate::warehouse::WarehouseError;

/// Snowflake's codes for "the statement is still running": poll its result URL.
const STILL_RUNNING: [&str; 2] = ["333333", "333334"];

/// One column of a result, as Snowflake describes it.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct RowType {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub precision: Option<u32>,
    pub scale: Option<u32>,
}

/// A further piece of a large result.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Chunk {
    pub url: String,
}

/// What a statement returned.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct QueryData {
    #[serde(default)]
    pub rowtype: Vec<RowType>,
    pub query_result_format: Option<String>,
    #[serde(default)]
    pub rowset: Vec<Vec<Option<String>>>,
    pub rowset_base64: Option<String>,
    #[serde(default)]
    pub chunks: Vec<Chunk>,
    #[serde(default)]
    pub chunk_headers: std::collections::BTreeMap<String, String>,
    /// The key Snowflake's storage wants for chunks when it gives no headers.
    pub qrmk: Option<String>,
    pub statement_type_id: Option<u64>,
    pub get_result_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Reply {
    data: Option<Value>,
    code: Option<String>,
    message: Option<String>,
    #[serde(default)]
    success: bool,
}

/// A signed-in session.
pub(super) struct Session {
    /// The route's local forward, while the client lives.
    _forward: Option<std::sync::Arc<crate::net::route::LocalForward>>,
    http: reqwest::Client,
    base: url::Url,
    token: Sensitive<String>,
    sequence: u64,
}

fn request_id() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).ok();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// The login request's body: who signs in, with a password or (key-pair authentication) a JWT signed by the
/// connection's private key, and the session's parameters.
pub(super) fn login_body(s: &SnowflakeSettings, now: chrono::DateTime<chrono::Utc>) -> Result<Value, WarehouseError> {
    let server = &s.server;
    let account = s.account.split('.').next().unwrap_or(&s.account);
    let mut data = json!({
        "CLIENT_APP_ID": "byob",
        "CLIENT_APP_VERSION": env!("CARGO_PKG_VERSION"),
        "ACCOUNT_NAME": account,
        "LOGIN_NAME": server.user,
        "SESSION_PARAMETERS": {
            "AUTOCOMMIT": true,
            "TIMEZONE": "UTC",
            "QUERY_TAG": "byob",
            "STATEMENT_TIMEOUT_IN_SECONDS": server.statement_timeout.as_secs().max(1),
        },
    });
    let secret = server.password.as_ref().map(|p| p.expose().as_str());
    if s.key_pair {
        let pem = secret.ok_or_else(|| WarehouseError::Connect("the connection holds no private key".into()))?;
        let key = super::KeyPair::parse(pem).map_err(WarehouseError::Connect)?;
        data["AUTHENTICATOR"] = json!("SNOWFLAKE_JWT");
        data["TOKEN"] = json!(key.jwt(account, &server.user, now)?);
    } else {
        data["PASSWORD"] = json!(secret);
    }
    Ok(json!({ "data": data }))
}

impl Session {
    pub(super) async fn login(s: &SnowflakeSettings) -> Result<Self, WarehouseError> {
        let server = &s.server;
        let super::super::server::HttpEndpoint { http, base, _forward } = server.http_client().await?;
        let mut login = base.join("session/v1/login-request").map_err(|e| WarehouseError::Connect(e.to_string()))?;
        {
            let mut q = login.query_pairs_mut();
            q.append_pair("requestId", &request_id());
            q.append_pair("databaseName", &server.database);
            q.append_pair("schemaName", &server.schema);
            if let Some(w) = &s.warehouse {
                q.append_pair("warehouse", w);
            }
            if let Some(r) = &s.role {
                q.append_pair("roleName", r);
            }
        }
        let body = login_body(s, chrono::Utc::now())?;
        let reply = match post(&http, login, None, &body).await {
            Ok(Answer::Done(data) | Answer::Running(data)) => data,
            Err(WarehouseError::Rejected(m) | WarehouseError::Database(m)) => return Err(WarehouseError::Connect(m)),
            Err(other) => return Err(other),
        };
        let token = reply
            .get("token")
            .and_then(Value::as_str)
            .ok_or_else(|| WarehouseError::Connect("Snowflake's login answer holds no session token".into()))?;
        Ok(Self { _forward, http, base, token: Sensitive::new(token.to_string()), sequence: 0 })
    }

    /// Runs one statement (with `bindings`, Snowflake's `{"1": {"type", "value"}, …}`), waiting while it runs;
    /// `describe_only` asks for its columns and type without running it.
    pub(super) async fn query(
        &mut self,
        sql: &str,
        bindings: Option<Value>,
        describe_only: bool,
    ) -> Result<QueryData, WarehouseError> {
        self.sequence += 1;
        let mut url =
            self.base.join("queries/v1/query-request").map_err(|e| WarehouseError::Database(e.to_string()))?;
        url.query_pairs_mut().append_pair("requestId", &request_id());
        let mut body = json!({ "sqlText": sql, "asyncExec": false, "sequenceId": self.sequence });
        if let Some(b) = bindings {
            body["bindings"] = b;
        }
        if describe_only {
            body["describeOnly"] = json!(true);
        }
        let mut answer = post(&self.http, url, Some(&self.token), &body).await?;
        // A statement that outlasts the request is polled at the URL Snowflake gives, backing off to 2 s.
        let mut wait = Duration::from_millis(100);
        loop {
            let (data, running) = match answer {
                Answer::Done(data) => (data, false),
                Answer::Running(data) => (data, true),
            };
            let parsed: QueryData = serde_json::from_value(data)
                .map_err(|e| WarehouseError::Database(format!("Snowflake's answer: {e}")))?;
            if !running {
                return Ok(parsed);
            }
            let next = parsed.get_result_url.ok_or_else(|| {
                WarehouseError::Database("Snowflake said the statement still runs but gave no result URL".into())
            })?;
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(2));
            let url = self.base.join(&next).map_err(|e| WarehouseError::Database(e.to_string()))?;
            answer = get(&self.http, url, &self.token).await?;
        }
    }

    /// The bytes of a further chunk of a result (Arrow IPC, gunzipped when Snowflake's storage gzipped it).
    pub(super) async fn chunk(&self, data: &QueryData, chunk: &Chunk) -> Result<Vec<u8>, WarehouseError> {
        let url = url::Url::parse(&chunk.url).map_err(|e| WarehouseError::Database(format!("a chunk's URL: {e}")))?;
        let mut request = self.http.get(url);
        if data.chunk_headers.is_empty() {
            if let Some(key) = &data.qrmk {
                request = request
                    .header("x-amz-server-side-encryption-customer-algorithm", "AES256")
                    .header("x-amz-server-side-encryption-customer-key", key);
            }
        } else {
            for (k, v) in &data.chunk_headers {
                request = request.header(k, v);
            }
        }
        let response = request.send().await.map_err(|e| WarehouseError::Connect(without_url(e)))?;
        if !response.status().is_success() {
            return Err(WarehouseError::Database(format!("a result chunk answered {}", response.status())));
        }
        let bytes = response.bytes().await.map_err(|e| WarehouseError::Connect(without_url(e)))?;
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out)
                .map_err(|e| WarehouseError::Database(format!("a result chunk: {e}")))?;
            return Ok(out);
        }
        Ok(bytes.to_vec())
    }

    /// Ends the session (best effort: it expires by itself otherwise).
    pub(super) async fn close(self) {
        if let Ok(mut url) = self.base.join("session") {
            url.query_pairs_mut().append_pair("delete", "true");
            let _ = self.http.post(url).header("authorization", auth(&self.token)).send().await;
        }
    }
}

fn auth(token: &Sensitive<String>) -> String {
    format!("Snowflake Token=\"{}\"", token.expose())
}

/// A transport error without its URL (chunk URLs are presigned: capability URLs never go in an error).
fn without_url(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

/// Snowflake's answer to a request: its data, and whether the statement still runs.
enum Answer {
    Done(Value),
    Running(Value),
}

async fn post(
    http: &reqwest::Client,
    url: url::Url,
    token: Option<&Sensitive<String>>,
    body: &Value,
) -> Result<Answer, WarehouseError> {
    let mut request = http.post(url).header("accept", "application/snowflake").json(body);
    if let Some(token) = token {
        request = request.header("authorization", auth(token));
    }
    answer(request.send().await).await
}

async fn get(http: &reqwest::Client, url: url::Url, token: &Sensitive<String>) -> Result<Answer, WarehouseError> {
    let request = http.get(url).header("accept", "application/snowflake").header("authorization", auth(token));
    answer(request.send().await).await
}

/// Snowflake's envelope: `data` on success; its code and message otherwise.
async fn answer(sent: Result<reqwest::Response, reqwest::Error>) -> Result<Answer, WarehouseError> {
    let response = sent.map_err(|e| WarehouseError::Connect(without_url(e)))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| WarehouseError::Connect(without_url(e)))?;
    let reply: Reply = serde_json::from_str(&text).map_err(|_| {
        WarehouseError::Database(format!("Snowflake answered {status}: {}", crate::net::logged_body(&text)))
    })?;
    if reply.success {
        return Ok(Answer::Done(reply.data.unwrap_or(Value::Null)));
    }
    let code = reply.code.unwrap_or_default();
    if STILL_RUNNING.contains(&code.as_str())
        && let Some(data) = reply.data
    {
        return Ok(Answer::Running(data));
    }
    let message = reply.message.unwrap_or_else(|| format!("Snowflake answered {status}"));
    Err(WarehouseError::Rejected(format!("{message} (Snowflake {code})")))
}

#[cfg(test)]
mod tests {
    use byob_core::connection::TlsMode;

    use super::*;
    use crate::{net::NetworkPolicy, warehouse::ServerSettings};

    fn settings(secret: &str, key_pair: bool) -> SnowflakeSettings {
        SnowflakeSettings {
            server: ServerSettings {
                host: "xy12345.us-east-1.snowflakecomputing.com".into(),
                port: 443,
                database: "SALES".into(),
                user: "byob_loader".into(),
                password: Some(Sensitive::new(secret.into())),
                tls: TlsMode::VerifyFull,
                schema: "PUBLIC".into(),
                network: NetworkPolicy::public_only(),
                route: crate::net::route::Route::Direct,
                statement_timeout: Duration::from_secs(600),
            },
            account: "xy12345.us-east-1".into(),
            warehouse: None,
            role: None,
            storage_integration: None,
            key_pair,
        }
    }

    #[test]
    fn a_password_login_sends_the_password() {
        let body = login_body(&settings("pa55", false), chrono::Utc::now()).unwrap_or_default();
        assert_eq!(body["data"]["PASSWORD"], "pa55");
        assert_eq!(body["data"]["ACCOUNT_NAME"], "xy12345");
        assert!(body["data"].get("AUTHENTICATOR").is_none() && body["data"].get("TOKEN").is_none());
        assert_eq!(body["data"]["SESSION_PARAMETERS"]["STATEMENT_TIMEOUT_IN_SECONDS"], 600);
    }

    #[test]
    fn a_key_pair_login_sends_a_jwt_and_no_password() {
        let pem = include_str!("../../../tests/data/snowflake_test_key.p8");
        let body = login_body(&settings(pem, true), chrono::Utc::now()).unwrap_or_default();
        let data = &body["data"];
        assert_eq!(data["AUTHENTICATOR"], "SNOWFLAKE_JWT");
        assert!(data.get("PASSWORD").is_none(), "{data}");
        let token = data["TOKEN"].as_str().unwrap_or_default();
        assert_eq!(token.split('.').count(), 3, "{token}");
        assert!(!body.to_string().contains("PRIVATE KEY"), "the key itself never leaves byob");
        let refused = login_body(&settings("not a key", true), chrono::Utc::now());
        assert!(matches!(refused, Err(WarehouseError::Connect(_))), "{refused:?}");
    }
}
