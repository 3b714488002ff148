//! `byob connections` for private connectivity against a real `byob serve`: a PostgreSQL connection through
//! OpenSSH's server, whose bastion name only byob's configured DNS server knows (`network.dns_servers`); the
//! setup's `authorized_keys` line, the host key confirmed from the CLI, the checklist before and after.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use byob_testkit::network::{DnsServer, Sshd, host_key};
use support::{Server, byob_cli};

#[tokio::test]
async fn an_ssh_tunnel_is_set_up_confirmed_and_verified_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let dns = DnsServer::start().await;
    dns.answer("bastion.acme.test", "127.0.0.1".parse().unwrap());
    let dns_servers = format!("[\"{}\"]", dns.addr);
    let server = Server::start(
        dir.path(),
        &[],
        &[("BYOB_NETWORK__ALLOWED_PRIVATE_RANGES", "[\"127.0.0.0/8\"]"), ("BYOB_NETWORK__DNS_SERVERS", &dns_servers)],
    )
    .await;
    let operator = server.operator_token();
    let org = server.json("POST", "/v1/orgs", &operator, Some(serde_json::json!({ "name": "acme" }))).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let keys_dir = tempfile::tempdir().unwrap();
    let (key, fingerprint) = host_key(keys_dir.path(), "host_key");
    let sshd = Sshd::start(keys_dir.path(), &key, "").await;
    let pg = url::Url::parse(&byob_testkit::fresh_postgres_database().await).unwrap();
    let port = pg.port().unwrap().to_string();
    let ssh = format!("{}@bastion.acme.test:{}", sshd.user, sshd.port);
    let (ok, _, stderr) = byob_cli(
        &server,
        &operator,
        &[
            "connections",
            "create",
            "--org",
            &org,
            "pg",
            "--platform",
            "postgres",
            "--host",
            pg.host_str().unwrap(),
            "--port",
            &port,
            "--database",
            pg.path().trim_start_matches('/'),
            "--user",
            pg.username(),
            "--tls",
            "disable",
            "--network",
            "ssh-tunnel",
            "--ssh",
            &ssh,
        ],
    )
    .await;
    assert!(ok, "{stderr}");

    let (ok, setup, stderr) = byob_cli(&server, &operator, &["connections", "setup", "--org", &org, "pg"]).await;
    assert!(ok, "{stderr}");
    let line = setup.lines().find(|l| l.starts_with("restrict,port-forwarding,permitopen=")).expect(&setup);
    std::fs::write(sshd.dir().join("authorized_keys"), format!("{line}\n")).unwrap();

    // Before the host key is confirmed: the checklist fails on it and the command says so.
    let (ok, checklist, _) = byob_cli(&server, &operator, &["connections", "verify", "--org", &org, "pg"]).await;
    assert!(!ok, "{checklist}");
    assert!(checklist.contains("ssh-host-key-matches") && checklist.contains(&fingerprint), "{checklist}");

    let (ok, _, stderr) =
        byob_cli(&server, &operator, &["connections", "trust-host-key", "--org", &org, "pg", &fingerprint]).await;
    assert!(ok, "{stderr}");
    let (ok, checklist, stderr) = byob_cli(&server, &operator, &["connections", "verify", "--org", &org, "pg"]).await;
    assert!(ok, "{checklist}{stderr}");
    let (ok, report, _) = byob_cli(&server, &operator, &["--json", "connections", "report", "--org", &org, "pg"]).await;
    assert!(ok);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["network"], "ssh_tunnel");
    assert!(report["checks"].as_array().unwrap().iter().all(|c| c["status"] != "failed"), "{report}");
}
