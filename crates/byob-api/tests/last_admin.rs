//! An org keeps at least one admin: the last one can be neither demoted nor deleted, by themself, another admin or
//! the operator; two admins demoting each other at the same moment leave one admin, on both catalogs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{TestApp, app::OPERATOR_TOKEN};
use serde_json::json;

async fn the_last_admin_stays(app: TestApp) {
    let org = app.create_org("acme").await;
    let (ada, ada_token) = app.member_with_token(&org, Role::Admin).await;
    let member = |id: &str| format!("/v1/orgs/{org}/members/{id}");
    let demote = json!({ "role": "member" });

    for (token, method, body) in [
        (ada_token.as_str(), "PATCH", Some(demote.clone())),
        (ada_token.as_str(), "DELETE", None),
        (OPERATOR_TOKEN, "PATCH", Some(demote.clone())),
        (OPERATOR_TOKEN, "DELETE", None),
    ] {
        let reply = app.call(method, &member(&ada), Some(token), body).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (409, Some("last-admin")),
            "{method}: {:?}",
            reply.body
        );
    }
    let who = app.call("GET", &member(&ada), Some(&ada_token), None).await;
    assert_eq!(who.body["role"], "admin", "nothing changed");

    // With a second admin, one may step down; then the other is the last.
    let (grace, grace_token) = app.member_with_token(&org, Role::Admin).await;
    let reply = app.call("PATCH", &member(&ada), Some(&ada_token), Some(demote.clone())).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let reply = app.call("DELETE", &member(&grace), Some(&grace_token), None).await;
    assert_eq!(reply.body["code"], "last-admin", "{:?}", reply.body);

    // Two admins demoting each other at once: one succeeds, one is refused.
    let promote = app.call("PATCH", &member(&ada), Some(&grace_token), Some(json!({ "role": "admin" }))).await;
    assert_eq!(promote.status, 200, "{:?}", promote.body);
    let (grace_path, ada_path) = (member(&grace), member(&ada));
    let (a, b) = tokio::join!(
        app.call("PATCH", &grace_path, Some(&ada_token), Some(demote.clone())),
        app.call("PATCH", &ada_path, Some(&grace_token), Some(demote.clone())),
    );
    // The loser is refused as the last admin, or, if the winner's change came first, as no longer an admin.
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert!(statuses[0] == 200 && matches!(statuses[1], 403 | 409), "{:?} {:?}", a.body, b.body);
    let listed = app.call("GET", &format!("/v1/orgs/{org}/members"), Some(OPERATOR_TOKEN), None).await;
    let items = listed.body["items"].as_array().or_else(|| listed.body.as_array()).cloned().unwrap_or_default();
    assert_eq!(items.iter().filter(|m| m["role"] == "admin").count(), 1, "{:?}", listed.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite() {
    the_last_admin_stays(TestApp::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() {
    the_last_admin_stays(TestApp::postgres().await).await;
}
