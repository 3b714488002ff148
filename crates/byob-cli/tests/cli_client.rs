//! The `byob` client commands against a running server: BYOB_URL/BYOB_TOKEN, tables, --json, and errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::Server;

struct Cli<'a> {
    server: &'a Server,
    token: String,
}

impl Cli<'_> {
    async fn run(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        use tokio::io::AsyncWriteExt;
        let mut cmd = support::byob(&self.server.dir);
        cmd.args(args)
            .env("BYOB_URL", &self.server.url)
            .env("BYOB_TOKEN", &self.token)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or("").as_bytes()).await.unwrap();
        drop(input);
        let out = child.wait_with_output().await.unwrap();
        (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    }

    async fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let (ok, stdout, stderr) = self.run(&all, None).await;
        assert!(ok, "byob {args:?}: {stderr}");
        serde_json::from_str(&stdout).unwrap()
    }
}

#[tokio::test]
async fn an_operator_bootstraps_an_org_and_a_member_works_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]).await;
    let operator = Cli { server: &server, token: server.operator_token() };

    let org = operator.json(&["orgs", "create", "Globex"]).await["id"].as_str().unwrap().to_string();
    let admin = operator
        .json(&["members", "add", "--org", &org, "--name", "Ada", "--email", "ada@example.com", "--role", "admin"])
        .await;
    let admin_id = admin["id"].as_str().unwrap().to_string();
    let created =
        operator.json(&["tokens", "create", "--org", &org, &admin_id, "--name", "laptop", "--expires-in", "30d"]).await;
    let admin_cli = Cli { server: &server, token: created["token"].as_str().unwrap().to_string() };

    let (ok, table, _) = admin_cli.run(&["members", "list", "--org", &org], None).await;
    assert!(ok && table.contains("Ada") && table.contains("admin"), "{table}");
    let (ok, _, stderr) =
        admin_cli.run(&["secrets", "create", "--org", &org, "--name", "aws-key"], Some("AKIA-from-stdin\n")).await;
    assert!(ok, "{stderr}");
    let secrets = admin_cli.json(&["secrets", "list", "--org", &org]).await;
    assert_eq!(secrets["items"][0]["name"], "aws-key");
    assert!(!secrets.to_string().contains("AKIA-from-stdin"));

    let audit = admin_cli.json(&["audit", "--org", &org, "--action", "secret.create"]).await;
    assert_eq!(audit["items"][0]["actor"]["member_id"], admin_id.as_str());
    let who = admin_cli.json(&["whoami"]).await;
    assert_eq!(who["role"], "admin");

    // Errors name the status, the stable code and the request id.
    let (ok, _, stderr) = admin_cli.run(&["orgs", "create", "Nope"], None).await;
    assert!(!ok);
    assert!(stderr.contains("403 forbidden") && stderr.contains("[request req_"), "{stderr}");
    let (ok, _, stderr) = admin_cli.run(&["members", "get", "--org", &org, "mem_bad"], None).await;
    assert!(!ok && stderr.contains("400 invalid-id"), "{stderr}");
    let (ok, _, stderr) = admin_cli
        .run(&["tokens", "create", "--org", &org, &admin_id, "--name", "x", "--expires-in", "soon"], None)
        .await;
    assert!(!ok && stderr.contains("not a lifetime"), "{stderr}");

    let revoked = operator.json(&["tokens", "revoke", "--org", &org, &admin_id, created["id"].as_str().unwrap()]).await;
    assert!(revoked["revoked_at"].is_string());
    let (ok, _, stderr) = admin_cli.run(&["whoami"], None).await;
    assert!(!ok && stderr.contains("401 unauthenticated"), "{stderr}");
    server.stop().await;
}

#[tokio::test]
async fn integrations_from_a_json_body_on_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]).await;
    let operator = Cli { server: &server, token: server.operator_token() };
    let org = operator.json(&["orgs", "create", "Acme"]).await["id"].as_str().unwrap().to_string();
    let body = serde_json::json!({
        "name": "prod", "provider": "s3", "bucket": "acme-data", "region": "eu-central-1", "features": ["exports"],
        "credentials": { "mode": "s3_access_key", "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "from-stdin-secret" },
    });
    let (ok, stdout, stderr) =
        operator.run(&["--json", "integrations", "create", "--org", &org], Some(&body.to_string())).await;
    assert!(ok, "{stderr}");
    assert!(!stdout.contains("from-stdin-secret"));
    let id = serde_json::from_str::<Value>(&stdout).unwrap()["id"].as_str().unwrap().to_string();
    let (ok, table, _) = operator.run(&["integrations", "list", "--org", &org], None).await;
    assert!(ok && table.contains("acme-data") && table.contains("draft"), "{table}");
    let disabled = operator.json(&["integrations", "disable", "--org", &org, &id]).await;
    assert_eq!(disabled["state"], "disabled");
    let (ok, _, stderr) =
        operator.run(&["integrations", "update", "--org", &org, &id], Some(r#"{"bucket":"other"}"#)).await;
    assert!(!ok && stderr.contains("422 validation-failed") && stderr.contains("cannot change"), "{stderr}");
    let (ok, _, stderr) = operator.run(&["integrations", "create", "--org", &org], Some("{not json")).await;
    assert!(!ok && stderr.contains("not valid JSON"), "{stderr}");
    server.stop().await;
}

#[tokio::test]
async fn webhooks_events_and_verification_history_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    // No background passes: the delivery log below must stay as the commands left it.
    let server = Server::start(dir.path(), &[], &[("BYOB_MONITOR__ENABLED", "false")]).await;
    let operator = Cli { server: &server, token: server.operator_token() };
    let org = operator.json(&["orgs", "create", "Acme"]).await["id"].as_str().unwrap().to_string();

    let (ok, stdout, stderr) = operator
        .run(&["webhooks", "create", "--org", &org, "https://hooks.example.com/byob", "--event", "webhook-test"], None)
        .await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("hooks.example.com") && stdout.contains("signing secret (shown once): whsec_"), "{stdout}");
    let listed = operator.json(&["webhooks", "list", "--org", &org]).await;
    assert_eq!(listed[0]["event_types"], serde_json::json!(["webhook-test"]));
    assert!(!listed.to_string().contains("whsec_"), "the secret is not listed: {listed}");
    let hook = listed[0]["id"].as_str().unwrap().to_string();

    let event = operator.json(&["webhooks", "test", "--org", &org]).await;
    assert_eq!(event["type"], "webhook-test");
    let deliveries = operator.json(&["webhooks", "deliveries", "--org", &org, &hook]).await;
    assert_eq!(
        (deliveries[0]["status"].as_str(), deliveries[0]["event_id"].clone()),
        (Some("pending"), event["id"].clone())
    );
    let events = operator.json(&["events", "--org", &org, "--type", "webhook-test"]).await;
    assert_eq!(events[0]["id"], event["id"]);

    let body = serde_json::json!({
        "name": "prod", "provider": "s3", "bucket": "acme-data", "region": "eu-central-1", "features": ["exports"],
        "credentials": { "mode": "s3_access_key", "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "x" },
    });
    let (ok, stdout, stderr) =
        operator.run(&["--json", "integrations", "create", "--org", &org], Some(&body.to_string())).await;
    assert!(ok, "{stderr}");
    let id = serde_json::from_str::<Value>(&stdout).unwrap()["id"].as_str().unwrap().to_string();
    let history = operator.json(&["integrations", "verifications", "--org", &org, &id]).await;
    assert_eq!(history, serde_json::json!([]), "never verified");

    let (ok, _, stderr) =
        operator.run(&["webhooks", "create", "--org", &org, "http://hooks.example.com/byob"], None).await;
    assert!(!ok && stderr.contains("422") && stderr.contains("https"), "{stderr}");
    let (ok, _, stderr) = operator.run(&["webhooks", "delete", "--org", &org, &hook], None).await;
    assert!(ok, "{stderr}");
    assert_eq!(operator.json(&["webhooks", "list", "--org", &org]).await, serde_json::json!([]));
    server.stop().await;
}
