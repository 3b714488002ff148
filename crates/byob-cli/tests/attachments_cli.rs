//! `byob attachments` against a real `byob serve` process configured (through its environment) to scan with the
//! ClamAV daemon the test script runs: put, list, get with the bytes back, a policy set by an admin, rm.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use byob_testkit::{buckets::create_s3_bucket, buckets::unique_name, server_env, uploads::moto_uploads_integration};
use serde_json::{Value, json};
use support::{Server, byob_cli, org_and_member};

const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// Waits for the scan job (run by the server's own workers) to settle the attachment.
async fn settled(server: &Server, token: &str, org: &str, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let a = server.json("GET", &format!("/v1/orgs/{org}/attachments/{id}"), token, None).await;
        if a["state"] != "scanning" {
            return a;
        }
        assert!(tokio::time::Instant::now() < deadline, "never scanned: {a}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn put_scan_get_and_remove_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let clamd = server_env("BYOB_TEST_CLAMD_ADDRESS");
    let env = [
        ("BYOB_MONITOR__ENABLED", "false"),
        ("BYOB_INTEGRATIONS__HTTP_ENDPOINTS", "loopback"),
        ("BYOB_NETWORK__ALLOWED_PRIVATE_RANGES", "[\"127.0.0.0/8\"]"),
        ("BYOB_ATTACHMENTS__SCANNER", "clamd"),
        ("BYOB_ATTACHMENTS__CLAMD_ADDRESS", clamd.as_str()),
        ("BYOB_JOBS__POLL_MS", "50"),
    ];
    let server = Server::start(dir.path(), &[], &env).await;
    let operator = server.operator_token();
    let (org, token) = org_and_member(&server, &operator).await;
    let bucket = unique_name("attcli");
    create_s3_bucket(&bucket).await;
    let mut integration = moto_uploads_integration(&bucket, "byob");
    integration["features"] = json!(["attachments"]);
    let (status, text) =
        server.call("POST", &format!("/v1/orgs/{org}/integrations"), &operator, Some(integration)).await;
    assert_eq!(status, 201, "{text}");

    let report = dir.path().join("report.pdf");
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".repeat(2000);
    std::fs::write(&report, &pdf).unwrap();
    let slot = ["--collection", "orders", "--record", "42", "--field", "invoice"];
    let mut put = vec!["--json", "attachments", "put", "--org", &org, report.to_str().unwrap()];
    put.extend(slot);
    let (ok, stdout, stderr) = byob_cli(&server, &token, &put).await;
    assert!(ok, "{stderr}");
    let id = serde_json::from_str::<Value>(&stdout).unwrap()["id"].as_str().unwrap().to_string();
    let a = settled(&server, &token, &org, &id).await;
    assert_eq!((a["state"].as_str(), a["scanned_by"].as_str()), (Some("available"), Some("clamd")), "{a}");

    let (ok, listed, _) =
        byob_cli(&server, &token, &["attachments", "list", "--org", &org, "--collection", "orders", "--record", "42"])
            .await;
    assert!(ok && listed.contains(&id) && listed.contains("report.pdf"), "{listed}");
    let out = dir.path().join("copy.pdf");
    let (ok, _, stderr) =
        byob_cli(&server, &token, &["attachments", "get", "--org", &org, &id, "-o", out.to_str().unwrap()]).await;
    assert!(ok, "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), pdf, "the same bytes");

    // The infected file is refused by the scanner and its object deleted.
    let eicar = dir.path().join("notes.txt");
    std::fs::write(&eicar, EICAR).unwrap();
    let mut put = vec!["--json", "attachments", "put", "--org", &org, eicar.to_str().unwrap()];
    put.extend(slot);
    let (ok, stdout, stderr) = byob_cli(&server, &token, &put).await;
    assert!(ok, "{stderr}");
    let bad = serde_json::from_str::<Value>(&stdout).unwrap()["id"].as_str().unwrap().to_string();
    let a = settled(&server, &token, &org, &bad).await;
    assert_eq!(a["rejection"]["code"], "attachment-infected", "{a}");
    let (ok, _, stderr) = byob_cli(&server, &token, &["attachments", "get", "--org", &org, &bad]).await;
    assert!(!ok && stderr.contains("attachment-not-available"), "{stderr}");

    // Policies: a member may read them, not set them.
    let policy = [
        "--collection",
        "orders",
        "--field",
        "invoice",
        "--max-bytes",
        "1000",
        "--max-files",
        "3",
        "--types",
        "text/plain",
    ];
    let mut set = vec!["attachments", "policy", "set", "--org", &org];
    set.extend(policy);
    let (ok, _, stderr) = byob_cli(&server, &token, &set).await;
    assert!(!ok && stderr.contains("403"), "{stderr}");
    let (ok, stdout, _) = byob_cli(
        &server,
        &token,
        &["--json", "attachments", "policy", "get", "--org", &org, "--collection", "orders", "--field", "invoice"],
    )
    .await;
    assert!(ok);
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["default"], true);

    let (ok, stdout, stderr) =
        byob_cli(&server, &token, &["attachments", "rm", "--org", &org, "--collection", "orders", "--record", "42"])
            .await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("deleted 2 attachment(s)"), "{stdout}");
}
