//! The web console in a real browser (Debian's headless Chromium over WebDriver): signing in with a token, a
//! wrong token refused, pages shown by role — a member neither sees the admin pages nor reaches them by URL —
//! and the console served with its strict Content-Security-Policy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{TestApp, app::OPERATOR_TOKEN, browser::Browser};

async fn sign_in(browser: &Browser, token: &str) {
    browser.open_page("/console").await;
    browser.wait_for("#token").await.send_keys(token).await.unwrap();
    browser.wait_for("#signin").await.click().await.unwrap();
}

/// The pages the navigation offers, once it shows.
async fn nav(browser: &Browser) -> Vec<String> {
    browser.wait_for("#nav a[data-page='']").await;
    let mut pages = Vec::new();
    for link in browser.all("#nav a").await {
        pages.push(link.attr("data-page").await.unwrap().unwrap_or_default());
    }
    pages
}

#[tokio::test]
async fn the_console_is_served_with_a_strict_policy() {
    let app = TestApp::sqlite().await;
    let page = app.call("GET", "/console", None, None).await;
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"), "{}", page.content_type);
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"), "{policy}");
    let script = app.call("GET", "/console/app.js", None, None).await;
    assert!(script.content_type.starts_with("text/javascript"), "{}", script.content_type);
    assert_eq!(app.call("GET", "/console/missing.js", None, None).await.status, 404);
}

#[tokio::test]
async fn a_wrong_token_is_refused_and_members_do_not_reach_admin_pages() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let browser = Browser::open(app.router.clone()).await;

    sign_in(&browser, "byob_not-a-token").await;
    let refused = browser.wait_for("[data-testid=problem]").await;
    assert!(refused.text().await.unwrap().contains("That token was refused"));
    assert_eq!(browser.all("#token").await.len(), 1, "still on the sign-in form");

    sign_in(&browser, &member).await;
    assert_eq!(nav(&browser).await, ["", "connections", "jobs"], "a member's pages only");
    let who = browser.wait_for("#who").await.text().await.unwrap();
    assert!(who.starts_with("member of "), "{who}");
    browser.open_page("/console#/members").await;
    let forbidden = browser.wait_for("[data-testid=forbidden]").await;
    assert!(forbidden.text().await.unwrap().contains("admins"));
    let url = browser.driver.current_url().await.unwrap().to_string();
    assert!(!url.contains(&member), "the token never goes into a URL: {url}");
    browser.close().await;
}

#[tokio::test]
async fn admins_see_their_org_and_the_operator_sees_orgs() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, admin) = app.member_with_token(&org, Role::Admin).await;
    let browser = Browser::open(app.router.clone()).await;

    sign_in(&browser, &admin).await;
    assert_eq!(nav(&browser).await, ["", "connections", "jobs", "integrations", "members", "audit"]);
    browser.wait_for("#nav a[data-page=members]").await.click().await.unwrap();
    let members = browser.wait_for("main table").await;
    assert!(members.text().await.unwrap().contains("admin"), "the members' roles are listed");

    browser.wait_for("#signout").await.click().await.unwrap();
    sign_in(&browser, OPERATOR_TOKEN).await;
    assert_eq!(nav(&browser).await, ["", "orgs"]);
    browser.wait_for("#nav a[data-page=orgs]").await.click().await.unwrap();
    let orgs = browser.wait_for("main table").await;
    assert!(orgs.text().await.unwrap().contains("acme"));
    browser.close().await;
}
