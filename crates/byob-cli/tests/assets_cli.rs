//! `byob assets` against a real `byob serve` process on its embedded default storage: put (streamed, with its
//! hash), conditional writes, get, versions, restore, rm, the public key, the store check; and a file changed in
//! the storage behind byob's back, whose download is cut off over the wire and leaves no file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{Server, byob_cli, org_and_member};

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn put_get_versions_and_a_tampered_download_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("BYOB_MONITOR__ENABLED", "false"), ("BYOB_JOBS__POLL_MS", "50")];
    let server = Server::start(dir.path(), &[], &env).await;
    let operator = server.operator_token();
    let (org, token) = org_and_member(&server, &operator).await;
    let one: Vec<u8> = (0..20u32 << 20).map(|i| (i % 251) as u8).collect();
    let two = b"second version".to_vec();
    let file = dir.path().join("model.bin");
    std::fs::write(&file, &one).unwrap();
    let path = file.to_str().unwrap();
    let put = |extra: &'static [&'static str]| {
        let mut args = vec!["--json", "assets", "put", "--org", &org, path, "--name", "projects/model.bin"];
        args.extend(extra);
        args
    };
    let (ok, stdout, stderr) = byob_cli(&server, &token, &put(&[])).await;
    assert!(ok, "{stderr}");
    let v1: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((v1["version"].as_u64(), v1["sha256"].as_str()), (Some(1), Some(sha(&one).as_str())));

    std::fs::write(&file, &two).unwrap();
    let (ok, _, stderr) = byob_cli(&server, &token, &put(&["--if-version", "1"])).await;
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = byob_cli(&server, &token, &put(&["--if-version", "1"])).await;
    assert!(!ok && stderr.contains("asset-precondition-failed"), "{stderr}");
    let (ok, _, stderr) = byob_cli(&server, &token, &put(&["--create-only"])).await;
    assert!(!ok && stderr.contains("412"), "{stderr}");

    let out = dir.path().join("copy.bin");
    let get = |version: &'static str| {
        vec!["assets", "get", "--org", &org, "projects/model.bin", "--version", version, "-o", out.to_str().unwrap()]
    };
    let (ok, _, stderr) = byob_cli(&server, &token, &get("1")).await;
    assert!(ok, "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), one, "the 20 MiB version, whole (read in ranges)");
    std::fs::remove_file(&out).unwrap();

    let (ok, _, stderr) =
        byob_cli(&server, &token, &["assets", "restore", "--org", &org, "projects/model.bin", "1"]).await;
    assert!(ok, "{stderr}");
    let (ok, listed, _) = byob_cli(&server, &token, &["assets", "versions", "--org", &org, "projects/model.bin"]).await;
    assert!(ok && listed.lines().count() >= 4, "{listed}");
    let (ok, pem, _) = byob_cli(&server, &token, &["assets", "public-key", "--org", &org, "--pem"]).await;
    assert!(ok && pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    let (ok, report, stderr) = byob_cli(&server, &token, &["assets", "verify", "--org", &org]).await;
    assert!(ok && report.starts_with("passed"), "{report}{stderr}");

    // Same length, other bytes, written straight into the storage: the download is cut off, no file is left,
    // and the check names the object.
    let hash = sha(&one);
    let stored =
        dir.path().join(format!("byob-data/storage/orgs/{org}/assets/objects/sha256/{}/{}", &hash[..2], &hash[2..]));
    let mut changed = std::fs::read(&stored).unwrap();
    changed[13 << 20] ^= 0xff;
    std::fs::write(&stored, &changed).unwrap();
    let (ok, _, stderr) = byob_cli(&server, &token, &get("1")).await;
    assert!(!ok, "a tampered download fails: {stderr}");
    assert!(!out.exists(), "and leaves no file");
    let (ok, report, _) = byob_cli(&server, &token, &["assets", "verify", "--org", &org]).await;
    assert!(!ok && report.contains("object-tampered"), "{report}");

    let (ok, _, stderr) = byob_cli(&server, &token, &["assets", "rm", "--org", &org, "projects/model.bin"]).await;
    assert!(ok, "{stderr}");
    let (ok, listed, _) = byob_cli(&server, &token, &["assets", "list", "--org", &org, "--deleted"]).await;
    assert!(ok && listed.contains("projects/model.bin") && listed.contains("true"), "{listed}");
}
