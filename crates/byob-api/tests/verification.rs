//! Verification reports that name the cause and the fix, and the state they move the integration to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    buckets::{azurite_account_sas, create_azure_container, create_s3_bucket, unique_name},
    server_env,
    uploads::azurite_sas_integration,
};
use serde_json::{Value, json};

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name}: {report}"))
}

#[tokio::test]
async fn a_read_only_sas_fails_the_write_check_and_says_what_to_do() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let container = unique_name("verify");
    create_azure_container(&container).await;
    let sas = azurite_account_sas("rl", chrono::Utc::now() + chrono::Duration::days(3));
    let created = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/integrations"),
            Some(OPERATOR_TOKEN),
            Some(azurite_sas_integration("imports", &container, "byob", &sas, json!(["imports"]))),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let report = app
        .call("POST", &format!("/v1/orgs/{org}/integrations/{}/verify", created.id()), Some(OPERATOR_TOKEN), None)
        .await
        .body;

    let credentials = check(&report, "credentials-obtain");
    assert_eq!(credentials["status"], "warning", "{credentials}");
    assert!(credentials["message"].as_str().unwrap().contains("expires"), "{credentials}");
    let write = check(&report, "objects-write");
    assert_eq!(write["status"], "failed");
    assert!(write["message"].as_str().unwrap().contains("may not write under `byob/`"), "{write}");
    assert!(write["remediation"]["action"].as_str().unwrap().contains("write access"));
    for skipped in ["objects-read-back", "objects-list", "objects-delete"] {
        assert_eq!(check(&report, skipped)["status"], "skipped");
    }
    assert_eq!(check(&report, "trust-wrong-external-id")["status"], "skipped");
    assert_eq!(report["state_after"], "draft", "a failed check keeps it a draft");
    assert!(report["checks"].as_array().unwrap().iter().all(|c| c["duration_ms"].is_u64()));
}

#[tokio::test]
async fn credentials_that_reach_outside_the_prefix_fail_scoping() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let bucket = unique_name("verify");
    create_s3_bucket(&bucket).await;
    // moto outside its auth mode lets any key write anywhere: exactly what the scoping check must catch.
    let created = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/integrations"),
            Some(OPERATOR_TOKEN),
            Some(json!({
                "name": "loose", "provider": "s3", "bucket": bucket, "prefix": "tenants/acme", "region": "us-east-1",
                "endpoint": server_env("BYOB_TEST_S3_ENDPOINT"), "features": ["exports"],
                "credentials": { "mode": "s3_access_key", "access_key_id": "loose-key", "secret_access_key": "loose" },
            })),
        )
        .await;
    let path = format!("/v1/orgs/{org}/integrations/{}/verify", created.id());
    let report = app.call("POST", &path, Some(OPERATOR_TOKEN), None).await.body;
    for passed in ["credentials-obtain", "objects-write", "objects-read-back", "objects-list", "objects-delete"] {
        assert_eq!(check(&report, passed)["status"], "passed", "{}", check(&report, passed));
    }
    let scoping = check(&report, "scoping-outside-prefix");
    assert_eq!(scoping["status"], "failed");
    assert!(scoping["message"].as_str().unwrap().contains("can write outside `tenants/acme/`"), "{scoping}");
    assert_eq!(report["state_after"], "draft");
    let audit =
        app.call("GET", &format!("/v1/orgs/{org}/audit?action=integration.verify"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(audit.body["items"][0]["detail"]["failed"], json!(["scoping-outside-prefix"]));
}
