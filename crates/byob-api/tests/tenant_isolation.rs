//! Walks every org-scoped route of the OpenAPI document (which is built from the router, so a new route is
//! covered as soon as it exists): another org's admin is told "not found", a member is refused admin work.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::TestApp;
use serde_json::json;

struct Route {
    method: String,
    path: String,
    scope: String,
}

fn org_scoped_routes() -> Vec<Route> {
    let doc = serde_json::to_value(byob_api::openapi()).unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.contains("{org}") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            // Capability URLs (a relay part URL carries its own token) are public by design: tested in uploads.
            if op.get("security").is_none() {
                continue;
            }
            let scope =
                op["security"][0]["bearer"][0].as_str().unwrap_or_else(|| panic!("{method} {path} has no scope"));
            routes.push(Route { method: method.to_uppercase(), path: path.clone(), scope: scope.to_string() });
        }
    }
    assert!(routes.len() >= 24, "expected every org-scoped route, found {}", routes.len());
    routes
}

/// Fills `{org}` and the other ids; ids of sub-records are fresh (they do not exist), which must not matter:
/// access is decided before existence.
fn concrete(path: &str, org: &str, member: &str) -> String {
    path.replace("{org}", org)
        .replace("{member}", member)
        .replace("{token}", &byob_core::TokenId::generate().to_string())
        .replace("{secret}", &byob_core::SecretId::generate().to_string())
        .replace("{integration}", &byob_core::IntegrationId::generate().to_string())
        .replace("{upload}", &byob_core::UploadId::generate().to_string())
        .replace("{attachment}", &byob_core::AttachmentId::generate().to_string())
        .replace("{collection}", "orders")
        .replace("{field}", "invoice")
        .replace("{job}", &byob_core::JobId::generate().to_string())
        .replace("{connection}", "warehouse")
        .replace("{table}", "orders")
}

fn body_for(method: &str) -> Option<serde_json::Value> {
    matches!(method, "POST" | "PATCH" | "PUT").then(|| json!({}))
}

#[tokio::test]
async fn another_orgs_admin_gets_not_found_on_every_org_route() {
    let app = TestApp::sqlite().await;
    let victim = app.create_org("victim").await;
    let (victim_member, _) = app.member_with_token(&victim, Role::Member).await;
    let attacker = app.create_org("attacker").await;
    let (_, attacker_admin) = app.member_with_token(&attacker, Role::Admin).await;
    for route in org_scoped_routes() {
        let path = concrete(&route.path, &victim, &victim_member);
        let reply = app.call(&route.method, &path, Some(&attacker_admin), body_for(&route.method)).await;
        assert_eq!(reply.status, 404, "{} {}: {:?}", route.method, route.path, reply.body);
        assert_eq!(reply.body["code"], "organization-not-found", "{} {}", route.method, route.path);
        assert_eq!(reply.content_type, "application/problem+json");
    }
}

#[tokio::test]
async fn a_member_is_forbidden_admin_routes() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member_token) = app.member_with_token(&org, Role::Member).await;
    let (other_member, _) = app.member_with_token(&org, Role::Member).await;
    let mut checked = 0;
    for route in org_scoped_routes().into_iter().filter(|r| r.scope != "member") {
        // `self` routes are refused when they concern another member.
        let path = concrete(&route.path, &org, &other_member);
        let reply = app.call(&route.method, &path, Some(&member_token), body_for(&route.method)).await;
        assert_eq!(reply.status, 403, "{} {}: {:?}", route.method, route.path, reply.body);
        assert_eq!(reply.body["code"], "forbidden");
        checked += 1;
    }
    assert!(checked >= 12);
}

#[tokio::test]
async fn an_admin_is_forbidden_operator_routes() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (member, admin_token) = app.member_with_token(&org, Role::Admin).await;
    for route in org_scoped_routes().into_iter().filter(|r| r.scope == "operator") {
        let path = concrete(&route.path, &org, &member);
        let reply = app.call(&route.method, &path, Some(&admin_token), body_for(&route.method)).await;
        assert_eq!(reply.status, 403, "{} {}: {:?}", route.method, route.path, reply.body);
    }
    let reply = app.call("POST", "/v1/orgs", Some(&admin_token), Some(json!({ "name": "x" }))).await;
    assert_eq!(reply.status, 403);
}

#[tokio::test]
async fn every_route_refuses_a_missing_or_unknown_token() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (member, _) = app.member_with_token(&org, Role::Admin).await;
    for route in org_scoped_routes() {
        let path = concrete(&route.path, &org, &member);
        for token in [None, Some("byob_not-a-real-token")] {
            let reply = app.call(&route.method, &path, token, body_for(&route.method)).await;
            assert_eq!(reply.status, 401, "{} {}", route.method, route.path);
            assert_eq!(reply.body["code"], "unauthenticated");
        }
    }
}

#[tokio::test]
async fn a_member_lists_only_their_own_org() {
    let app = TestApp::sqlite().await;
    let mine = app.create_org("mine").await;
    app.create_org("theirs").await;
    let (_, token) = app.member_with_token(&mine, Role::Member).await;
    let reply = app.call("GET", "/v1/orgs", Some(&token), None).await;
    let ids: Vec<_> = reply.body["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![mine.as_str()]);
}
