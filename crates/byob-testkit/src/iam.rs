//! A stand-in for Google's IAM Credentials `generateAccessToken` (no emulator exists) that models who may mint
//! whose tokens: each service account lists the members holding Token Creator on it, and a request with a
//! delegation chain succeeds only if the caller may mint the first delegate's tokens, each delegate the next's,
//! and the last the target's — Google's rules. The caller is the self-signed JWT's issuer (not verified).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{extract::State, http::HeaderMap, routing::post};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

/// One request: the target account, the caller, the delegates, and whether it was granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamCall {
    pub target: String,
    pub caller: String,
    pub delegates: Vec<String>,
    pub granted: bool,
}

pub type IamCalls = Arc<Mutex<Vec<IamCall>>>;

/// Who holds Token Creator on which account: `account → members`.
pub type Trust = HashMap<String, Vec<String>>;

fn caller(headers: &HeaderMap) -> String {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let jwt = auth.strip_prefix("Bearer ").unwrap_or_default();
    jwt.split('.')
        .nth(1)
        .and_then(|claims| URL_SAFE_NO_PAD.decode(claims).ok())
        .and_then(|claims| serde_json::from_slice::<Value>(&claims).ok())
        .and_then(|claims| claims["iss"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Starts the stand-in; returns its base URL and the calls it received.
pub async fn start(trust: Trust) -> (String, IamCalls) {
    let calls = IamCalls::default();
    let app = axum::Router::new()
        .route(
            "/v1/projects/-/serviceAccounts/{target}",
            post(
                |State((calls, trust)): State<(IamCalls, Arc<Trust>)>,
                 axum::extract::Path(target): axum::extract::Path<String>,
                 headers: HeaderMap,
                 body: axum::Json<Value>| async move {
                    let target = target.trim_end_matches(":generateAccessToken").to_string();
                    let delegates: Vec<String> = body["delegates"]
                        .as_array()
                        .map(|d| {
                            d.iter()
                                .filter_map(Value::as_str)
                                .map(|s| s.trim_start_matches("projects/-/serviceAccounts/").to_string())
                                .collect()
                        })
                        .unwrap_or_default();
                    let caller = caller(&headers);
                    let chain: Vec<&String> = std::iter::once(&caller).chain(&delegates).chain([&target]).collect();
                    let granted = chain
                        .windows(2)
                        .all(|hop| trust.get(hop[1].as_str()).is_some_and(|members| members.contains(hop[0])));
                    calls.lock().unwrap().push(IamCall { target, caller, delegates, granted });
                    if !granted {
                        return (
                            axum::http::StatusCode::FORBIDDEN,
                            axum::Json(json!({ "error": { "code": 403, "status": "PERMISSION_DENIED" } })),
                        );
                    }
                    let expire = (chrono::Utc::now() + chrono::Duration::hours(1))
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                    (
                        axum::http::StatusCode::OK,
                        axum::Json(json!({ "accessToken": "ya29.impersonated", "expireTime": expire })),
                    )
                },
            ),
        )
        .with_state((calls.clone(), Arc::new(trust)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), calls)
}

/// byob's own identity for tests: the emulator key with a platform email, authenticating with a self-signed JWT.
#[must_use]
pub fn byob_root_key() -> (String, &'static str) {
    let email = "byob@byob-platform.iam.gserviceaccount.com";
    let mut key: Value = serde_json::from_str(&crate::buckets::gcs_test_key()).expect("a key");
    key["client_email"] = json!(email);
    if let Some(object) = key.as_object_mut() {
        object.remove("disable_oauth");
    }
    (key.to_string(), email)
}
