//! Property-based requests from the OpenAPI document (schemathesis) against the real binary: no input may
//! produce a 500, every response must match the documented status codes, content types and schemas, and
//! schema-invalid input must be refused. (Schema-valid input may still be refused for rules JSON Schema cannot
//! state, such as "an expiry in the future", so that check is left out.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use support::Server;

#[tokio::test]
async fn generated_requests_never_break_the_contract() {
    let schemathesis = byob_testkit::server_env("BYOB_TEST_SCHEMATHESIS");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]).await;
    let token = server.operator_token();
    let org = server.json("POST", "/v1/orgs", &token, Some(json!({ "name": "fuzz" }))).await;
    server
        .json(
            "POST",
            &format!("/v1/orgs/{}/members", org["id"].as_str().unwrap()),
            &token,
            Some(json!({ "name": "m", "role": "member" })),
        )
        .await;
    let output = tokio::process::Command::new(&schemathesis)
        .arg("run")
        .arg(format!("{}/v1/openapi.json", server.url))
        .args(["--url", &server.url])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection",
        ])
        .args(["--max-examples", "25", "--generation-deterministic", "--no-color"])
        .current_dir(dir.path())
        .output()
        .await
        .expect("run schemathesis");
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{report}");
    let (_, stderr) = server.stop().await;
    assert!(!stderr.contains("internal error"), "the server logged an internal error:\n{stderr}");
}
