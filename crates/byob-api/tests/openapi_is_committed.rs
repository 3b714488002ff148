//! docs/openapi.json is the document this build serves. Regenerate it with
//! `BYOB_UPDATE_OPENAPI=1 cargo nextest run -p byob-api openapi`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_testkit::TestApp;

fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn the_committed_openapi_document_is_current() {
    let generated = format!("{}\n", serde_json::to_string_pretty(&byob_api::openapi()).unwrap());
    let path = committed_path();
    if std::env::var_os("BYOB_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `BYOB_UPDATE_OPENAPI=1 cargo nextest run -p byob-api openapi` and commit it"
    );
}

#[tokio::test]
async fn the_served_document_is_openapi_3_1_and_matches() {
    let app = TestApp::sqlite().await;
    let served = app.call("GET", "/v1/openapi.json", None, None).await.body;
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(served, serde_json::to_value(byob_api::openapi()).unwrap());
}

/// An independent OpenAPI 3.1 validator (openapi-spec-validator, installed with moto by scripts/servers.sh).
#[test]
fn the_document_passes_an_independent_openapi_validator() {
    let validator = byob_testkit::server_env("BYOB_TEST_OPENAPI_VALIDATOR");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, serde_json::to_string_pretty(&byob_api::openapi()).unwrap()).unwrap();
    let output = std::process::Command::new(&validator).arg(&path).output().expect("run openapi-spec-validator");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
