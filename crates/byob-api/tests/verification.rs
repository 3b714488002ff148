//! Verification reports that name the cause and the fix, and the state they move the integration to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    buckets::{
        azurite_account_sas, create_azure_container, create_gcs_bucket, create_gcs_bucket_at, create_s3_bucket,
        gcs_split_endpoint, gcs_test_key, unique_name,
    },
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
    assert!(
        write["message"]
            .as_str()
            .unwrap()
            .contains("may not write under `byob/`: the store refused the SAS letter `w` (the SAS grants `rl`)"),
        "names the missing letter: {write}"
    );
    let action = write["remediation"]["action"].as_str().unwrap();
    assert!(action.contains("generate a SAS for container") && action.contains("with permissions `rlwd`"), "{write}");
    assert!(write["remediation"].get("artifact").is_none_or(Value::is_null), "a SAS has no artifact: {write}");
    for skipped in ["objects-read-back", "objects-list", "objects-delete"] {
        assert_eq!(check(&report, skipped)["status"], "skipped");
    }
    assert_eq!(check(&report, "trust-wrong-external-id")["status"], "skipped");
    assert_eq!(report["state_after"], "draft", "a failed check keeps it a draft");
    assert!(report["checks"].as_array().unwrap().iter().all(|c| c["duration_ms"].is_u64()));
}

/// moto outside its auth mode lets any key write anywhere. Static keys on an S3-compatible store can be limited
/// only by that store's own policies, which byob neither writes nor reads: the reach is a warning that names the
/// limit and the mode that can express a prefix, not a failure no setting could ever clear.
#[tokio::test]
async fn static_keys_on_a_compatible_store_that_reach_outside_the_prefix_warn_naming_the_limit() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let bucket = unique_name("verify");
    create_s3_bucket(&bucket).await;
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
    assert_eq!(scoping["status"], "warning", "{scoping}");
    let message = scoping["message"].as_str().unwrap();
    assert!(message.contains("can write outside `tenants/acme/`"), "{scoping}");
    assert!(message.contains("static keys on an S3-compatible store are limited only by that store's own policies"));
    assert!(scoping["remediation"]["action"].as_str().unwrap().contains("`s3_assume_role`"), "{scoping}");
    assert_ne!(report["state_after"], "draft", "a limit of the credential type does not keep a draft: {report}");
}

/// A GCS service account can be held to a prefix (the IAM condition of the setup's bindings): reaching outside it
/// fails, naming the permission and the binding to apply. fake-gcs-server enforces no IAM, so the key reaches
/// everywhere, as a key granted on the whole bucket would.
#[tokio::test]
async fn a_gcs_key_that_reaches_outside_the_prefix_fails_naming_the_binding() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let bucket = unique_name("verify");
    create_gcs_bucket(&bucket).await;
    create_gcs_bucket_at(&server_env("BYOB_TEST_GCS_XML_ENDPOINT"), &bucket).await;
    let created = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/integrations"),
            Some(OPERATOR_TOKEN),
            Some(json!({
                "name": "loose", "provider": "gcs", "bucket": bucket, "prefix": "tenants/acme",
                "endpoint": gcs_split_endpoint().await, "features": ["exports"],
                "credentials": { "mode": "gcs_service_account_key", "key": gcs_test_key() },
            })),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let path = format!("/v1/orgs/{org}/integrations/{}/verify", created.id());
    let report = app.call("POST", &path, Some(OPERATOR_TOKEN), None).await.body;
    let scoping = check(&report, "scoping-outside-prefix");
    assert_eq!(scoping["status"], "failed", "{scoping}");
    let message = scoping["message"].as_str().unwrap();
    assert!(message.contains(&format!("limit `storage.objects.create` on `gs://{bucket}/tenants/acme/`")), "{scoping}");
    assert_eq!(scoping["remediation"]["artifact"], "iam-bindings", "{scoping}");
    let condition = scoping["remediation"]["statement"]["condition"]["expression"].as_str().unwrap();
    assert!(condition.contains(&format!("buckets/{bucket}/objects/tenants/acme/")), "{condition}");
    assert_eq!(report["state_after"], "draft");
    let audit =
        app.call("GET", &format!("/v1/orgs/{org}/audit?action=integration.verify"), Some(OPERATOR_TOKEN), None).await;
    assert!(
        audit.body["items"][0]["detail"]["failed"].as_array().unwrap().contains(&json!("scoping-outside-prefix")),
        "{:?}",
        audit.body
    );
}
