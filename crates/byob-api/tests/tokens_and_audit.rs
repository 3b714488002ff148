//! Token lifecycle and the audit trail, through the HTTP API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{TestApp, app::OPERATOR_TOKEN};
use chrono::{Duration, Utc};
use serde_json::json;

#[tokio::test]
async fn a_token_stops_working_when_revoked() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (member, token) = app.member_with_token(&org, Role::Member).await;
    assert_eq!(app.call("GET", "/v1/whoami", Some(&token), None).await.body["member_id"], member.as_str());
    let list = app.call("GET", &format!("/v1/orgs/{org}/members/{member}/tokens"), Some(&token), None).await;
    let token_id = list.body[0]["id"].as_str().unwrap().to_string();
    assert!(list.body[0].get("token").is_none(), "a listed token must not carry its value");
    assert!(token.starts_with(list.body[0]["prefix"].as_str().unwrap()));
    let revoked =
        app.call("DELETE", &format!("/v1/orgs/{org}/members/{member}/tokens/{token_id}"), Some(&token), None).await;
    assert_eq!(revoked.status, 200);
    assert!(revoked.body["revoked_at"].is_string());
    assert_eq!(app.call("GET", "/v1/whoami", Some(&token), None).await.status, 401);
}

/// A token acts in its member's name: an admin may revoke another member's tokens, not mint one (the audit trail
/// would show the admin's actions under the member's name).
#[tokio::test]
async fn only_a_member_mints_their_own_tokens() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, admin_token) = app.member_with_token(&org, Role::Admin).await;
    let (member, member_token) = app.member_with_token(&org, Role::Member).await;
    let path = format!("/v1/orgs/{org}/members/{member}/tokens");
    let minted = app.call("POST", &path, Some(&admin_token), Some(json!({ "name": "in your name" }))).await;
    assert_eq!(minted.status, 403, "{:?}", minted.body);
    assert!(minted.body["detail"].as_str().unwrap().contains("may revoke another member's tokens but not create them"));
    let own = app.call("POST", &path, Some(&member_token), Some(json!({ "name": "mine" }))).await;
    assert_eq!(own.status, 201, "{:?}", own.body);
    let revoked = app.call("DELETE", &format!("{path}/{}", own.id()), Some(&admin_token), None).await;
    assert_eq!(revoked.status, 200, "an admin may still revoke it: {:?}", revoked.body);
    assert!(revoked.body["revoked_at"].is_string());
}

#[tokio::test]
async fn a_token_stops_working_when_it_expires() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (member, _) = app.member_with_token(&org, Role::Member).await;
    let expires_at = app.clock_now() + Duration::hours(1);
    let created = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/members/{member}/tokens"),
            Some(OPERATOR_TOKEN),
            Some(json!({ "name": "short", "expires_at": expires_at })),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let token = created.body["token"].as_str().unwrap().to_string();
    assert_eq!(app.call("GET", "/v1/whoami", Some(&token), None).await.status, 200);
    app.clock.advance(Duration::minutes(61));
    assert_eq!(app.call("GET", "/v1/whoami", Some(&token), None).await.status, 401);
}

#[tokio::test]
async fn an_expiry_in_the_past_is_refused() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (member, _) = app.member_with_token(&org, Role::Member).await;
    let reply = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/members/{member}/tokens"),
            Some(OPERATOR_TOKEN),
            Some(json!({ "name": "x", "expires_at": Utc::now() - Duration::days(1) })),
        )
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.body["field"], "expires_at");
}

#[tokio::test]
async fn deleting_a_member_ends_their_tokens() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    // Another admin stays: the last one cannot be deleted (tests/last_admin.rs).
    app.member_with_token(&org, Role::Admin).await;
    let (member, token) = app.member_with_token(&org, Role::Admin).await;
    assert_eq!(
        app.call("DELETE", &format!("/v1/orgs/{org}/members/{member}"), Some(OPERATOR_TOKEN), None).await.status,
        204
    );
    assert_eq!(app.call("GET", "/v1/whoami", Some(&token), None).await.status, 401);
}

#[tokio::test]
async fn changes_and_refusals_are_audited_with_actor_and_request_id() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (admin, admin_token) = app.member_with_token(&org, Role::Admin).await;
    let (_, member_token) = app.member_with_token(&org, Role::Member).await;
    let created = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/secrets"),
            Some(&admin_token),
            Some(json!({ "name": "k", "value": "v" })),
        )
        .await;
    assert_eq!(created.status, 201);
    let denied = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/secrets"),
            Some(&member_token),
            Some(json!({ "name": "k2", "value": "v" })),
        )
        .await;
    assert_eq!(denied.status, 403);

    let audit = app.call("GET", &format!("/v1/orgs/{org}/audit?action=secret.create"), Some(&admin_token), None).await;
    assert_eq!(audit.status, 200, "{:?}", audit.body);
    let items = audit.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["outcome"], "success");
    assert_eq!(items[0]["actor"]["member_id"], admin.as_str());
    assert_eq!(items[0]["target"], created.body["id"]);
    assert!(items[0]["request_id"].as_str().unwrap().starts_with("req_"));

    let refused = app.call("GET", &format!("/v1/orgs/{org}/audit?outcome=denied"), Some(&admin_token), None).await;
    let items = refused.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["action"], "access.denied");
    assert_eq!(items[0]["target"], "/v1/orgs/{org}/secrets");
    assert_eq!(items[0]["detail"]["needs"], "admin");

    let by_actor =
        app.call("GET", &format!("/v1/orgs/{org}/audit?actor=operator&limit=2"), Some(&admin_token), None).await;
    let page = by_actor.body["items"].as_array().unwrap();
    assert_eq!(page.len(), 2);
    assert!(page.iter().all(|e| e["actor"]["kind"] == "operator"));
    let cursor = by_actor.body["next_cursor"].as_str().unwrap();
    let next = app
        .call("GET", &format!("/v1/orgs/{org}/audit?actor=operator&limit=2&cursor={cursor}"), Some(&admin_token), None)
        .await;
    assert!(
        next.body["items"].as_array().unwrap().iter().all(|e| e["id"] != page[0]["id"] && e["id"] != page[1]["id"])
    );

    assert_eq!(app.call("GET", &format!("/v1/orgs/{org}/audit"), Some(&member_token), None).await.status, 403);
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::sqlite().await;
    assert_eq!(app.call("GET", "/healthz", None, None).await.body["status"], "ok");
    assert_eq!(app.call("GET", "/readyz", None, None).await.body["status"], "ready");
    app.call("GET", "/v1/orgs", Some(OPERATOR_TOKEN), None).await;
    let metrics = app.call("GET", "/metrics", None, None).await;
    let text = metrics.body.as_str().unwrap();
    assert!(text.contains(r#"byob_http_requests_total{method="GET",route="/v1/orgs",status="200"} 1"#), "{text}");
    assert!(text.contains("byob_http_request_duration_seconds_bucket"));
    app.catalog.close().await;
    let reply = app.call("GET", "/readyz", None, None).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.body["code"], "catalog-unavailable");
}
