//! Malformed input of every kind is a 4xx problem+json with a stable code, never a 500.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::{body::Body, http::Request};
use byob_testkit::{
    TestApp,
    app::{MAX_BODY_BYTES, OPERATOR_TOKEN},
};
use serde_json::json;

fn raw(method: &str, path: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut builder =
        Request::builder().method(method).uri(path).header("authorization", format!("Bearer {OPERATOR_TOKEN}"));
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    builder.body(body.into()).unwrap()
}

async fn expect_problem(app: &TestApp, request: Request<Body>, status: u16, code: &str) -> serde_json::Value {
    let reply = app.send(request).await;
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.body["code"], code, "{:?}", reply.body);
    assert_eq!(reply.body["type"], format!("urn:byob:problem:{code}"));
    assert!(reply.body["request_id"].as_str().is_some_and(|r| r.starts_with("req_")));
    reply.body
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = TestApp::sqlite().await;
    for body in ["{", "{\"name\":", "not json", "{\"name\": \"a\"} trailing", ""] {
        expect_problem(&app, raw("POST", "/v1/orgs", Some("application/json"), body), 400, "malformed-json").await;
    }
}

#[tokio::test]
async fn unknown_and_mistyped_fields_name_the_field() {
    let app = TestApp::sqlite().await;
    let body = expect_problem(
        &app,
        raw("POST", "/v1/orgs", Some("application/json"), r#"{"name":"a","nmae":"b"}"#),
        422,
        "invalid-body",
    )
    .await;
    assert_eq!(body["field"], "nmae");
    let org = app.create_org("acme").await;
    let path = format!("/v1/orgs/{org}/members");
    let body = expect_problem(
        &app,
        raw("POST", &path, Some("application/json"), r#"{"name":"a","role":"owner"}"#),
        422,
        "invalid-body",
    )
    .await;
    assert_eq!(body["field"], "role");
    let body = expect_problem(
        &app,
        raw("POST", &path, Some("application/json"), r#"{"name":7,"role":"admin"}"#),
        422,
        "invalid-body",
    )
    .await;
    assert_eq!(body["field"], "name");
    let body =
        expect_problem(&app, raw("POST", &path, Some("application/json"), r#"[1,2]"#), 422, "invalid-body").await;
    assert!(body["detail"].as_str().unwrap().contains("expected"));
}

#[tokio::test]
async fn rule_violations_are_422_with_the_field() {
    let app = TestApp::sqlite().await;
    let body = expect_problem(
        &app,
        raw("POST", "/v1/orgs", Some("application/json"), r#"{"name":"   "}"#),
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["field"], "name");
    let org = app.create_org("acme").await;
    let path = format!("/v1/orgs/{org}/members");
    let body = expect_problem(
        &app,
        raw("POST", &path, Some("application/json"), r#"{"name":"a","role":"admin","email":"nope"}"#),
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["field"], "email");
    let path = format!("/v1/orgs/{org}/secrets");
    let body = expect_problem(
        &app,
        raw("POST", &path, Some("application/json"), r#"{"name":"../etc","value":"v"}"#),
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["field"], "name");
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = TestApp::sqlite().await;
    let big = json!({ "name": "x".repeat(MAX_BODY_BYTES + 1) }).to_string();
    expect_problem(&app, raw("POST", "/v1/orgs", Some("application/json"), big), 413, "payload-too-large").await;
    // Without a Content-Length (a stream), the limit holds too.
    let chunks = futures_stream(MAX_BODY_BYTES + 10);
    expect_problem(
        &app,
        raw("POST", "/v1/orgs", Some("application/json"), Body::from_stream(chunks)),
        413,
        "payload-too-large",
    )
    .await;
}

fn futures_stream(len: usize) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures::stream::iter(vec![Ok(vec![b'{'; len / 2]), Ok(vec![b' '; len / 2 + 1])])
}

#[tokio::test]
async fn malformed_ids_are_400_naming_the_id() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    for path in [
        "/v1/orgs/not-an-id".to_string(),
        "/v1/orgs/org_".to_string(),
        format!("/v1/orgs/{org}/members/mem_zzzz"),
        format!("/v1/orgs/{org}/members/{}", org), // an org id where a member id belongs
        format!("/v1/orgs/{org}/secrets/..%2F..%2Fetc"),
    ] {
        let body = expect_problem(&app, raw("GET", &path, None, Body::empty()), 400, "invalid-id").await;
        assert!(body["detail"].as_str().unwrap().contains("is not a valid"), "{body}");
    }
}

#[tokio::test]
async fn wrong_content_type_method_and_route() {
    let app = TestApp::sqlite().await;
    expect_problem(&app, raw("POST", "/v1/orgs", Some("text/plain"), r#"{"name":"a"}"#), 415, "unsupported-media-type")
        .await;
    expect_problem(&app, raw("POST", "/v1/orgs", None, r#"{"name":"a"}"#), 415, "unsupported-media-type").await;
    expect_problem(&app, raw("PUT", "/v1/orgs", Some("application/json"), "{}"), 405, "method-not-allowed").await;
    expect_problem(&app, raw("GET", "/v1/nothing-here", None, Body::empty()), 404, "route-not-found").await;
}

#[tokio::test]
async fn bad_query_parameters_are_400() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    for query in ["limit=0", "limit=abc", "limit=5000", "cursor=xyz", "bogus=1"] {
        expect_problem(&app, raw("GET", &format!("/v1/orgs?{query}"), None, Body::empty()), 400, "invalid-query").await;
    }
    for query in
        ["outcome=maybe", "since=yesterday", "until=2026-13-01T00:00:00Z", "cursor=mem_01m810rme8mc8mhscx1wy36pwb"]
    {
        let path = format!("/v1/orgs/{org}/audit?{query}");
        let reply = app.send(raw("GET", &path, None, Body::empty())).await;
        assert!(matches!(reply.status, 400 | 422), "{query}: {:?}", reply.body);
        assert_eq!(reply.content_type, "application/problem+json");
    }
}

#[tokio::test]
async fn a_callers_request_id_is_kept_only_when_plain() {
    let app = TestApp::sqlite().await;
    let mut request = raw("GET", "/v1/nothing", None, Body::empty());
    request.headers_mut().insert("x-request-id", "trace-123".parse().unwrap());
    assert_eq!(app.send(request).await.body["request_id"], "trace-123");
    let mut request = raw("GET", "/v1/nothing", None, Body::empty());
    request.headers_mut().insert("x-request-id", "bad id with spaces".parse().unwrap());
    assert!(app.send(request).await.body["request_id"].as_str().unwrap().starts_with("req_"));
}
