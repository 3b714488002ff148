//! Private connectivity against real parts on loopback: OpenSSH's server as the bastion in front of the test
//! PostgreSQL, a local DNS server for a private-link name, a TLS server whose certificate is for another name,
//! and a SOCKS5 proxy; and every malformed network field refused with the field named.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_testkit::uploads::{create_integration, load, moto_uploads_integration, upload_bytes};
use byob_testkit::{
    TestApp,
    app::{OPERATOR_TOKEN, TestOptions},
    network::{ConnectProxy, DnsServer, Socks5Proxy, Sshd, TlsServer, host_key},
};
use serde_json::{Value, json};

async fn create(app: &TestApp, org: &str, body: Value) -> byob_testkit::app::Reply {
    app.call("POST", &format!("/v1/orgs/{org}/connections"), Some(OPERATOR_TOKEN), Some(body)).await
}

async fn verify(app: &TestApp, org: &str, name: &str) -> Value {
    let reply =
        app.call("POST", &format!("/v1/orgs/{org}/connections/{name}/verify"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("{name}"))
}

fn status(report: &Value, name: &str) -> String {
    check(report, name)["status"].as_str().unwrap().to_string()
}

async fn pg_target() -> (String, u16, String, String) {
    let url = url::Url::parse(&byob_testkit::fresh_postgres_database().await).unwrap();
    (
        url.host_str().unwrap().to_string(),
        url.port().unwrap(),
        url.path().trim_start_matches('/').to_string(),
        url.username().to_string(),
    )
}

#[tokio::test]
async fn ssh_tunnel_confirms_the_host_key_and_carries_the_connection() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let dir = tempfile::tempdir().unwrap();
    let (key, fingerprint) = host_key(dir.path(), "host_key");
    let (pg_host, pg_port, database, user) = pg_target().await;
    let sshd_user = String::from_utf8(std::process::Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    // sshd is started after the connection exists: its authorized_keys is the line byob shows.
    let created = create(
        &app,
        &org,
        json!({ "name": "pg", "platform": "postgres", "host": pg_host, "port": pg_port, "database": database,
                "user": user, "tls": "disable",
                "network": { "mode": "ssh_tunnel", "host": "127.0.0.1", "port": 2, "user": sshd_user.trim() } }),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let line = created.body["authorized_keys"].as_str().unwrap().to_string();
    assert!(
        line.starts_with(&format!("restrict,port-forwarding,permitopen=\"{pg_host}:{pg_port}\",no-pty ssh-ed25519 ")),
        "{line}"
    );
    let shown = created.body["network"].to_string();
    assert!(!shown.contains("private_key"), "{shown}");
    let sshd = Sshd::start(dir.path(), &key, &format!("{line}\n")).await;
    // The port sshd got is the bastion's: recreate the connection with it.
    let created = create(
        &app,
        &org,
        json!({ "name": "pg2", "platform": "postgres", "host": pg_host, "port": pg_port, "database": database,
                "user": user, "tls": "disable",
                "network": { "mode": "ssh_tunnel", "host": "127.0.0.1", "port": sshd.port, "user": sshd.user } }),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let line = created.body["authorized_keys"].as_str().unwrap().to_string();
    std::fs::write(sshd.dir().join("authorized_keys"), format!("{line}\n")).unwrap();

    // Unconfirmed: nothing is sent, and the report says how to confirm.
    let report = verify(&app, &org, "pg2").await;
    assert_eq!(status(&report, "ssh-host-key-matches"), "failed", "{report}");
    assert!(check(&report, "ssh-host-key-matches")["message"].as_str().unwrap().contains(&fingerprint), "{report}");
    assert_eq!(status(&report, "network-port-reachable"), "skipped");
    let refused = app.call("GET", &format!("/v1/orgs/{org}/connections/pg2/tables"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(refused.status, 502, "{:?}", refused.body);
    assert!(refused.body["detail"].as_str().unwrap().contains("not confirmed"), "{:?}", refused.body);

    // A fingerprint the bastion does not offer is not pinned; the one it offers is.
    let trust = |fp: String| {
        let (app, org) = (&app, &org);
        async move {
            app.call(
                "POST",
                &format!("/v1/orgs/{org}/connections/pg2/ssh-host-key"),
                Some(OPERATOR_TOKEN),
                Some(json!({ "fingerprint": fp })),
            )
            .await
        }
    };
    let wrong = trust("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU".into()).await;
    assert_eq!((wrong.status, wrong.body["code"].as_str()), (409, Some("ssh-host-key-mismatch")), "{:?}", wrong.body);
    let malformed = trust("md5:aa".into()).await;
    assert_eq!(
        (malformed.status, malformed.body["field"].as_str()),
        (422, Some("fingerprint")),
        "{:?}",
        malformed.body
    );
    let pinned = trust(fingerprint.clone()).await;
    assert_eq!(pinned.status, 200, "{:?}", pinned.body);
    assert_eq!(pinned.body["network"]["host_key"], fingerprint.as_str());

    // Through the tunnel: every check holds, and tables are listed through it.
    let report = verify(&app, &org, "pg2").await;
    for name in [
        "network-host-resolves",
        "ssh-host-key-matches",
        "network-port-reachable",
        "platform-login-succeeds",
        "platform-can-create-table",
        "platform-can-insert",
        "platform-can-read",
    ] {
        assert_eq!(status(&report, name), "passed", "{name}: {report}");
    }
    let tables = app.call("GET", &format!("/v1/orgs/{org}/connections/pg2/tables"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(tables.status, 200, "{:?}", tables.body);
    assert!(!tables.body.to_string().contains("byob_probe_"), "the probes were rolled back: {:?}", tables.body);

    // A load and an export through the tunnel.
    let (_, admin) = app.member_with_token(&org, byob_core::Role::Admin).await;
    let bucket = byob_testkit::buckets::unique_name("tunnel");
    byob_testkit::buckets::create_s3_bucket(&bucket).await;
    create_integration(&app, &org, moto_uploads_integration(&bucket, "byob")).await;
    let upload = upload_bytes(&app, &org, &admin, "sales.csv", b"id,region\n1,north\n2,south\n").await;
    let job =
        load(&app, &org, &admin, &upload, json!({ "connection": "pg2", "table": "sales", "mode": "create" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let (run, bytes) = byob_testkit::exports::export_to_moto(
        &app,
        &org,
        &admin,
        json!({ "connection": "pg2", "query": "SELECT id, region FROM sales ORDER BY id", "format": "csv" }),
    )
    .await;
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(String::from_utf8_lossy(&bytes), "id,region\n1,north\n2,south\n");

    // A key limited to another destination: the forward is refused, and the check says what to add.
    let elsewhere = line.replace(&format!("permitopen=\"{pg_host}:{pg_port}\""), "permitopen=\"127.0.0.1:1\"");
    std::fs::write(sshd.dir().join("authorized_keys"), format!("{elsewhere}\n")).unwrap();
    let report = verify(&app, &org, "pg2").await;
    let reach = check(&report, "network-port-reachable");
    assert_eq!(reach["status"], "failed", "{report}");
    assert!(reach["message"].as_str().unwrap().contains("refused to forward"), "{reach}");
    assert!(reach["remediation"]["action"].as_str().unwrap().contains(&line), "{reach}");
    std::fs::write(sshd.dir().join("authorized_keys"), format!("{line}\n")).unwrap();

    // The bastion's host key changes (same host and port): the check fails and nothing is sent.
    let port = sshd.port;
    drop(sshd);
    let (other_key, other_fp) = host_key(dir.path(), "other_key");
    let _replaced = Sshd::start_on(dir.path(), &other_key, &format!("{line}\n"), Some(port)).await;
    let report = verify(&app, &org, "pg2").await;
    let key_check = check(&report, "ssh-host-key-matches");
    assert_eq!(key_check["status"], "failed", "{report}");
    let message = key_check["message"].as_str().unwrap();
    assert!(message.contains(&other_fp) && message.contains(&fingerprint), "{key_check}");
    assert!(message.contains("nothing was sent"), "{key_check}");
    assert_eq!(status(&report, "platform-login-succeeds"), "skipped");
}

#[tokio::test]
async fn a_private_link_name_must_resolve_to_private_addresses() {
    let dns = DnsServer::start().await;
    let resolver = byob_ports::net::Resolver::servers(&[dns.addr]).unwrap();
    let network = byob_testkit::loopback_network().with_resolver(resolver);
    let app = TestApp::sqlite_with(TestOptions { network, ..TestOptions::default() }).await;
    let org = app.create_org("acme").await;
    let (_, pg_port, database, user) = pg_target().await;
    let host = "db.privatelink.acme.test";
    // A public address (never connected to: the check stops before).
    dns.answer(host, "8.8.4.4".parse().unwrap());
    let created = create(
        &app,
        &org,
        json!({ "name": "pl", "platform": "postgres", "host": host, "port": pg_port, "database": database,
                "user": user, "tls": "disable",
                "network": { "mode": "private_link", "region": "us-east-1", "availability_zones": ["use1-az1"] } }),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let report = verify(&app, &org, "pl").await;
    let resolves = check(&report, "network-host-resolves");
    assert_eq!(resolves["status"], "failed", "{report}");
    assert!(resolves["message"].as_str().unwrap().contains("private zone"), "{resolves}");
    assert_eq!(status(&report, "platform-login-succeeds"), "skipped");

    dns.answer(host, "127.0.0.1".parse().unwrap());
    let report = verify(&app, &org, "pl").await;
    assert_eq!(status(&report, "network-host-resolves"), "passed", "{report}");
    assert_eq!(status(&report, "platform-login-succeeds"), "passed", "{report}");
    let setup = app.call("GET", &format!("/v1/orgs/{org}/connections/pl/setup"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(setup.status, 200);
    assert!(setup.body.to_string().contains("aws_vpc_endpoint_service"), "{:?}", setup.body);
}

#[tokio::test]
async fn a_certificate_for_another_name_fails_the_name_check() {
    let dns = DnsServer::start().await;
    let network =
        byob_testkit::loopback_network().with_resolver(byob_ports::net::Resolver::servers(&[dns.addr]).unwrap());
    let app = TestApp::sqlite_with(TestOptions { network, ..TestOptions::default() }).await;
    let org = app.create_org("acme").await;
    let tls = TlsServer::start(&["other.example.net"]).await;
    dns.answer("trino.acme.test", "127.0.0.1".parse().unwrap());
    let created = create(
        &app,
        &org,
        json!({ "name": "tr", "platform": "trino", "host": "trino.acme.test", "port": tls.addr.port(),
                "catalog": "hive", "user": "byob", "tls": "require" }),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let report = verify(&app, &org, "tr").await;
    let names = check(&report, "tls-name-matches");
    assert_eq!(names["status"], "failed", "{report}");
    let message = names["message"].as_str().unwrap();
    assert!(message.contains("other.example.net") && message.contains("trino.acme.test"), "{message}");
}

#[tokio::test]
async fn a_socks5_proxy_carries_the_connection_and_a_refused_one_is_reported() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let proxy = Socks5Proxy::start().await;
    let (pg_host, pg_port, database, user) = pg_target().await;
    let body = |name: &str, port: u16| {
        json!({ "name": name, "platform": "postgres", "host": pg_host, "port": pg_port, "database": database,
                "user": user, "tls": "disable",
                "network": { "mode": "proxy", "kind": "socks5", "host": "127.0.0.1", "port": port } })
    };
    assert_eq!(create(&app, &org, body("viaproxy", proxy.addr.port())).await.status, 201);
    let report = verify(&app, &org, "viaproxy").await;
    assert_eq!(status(&report, "platform-login-succeeds"), "passed", "{report}");
    assert_eq!(status(&report, "platform-can-insert"), "passed", "{report}");
    assert!(proxy.carried.load(std::sync::atomic::Ordering::SeqCst) > 0);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert_eq!(create(&app, &org, body("noproxy", closed)).await.status, 201);
    let report = verify(&app, &org, "noproxy").await;
    let reach = check(&report, "network-port-reachable");
    assert_eq!(reach["status"], "failed", "{report}");
    assert!(reach["message"].as_str().unwrap().contains(&format!("127.0.0.1:{closed}")), "{reach}");
}

#[tokio::test]
async fn malformed_network_fields_are_refused_by_name() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let base = |network: Value, platform: &str, host: &str| {
        let mut body = json!({ "name": "x", "platform": platform, "host": host, "database": "d", "user": "u",
                               "network": network });
        if platform == "snowflake" {
            body["account"] = json!("xy12345.us-east-1");
        }
        body
    };
    let cases = [
        (base(json!({"mode": "vpn"}), "postgres", "db.example.com"), "network.mode", "network-mode"),
        (
            base(json!({"mode": "ssh_tunnel", "host": "bad host", "user": "u"}), "postgres", "db"),
            "network.host",
            "network-host",
        ),
        (
            base(json!({"mode": "ssh_tunnel", "host": "b.example.com", "user": "-oProxyCommand"}), "postgres", "db"),
            "network.user",
            "network-ssh-user",
        ),
        (
            base(json!({"mode": "proxy", "host": "p.example.com"}), "postgres", "db"),
            "network.kind",
            "network-proxy-kind",
        ),
        (
            base(
                json!({"mode": "private_link", "region": "us-east-1", "endpoint_service": "com.amazonaws.vpce.us-east-1.vpce-svc-xyz"}),
                "postgres",
                "db.example.com",
            ),
            "network.endpoint_service",
            "network-endpoint-service",
        ),
        (
            base(
                json!({"mode": "private_link", "region": "us-east-1", "availability_zones": ["us-east-1a"]}),
                "postgres",
                "db.example.com",
            ),
            "network.availability_zones[0]",
            "network-availability-zone",
        ),
        (
            base(json!({"mode": "private_link", "region": "moon-1"}), "postgres", "db.example.com"),
            "network.region",
            "network-region",
        ),
        (
            base(json!({"mode": "private_link"}), "snowflake", "xy12345.us-east-1.snowflakecomputing.com"),
            "host",
            "network-private-link-host",
        ),
        (base(json!({"mode": "public", "user": "u"}), "postgres", "db.example.com"), "network.user", "network-field"),
    ];
    for (body, field, rule) in cases {
        let reply = create(&app, &org, body.clone()).await;
        assert_eq!(reply.status, 422, "{body}: {:?}", reply.body);
        assert_eq!(
            (reply.body["field"].as_str(), reply.body["rule"].as_str()),
            (Some(field), Some(rule)),
            "{body}: {:?}",
            reply.body
        );
    }
}

#[tokio::test]
async fn an_http_connect_proxy_carries_the_connection_and_its_refusal_is_reported() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (pg_host, pg_port, database, user) = pg_target().await;
    let body = |name: &str, port: u16| {
        json!({ "name": name, "platform": "postgres", "host": pg_host, "port": pg_port, "database": database,
                "user": user, "tls": "disable",
                "network": { "mode": "proxy", "kind": "http_connect", "host": "127.0.0.1", "port": port } })
    };
    let proxy = ConnectProxy::start(false).await;
    assert_eq!(create(&app, &org, body("connect", proxy.addr.port())).await.status, 201);
    let report = verify(&app, &org, "connect").await;
    assert_eq!(status(&report, "platform-can-read"), "passed", "{report}");
    assert!(proxy.carried.load(std::sync::atomic::Ordering::SeqCst) > 0);

    let refusing = ConnectProxy::start(true).await;
    assert_eq!(create(&app, &org, body("refusing", refusing.addr.port())).await.status, 201);
    let report = verify(&app, &org, "refusing").await;
    let reach = check(&report, "network-port-reachable");
    assert_eq!(reach["status"], "failed", "{report}");
    assert!(reach["message"].as_str().unwrap().contains("403"), "{reach}");
}

/// An HTTP platform (the Trino fake) through a proxy: the client's requests go through byob's loopback proxy
/// for exactly that destination, and on through the customer's SOCKS5 proxy.
#[tokio::test]
async fn an_http_platform_goes_through_the_proxy() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let fake = byob_testkit::fake_trino::FakeTrino::start(100).await;
    let proxy = Socks5Proxy::start().await;
    let created = create(
        &app,
        &org,
        json!({ "name": "trino", "platform": "trino", "host": "127.0.0.1", "port": fake.port, "tls": "disable",
                "catalog": fake.catalog, "user": "byob",
                "network": { "mode": "proxy", "kind": "socks5", "host": "127.0.0.1", "port": proxy.addr.port() } }),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let report = verify(&app, &org, "trino").await;
    for name in ["platform-login-succeeds", "platform-can-create-table", "platform-can-insert", "platform-can-read"] {
        assert_eq!(status(&report, name), "passed", "{name}: {report}");
    }
    assert!(proxy.carried.load(std::sync::atomic::Ordering::SeqCst) > 0);
}

/// A new connection is verified by the monitor's next pass, then on its interval; a check that stops holding
/// emits `check-drifted` naming the connection.
#[tokio::test]
async fn the_monitor_verifies_new_connections_and_reports_drift() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let proxy = Socks5Proxy::start().await;
    let (pg_host, pg_port, database, user) = pg_target().await;
    let created = create(
        &app,
        &org,
        json!({ "name": "watched", "platform": "postgres", "host": pg_host, "port": pg_port, "database": database,
                "user": user, "tls": "disable",
                "network": { "mode": "proxy", "kind": "socks5", "host": "127.0.0.1", "port": proxy.addr.port() } }),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let monitor = &app.services.monitor;
    assert_eq!(monitor.tick(app.clock_now()).await.unwrap().connections_verified, 1, "new: verified at once");
    assert_eq!(monitor.tick(app.clock_now()).await.unwrap().connections_verified, 0, "then on its interval");
    let report =
        app.call("GET", &format!("/v1/orgs/{org}/connections/watched/report"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(report.status, 200, "{:?}", report.body);
    assert_eq!(report.body["trigger"], "monitor");
    assert_eq!(status(&report.body, "platform-login-succeeds"), "passed", "{:?}", report.body);

    drop(proxy);
    app.clock.advance(chrono::Duration::hours(25));
    assert_eq!(monitor.tick(app.clock_now()).await.unwrap().connections_verified, 1);
    let events =
        app.call("GET", &format!("/v1/orgs/{org}/events?type=check-drifted"), Some(OPERATOR_TOKEN), None).await;
    let drifted = events.body.as_array().unwrap();
    assert_eq!(drifted.len(), 1, "{drifted:?}");
    assert_eq!(drifted[0]["payload"]["check"], "network-port-reachable");
    assert_eq!(drifted[0]["payload"]["name"], "watched");
    assert!(drifted[0]["payload"]["connection"].is_string());
}

/// A storage integration whose endpoint is a private endpoint's name (seed 004's Azure private endpoint): it
/// must resolve to a private address before anything is sent, and the setup says how to approve it.
#[tokio::test]
async fn a_storage_private_endpoint_must_resolve_privately_before_anything_is_sent() {
    let dns = DnsServer::start().await;
    let network =
        byob_testkit::loopback_network().with_resolver(byob_ports::net::Resolver::servers(&[dns.addr]).unwrap());
    let app = TestApp::sqlite_with(TestOptions { network, ..TestOptions::default() }).await;
    let org = app.create_org("acme").await;
    let host = "devstoreaccount1.privatelink.blob.core.windows.net";
    let tls = TlsServer::start(&[host]).await;
    dns.answer(host, "8.8.4.4".parse().unwrap());
    let sas = byob_testkit::buckets::azurite_account_sas("racwdl", app.clock_now() + chrono::Duration::days(30));
    let mut body = byob_testkit::uploads::azurite_sas_integration("private", "files", "byob", &sas, json!(["uploads"]));
    body["endpoint"] = json!(format!("https://{host}:{}", tls.addr.port()));
    let id = create_integration(&app, &org, body).await;

    let verify = || {
        let (app, org, id) = (&app, &org, &id);
        async move {
            let reply =
                app.call("POST", &format!("/v1/orgs/{org}/integrations/{id}/verify"), Some(OPERATOR_TOKEN), None).await;
            assert_eq!(reply.status, 200, "{:?}", reply.body);
            reply.body
        }
    };
    let report = verify().await;
    let endpoint = check(&report, "network-endpoint-private");
    assert_eq!(endpoint["status"], "failed", "{report}");
    assert!(endpoint["message"].as_str().unwrap().contains("8.8.4.4"), "{endpoint}");
    assert_eq!(endpoint["remediation"]["artifact"], "private-endpoint", "{endpoint}");
    let others: Vec<&Value> =
        report["checks"].as_array().unwrap().iter().filter(|c| c["name"] != "network-endpoint-private").collect();
    assert!(others.iter().all(|c| c["status"] == "skipped"), "nothing else ran: {report}");

    dns.answer(host, "127.0.0.1".parse().unwrap());
    let report = verify().await;
    assert_eq!(status(&report, "network-endpoint-private"), "passed", "{report}");

    let setup = app.call("GET", &format!("/v1/orgs/{org}/integrations/{id}/setup"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(setup.status, 200, "{:?}", setup.body);
    let text = setup.body.to_string();
    assert!(text.contains("private-endpoint") && text.contains("Private endpoint connections"), "{text}");
}

/// `platform-can-read-bucket` runs a pulled load of a probe as the platform would: PostgreSQL standing in for
/// Redshift cannot read `s3://`, so the check fails with the platform's own refusal and the grant it was given,
/// and the probe file is gone afterwards; a platform byob streams into skips it.
#[tokio::test]
async fn the_bucket_read_check_pulls_a_probe_and_leaves_nothing() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let bucket = byob_testkit::exports::Bucket::create(byob_testkit::exports::Store::Moto, &app, &org).await;
    let mut uploads = bucket.integration().unwrap();
    uploads["features"] = json!(["uploads"]);
    create_integration(&app, &org, uploads).await;
    let target = byob_testkit::fresh_postgres_database().await;
    byob_testkit::uploads::create_redshift_connection(&app, &org, &target, None).await;
    byob_testkit::uploads::create_pg_connection(&app, &org, &target).await;

    let report = verify(&app, &org, "rs").await;
    assert_eq!(status(&report, "platform-login-succeeds"), "passed", "{report}");
    let read = check(&report, "platform-can-read-bucket");
    assert_eq!(read["status"], "failed", "{report}");
    let message = read["message"].as_str().unwrap();
    assert!(message.contains(&format!("s3://{}/byob/.byob/verify/", bucket.name)), "{message}");
    assert!(message.contains("vended for the probe alone"), "{message}");
    assert!(!message.contains("X-Amz-Signature") && !message.contains("SessionToken"), "{message}");
    assert!(bucket.keys().await.iter().all(|k| !k.starts_with(".byob/verify/")), "the probe was deleted");

    let report = verify(&app, &org, "pg").await;
    assert_eq!(status(&report, "platform-can-read-bucket"), "skipped", "{report}");
}

/// MariaDB through a SOCKS5 proxy: the driver connects to byob's loopback forward, the forward along the route.
#[tokio::test]
async fn mariadb_goes_through_the_proxy() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let proxy = Socks5Proxy::start().await;
    let url = url::Url::parse(&byob_testkit::fresh_mysql_database().await).unwrap();
    let created = create(
        &app,
        &org,
        json!({ "name": "maria", "platform": "mariadb", "host": url.host_str().unwrap(), "port": url.port().unwrap(),
                "database": url.path().trim_start_matches('/'), "user": url.username(), "password": url.password(),
                "tls": "prefer",
                "network": { "mode": "proxy", "kind": "socks5", "host": "127.0.0.1", "port": proxy.addr.port() } }),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let report = verify(&app, &org, "maria").await;
    for name in ["platform-login-succeeds", "platform-can-create-table", "platform-can-insert", "platform-can-read"] {
        assert_eq!(status(&report, name), "passed", "{name}: {report}");
    }
    assert_eq!(status(&report, "tls-name-matches"), "skipped", "{report}");
    assert!(proxy.carried.load(std::sync::atomic::Ordering::SeqCst) > 0);
}
