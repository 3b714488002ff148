//! Request rates per token and per org: a noisy token, or a noisy org with many tokens, is answered 429
//! `rate-limited` with `Retry-After`, while another org's requests keep being served; the operator is not
//! limited, and an outsider naming an org in the path spends none of its budget.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    app::{OPERATOR_TOKEN, TestOptions},
};

/// Requests in a row until one is limited (at most `n`); returns the statuses and the first 429's reply.
async fn flood(app: &TestApp, path: &str, token: &str, n: usize) -> (Vec<u16>, Option<byob_testkit::app::Reply>) {
    let mut statuses = Vec::new();
    for _ in 0..n {
        let reply = app.call("GET", path, Some(token), None).await;
        statuses.push(reply.status);
        if reply.status == 429 {
            return (statuses, Some(reply));
        }
    }
    (statuses, None)
}

#[tokio::test]
async fn a_noisy_token_is_throttled_and_other_tenants_are_not() {
    // One request a second per token (bursts of two), ten per org: tight enough that a loop of requests meets
    // the limit however slow the machine.
    let app = TestApp::sqlite_with(TestOptions { rates: (1, 10), ..TestOptions::default() }).await;
    let noisy = app.create_org("noisy").await;
    let quiet = app.create_org("quiet").await;
    let (_, noisy_token) = app.member_with_token(&noisy, Role::Member).await;
    let (_, quiet_token) = app.member_with_token(&quiet, Role::Member).await;

    let path = format!("/v1/orgs/{noisy}/connections");
    let (statuses, limited) = flood(&app, &path, &noisy_token, 50).await;
    let limited = limited.unwrap_or_else(|| panic!("never limited: {statuses:?}"));
    assert!(statuses.starts_with(&[200]), "{statuses:?}");
    assert_eq!(limited.body["code"], "rate-limited", "{:?}", limited.body);
    assert!(limited.body["detail"].as_str().unwrap().contains("this token"), "{:?}", limited.body);
    let retry_after: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1, "{retry_after}");

    // The other org's member is served, and so is the operator.
    let other = app.call("GET", &format!("/v1/orgs/{quiet}/connections"), Some(&quiet_token), None).await;
    assert_eq!(other.status, 200, "{:?}", other.body);
    for _ in 0..20 {
        assert_eq!(app.call("GET", &path, Some(OPERATOR_TOKEN), None).await.status, 200);
    }
}

#[tokio::test]
async fn an_orgs_tokens_share_one_budget() {
    // Plenty per token, three a second (bursts of six) for the whole org: many tokens do not buy more.
    let app = TestApp::sqlite_with(TestOptions { rates: (1000, 3), ..TestOptions::default() }).await;
    let org = app.create_org("many").await;
    let other = app.create_org("other").await;
    let mut tokens = Vec::new();
    for _ in 0..10 {
        tokens.push(app.member_with_token(&org, Role::Member).await.1);
    }
    let (_, other_token) = app.member_with_token(&other, Role::Member).await;
    let path = format!("/v1/orgs/{org}/connections");
    let mut limited = None;
    'outer: for _ in 0..10 {
        for token in &tokens {
            let reply = app.call("GET", &path, Some(token), None).await;
            if reply.status == 429 {
                limited = Some(reply);
                break 'outer;
            }
        }
    }
    let limited = limited.expect("the org's budget ran out");
    assert!(limited.body["detail"].as_str().unwrap().contains("the org's tokens together"), "{:?}", limited.body);
    assert!(limited.headers.contains_key("retry-after"));
    // An outsider naming the org in the path is refused as ever (404), without spending its budget; the other
    // org is served.
    let outsider = app.call("GET", &path, Some(&other_token), None).await;
    assert_eq!(outsider.status, 404, "{:?}", outsider.body);
    let served = app.call("GET", &format!("/v1/orgs/{other}/connections"), Some(&other_token), None).await;
    assert_eq!(served.status, 200);
}
