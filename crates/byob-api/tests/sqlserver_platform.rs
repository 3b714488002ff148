//! Microsoft SQL Server as a data platform. No SQL Server runs here (docs/testing.md), so what is checked is
//! byob's side: connections with their fields and precise errors; the sign-in against the test kit's TDS peer
//! (encryption asked for as the connection's mode says, a server without TLS never sent the password, a refused
//! login reported in SQL Server's words, Azure SQL's redirect followed once and only to an allowed address);
//! export SQL refused unless it only reads. The statements of loads and exports are checked exactly in
//! `byob-ports` (`warehouse::sqlserver`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    fake_tds::{
        ENCRYPT_NOT_SUP, ENCRYPT_ON, ENCRYPT_REQ, FakeTds, LOGIN7, LoginAnswer, PRELOGIN, login7_text,
        prelogin_encryption,
    },
    uploads::{assert_connection_refusals, with_changes},
};
use serde_json::{Value, json};

const PASSWORD: &str = "S3cret-pa55word";

fn connection(name: &str, port: u16, tls: &str) -> Value {
    json!({ "name": name, "platform": "sqlserver", "host": "127.0.0.1", "port": port, "tls": tls,
            "database": "sales", "user": "byob_loader", "password": PASSWORD })
}

async fn create(app: &TestApp, org: &str, body: Value) -> Value {
    let created = app.call("POST", &format!("/v1/orgs/{org}/connections"), Some(OPERATOR_TOKEN), Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    created.body
}

async fn test_connection(app: &TestApp, org: &str, name: &str) -> Value {
    let test = app.call("POST", &format!("/v1/orgs/{org}/connections/{name}/test"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(test.status, 200, "{:?}", test.body);
    assert_eq!(test.body["ok"], false, "{:?}", test.body);
    assert!(!test.body.to_string().contains(PASSWORD), "{:?}", test.body);
    test.body
}

#[tokio::test]
async fn sqlserver_connections_take_their_fields_and_say_what_is_wrong() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let created = create(
        &app,
        &org,
        json!({ "name": "mssql", "platform": "mssql", "host": "sql.example.com", "database": "sales",
                "user": "byob_loader", "password": PASSWORD, "tls": "verify-full" }),
    )
    .await;
    assert_eq!(
        (created["platform"].as_str(), created["port"].as_u64(), created["schema"].as_str()),
        (Some("sqlserver"), Some(1433), Some("dbo")),
        "{created}"
    );
    assert!(!created.to_string().contains(PASSWORD));
    let seen = app.call("GET", &format!("/v1/orgs/{org}/connections/mssql"), Some(&member), None).await;
    assert_eq!(seen.body["platform"], "sqlserver", "{:?}", seen.body);
    let azure =
        with_changes(&connection("azure", 1433, "require"), &json!({ "platform": "azure-sql", "schema": "etl" }));
    assert_eq!(create(&app, &org, azure).await["schema"], "etl");

    let base = connection("bad", 1433, "require");
    assert_connection_refusals(
        &app,
        &org,
        &base,
        &[
            (json!({ "tls": "verify-ca" }), "tls", "connection-tls-mode"),
            (json!({ "account": "xy12345" }), "account", "connection-field-not-for-platform"),
            (json!({ "catalog": "main" }), "catalog", "connection-field-not-for-platform"),
            (json!({ "database": null }), "database", "connection-field-required"),
            (json!({ "user": null }), "user", "connection-field-required"),
            (json!({ "host": null }), "host", "connection-host"),
            (json!({ "platform": "sybase" }), "platform", "platform-unsupported"),
        ],
    )
    .await;
    let refused = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/connections"),
            Some(OPERATOR_TOKEN),
            Some(with_changes(&base, &json!({ "tls": "verify-ca" }))),
        )
        .await;
    assert!(refused.body["detail"].as_str().unwrap().contains("`verify-full`"), "{:?}", refused.body);
}

#[tokio::test]
async fn a_server_without_tls_never_sees_the_login_when_encryption_is_required() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let peer = FakeTds::start(ENCRYPT_NOT_SUP, LoginAnswer::Refuse("never asked".into())).await;
    create(&app, &org, connection("mssql", peer.port, "require")).await;
    let test = test_connection(&app, &org, "mssql").await;
    assert!(test["error"].as_str().unwrap().contains("encryption"), "{test}");
    let packets = peer.packets().await;
    assert_eq!(packets.len(), 1, "only the PRELOGIN was sent: {packets:?}");
    assert_eq!((packets[0].kind, prelogin_encryption(&packets[0].payload)), (PRELOGIN, Some(ENCRYPT_REQ)));
}

#[tokio::test]
async fn a_refused_login_is_reported_in_sql_servers_words() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let peer =
        FakeTds::start(ENCRYPT_NOT_SUP, LoginAnswer::Refuse("Login failed for user 'byob_loader'.".into())).await;
    create(&app, &org, connection("mssql", peer.port, "disable")).await;
    let test = test_connection(&app, &org, "mssql").await;
    assert!(test["error"].as_str().unwrap().contains("Login failed for user 'byob_loader'."), "{test}");
    let packets = peer.packets().await;
    let kinds: Vec<u8> = packets.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [PRELOGIN, LOGIN7]);
    assert_eq!(prelogin_encryption(&packets[0].payload), Some(ENCRYPT_NOT_SUP));
    let login = &packets[1].payload;
    assert_eq!(login7_text(login, 40).as_deref(), Some("byob_loader"));
    assert_eq!(login7_text(login, 48).as_deref(), Some("byob"));
    assert_eq!(login7_text(login, 68).as_deref(), Some("sales"));
}

#[tokio::test]
async fn prefer_encrypts_when_it_can_and_signs_in_plainly_only_when_the_server_has_no_tls() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let peer =
        FakeTds::start(ENCRYPT_NOT_SUP, LoginAnswer::Refuse("Login failed for user 'byob_loader'.".into())).await;
    create(&app, &org, connection("mssql", peer.port, "prefer")).await;
    test_connection(&app, &org, "mssql").await;
    let packets = peer.packets().await;
    let seen: Vec<(usize, u8, Option<u8>)> = packets
        .iter()
        .map(|p| (p.connection, p.kind, if p.kind == PRELOGIN { prelogin_encryption(&p.payload) } else { None }))
        .collect();
    assert_eq!(
        seen,
        [(0, PRELOGIN, Some(ENCRYPT_ON)), (1, PRELOGIN, Some(ENCRYPT_NOT_SUP)), (1, LOGIN7, None)],
        "TLS asked for first; the login went only on the second connection"
    );
}

#[tokio::test]
async fn a_redirect_is_followed_once_and_only_to_an_address_byob_may_reach() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let node = FakeTds::start(ENCRYPT_NOT_SUP, LoginAnswer::Refuse("Login failed on the node.".into())).await;
    let gateway = FakeTds::start(ENCRYPT_NOT_SUP, LoginAnswer::Redirect("127.0.0.1".into(), node.port)).await;
    create(&app, &org, connection("azure", gateway.port, "disable")).await;
    let test = test_connection(&app, &org, "azure").await;
    assert!(test["error"].as_str().unwrap().contains("Login failed on the node."), "{test}");
    assert_eq!(node.packets().await.len(), 2, "the node got the PRELOGIN and the login");

    // A gateway that sends byob to the cloud's metadata address is refused before any connection is made.
    let hostile = FakeTds::start(ENCRYPT_NOT_SUP, LoginAnswer::Redirect("169.254.169.254".into(), 80)).await;
    create(&app, &org, connection("hostile", hostile.port, "disable")).await;
    let test = test_connection(&app, &org, "hostile").await;
    assert!(test["error"].as_str().unwrap().contains("169.254.169.254"), "{test}");

    // A node that redirects again is not followed a second time.
    let looping = FakeTds::start(ENCRYPT_NOT_SUP, LoginAnswer::Redirect("127.0.0.1".into(), gateway.port)).await;
    let twice = FakeTds::start(ENCRYPT_NOT_SUP, LoginAnswer::Redirect("127.0.0.1".into(), looping.port)).await;
    create(&app, &org, connection("twice", twice.port, "disable")).await;
    let test = test_connection(&app, &org, "twice").await;
    assert!(test["error"].as_str().unwrap().contains("redirected byob more than once"), "{test}");
}

#[tokio::test]
async fn export_sql_for_sql_server_must_only_read() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    create(&app, &org, connection("mssql", 1, "disable")).await;
    for (query, named) in [
        ("SELECT * INTO dbo.copy FROM dbo.sales", "`INTO`"),
        ("SELECT 1; DELETE FROM dbo.sales", "more than one statement"),
        ("SELECT 1 EXEC xp_cmdshell 'id'", "`EXEC`"),
    ] {
        let refused = app
            .call(
                "POST",
                &format!("/v1/orgs/{org}/exports"),
                Some(OPERATOR_TOKEN),
                Some(json!({ "connection": "mssql", "query": query, "format": "csv" })),
            )
            .await;
        assert_eq!(refused.status, 422, "{query}: {:?}", refused.body);
        assert_eq!(refused.body["rule"], "export-query-not-read-only", "{:?}", refused.body);
        assert!(refused.body["detail"].as_str().unwrap().contains(named), "{query}: {:?}", refused.body);
    }
}
