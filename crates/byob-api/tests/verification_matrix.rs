//! The verification matrix: deliberately broken setups on the emulators, each failing or warning on the check
//! that names its cause while every check that still holds passes; and correct setups that pass fully.
//!
//! Emulator limits shape the cases (docs/testing.md): moto outside its auth mode lets any key write anywhere, so
//! correct static-key setups here use a bucket dedicated to byob (no prefix, so there is no outside to probe);
//! the assume-role cases run on a moto of their own in auth mode (tests/assume_role_moto.rs has the correct one).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_s3::types::{
    BucketVersioningStatus, CorsConfiguration, CorsRule, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};
use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    buckets::{
        AZURITE_ACCOUNT, AZURITE_KEY, azurite_account_sas, create_azure_container, create_gcs_bucket, create_kms_key,
        gcs_split_endpoint, gcs_test_key, s3_admin, s3_block_public_access, s3_expire, set_azurite_cors, unique_name,
    },
    server_env,
};
use serde_json::{Value, json};

const ORIGIN: &str = "https://app.example.com";

async fn create(app: &TestApp, org: &str, body: Value) -> String {
    let created = app.call("POST", &format!("/v1/orgs/{org}/integrations"), Some(OPERATOR_TOKEN), Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    created.id()
}

/// Verifies, and checks that every remediation names an artifact of the integration's own setup (with the
/// statement it quotes inside that artifact) or gives its fix inline.
async fn verify(app: &TestApp, org: &str, id: &str) -> Value {
    let report =
        app.call("POST", &format!("/v1/orgs/{org}/integrations/{id}/verify"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(report.status, 200, "{:?}", report.body);
    let setup = app.call("GET", &format!("/v1/orgs/{org}/integrations/{id}/setup"), Some(OPERATOR_TOKEN), None).await;
    let artifacts = setup.body["artifacts"].as_array().unwrap();
    for check in report.body["checks"].as_array().unwrap() {
        let Some(remediation) = check.get("remediation") else { continue };
        assert!(!remediation["action"].as_str().unwrap().is_empty(), "{check}");
        let Some(name) = remediation["artifact"].as_str() else { continue };
        let artifact = artifacts
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("`{name}` is not in this integration's setup: {check}"));
        if let Some(statement) = remediation.get("statement") {
            assert!(contains(&artifact["content"], statement), "{statement} is not in `{name}`");
        }
    }
    report.body
}

fn contains(whole: &Value, part: &Value) -> bool {
    whole == part
        || match whole {
            Value::Array(items) => items.iter().any(|v| contains(v, part)),
            Value::Object(map) => map.values().any(|v| contains(v, part)),
            _ => false,
        }
}

/// Only the bucket check fails; every check that needs the bucket is skipped with it, never failing again.
fn assert_one_missing_bucket(report: &Value, bucket: &str) {
    for check in report["checks"].as_array().unwrap() {
        let message = check["message"].as_str().unwrap();
        match check["name"].as_str().unwrap() {
            "location-bucket-exists" => {
                assert_eq!(check["status"], "failed", "{check}");
                assert!(message.contains(&format!("`{bucket}` does not exist")), "{check}");
            }
            "credentials-obtain"
            | "credentials-sas-permissions"
            | "trust-wrong-external-id"
            | "trust-byob-identity-refused"
            | "clock-skew" => {
                assert_ne!(check["status"], "failed", "{check}");
            }
            _ => {
                assert_eq!(check["status"], "skipped", "one failure, not ten: {check}");
                assert!(
                    message == "the bucket does not exist (location-bucket-exists)"
                        || !message.contains("does not exist"),
                    "{check}"
                );
            }
        }
    }
}

/// The listed checks have the given status and a message containing the text; every other check passed or was
/// skipped.
fn assert_report(report: &Value, expected: &[(&str, &str, &str)]) {
    for check in report["checks"].as_array().unwrap() {
        let name = check["name"].as_str().unwrap();
        match expected.iter().find(|(n, _, _)| *n == name) {
            Some((_, status, text)) => {
                assert_eq!(check["status"], *status, "{check}");
                assert!(check["message"].as_str().unwrap().contains(text), "`{text}` not in {check}");
                if *status != "passed" {
                    assert!(check["remediation"]["action"].is_string(), "a fix is named: {check}");
                }
            }
            None => assert!(
                check["status"] == "passed" || check["status"] == "skipped",
                "only the broken setting fails: {check}\n{report}"
            ),
        }
    }
    for (name, _, _) in expected {
        assert!(report["checks"].as_array().unwrap().iter().any(|c| c["name"] == *name), "no {name}");
    }
}

/// What a careful customer sets on a bucket dedicated to byob, from the setup artifacts.
struct S3Bucket {
    cors: Option<CorsRule>,
    versioning: bool,
    public_access_block: bool,
    /// One lifecycle rule: its id, prefix and days.
    lifecycle: Option<(&'static str, &'static str, i32)>,
    kms_key: Option<String>,
}

impl Default for S3Bucket {
    fn default() -> Self {
        Self {
            cors: Some(cors_rule(ORIGIN, &["ETag"])),
            versioning: true,
            public_access_block: true,
            lifecycle: Some(("byob-staging-ttl", "uploads/", 1)),
            kms_key: None,
        }
    }
}

fn cors_rule(origin: &str, expose: &[&str]) -> CorsRule {
    let mut rule = CorsRule::builder().allowed_origins(origin).allowed_headers("*");
    for method in ["GET", "PUT", "POST", "HEAD"] {
        rule = rule.allowed_methods(method);
    }
    for header in expose {
        rule = rule.expose_headers(*header);
    }
    rule.build().unwrap()
}

async fn s3_bucket(region: &str, settings: &S3Bucket) -> String {
    let endpoint = server_env("BYOB_TEST_S3_ENDPOINT");
    let s3 = s3_admin(&endpoint, region);
    let bucket = unique_name("matrix");
    let mut create = s3.create_bucket().bucket(&bucket);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create.send().await.unwrap();
    if let Some(rule) = &settings.cors {
        let cors = CorsConfiguration::builder().cors_rules(rule.clone()).build().unwrap();
        s3.put_bucket_cors().bucket(&bucket).cors_configuration(cors).send().await.unwrap();
    }
    if settings.versioning {
        let v = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
        s3.put_bucket_versioning().bucket(&bucket).versioning_configuration(v).send().await.unwrap();
    }
    if settings.public_access_block {
        s3_block_public_access(&s3, &bucket).await;
    }
    if let Some((id, prefix, days)) = settings.lifecycle {
        s3_expire(&s3, &bucket, id, prefix, days).await;
    }
    if let Some(key) = &settings.kms_key {
        let default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id(key)
            .build()
            .unwrap();
        let config = ServerSideEncryptionConfiguration::builder()
            .rules(ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(default).build())
            .build()
            .unwrap();
        s3.put_bucket_encryption().bucket(&bucket).server_side_encryption_configuration(config).send().await.unwrap();
    }
    bucket
}

/// A static-key integration over the whole bucket, serving uploads and assets from the browser origin.
fn s3_integration(bucket: &str, region: &str, kms_key: Option<&str>) -> Value {
    json!({
        "name": "matrix", "provider": "s3", "bucket": bucket, "prefix": "", "region": region,
        "endpoint": server_env("BYOB_TEST_S3_ENDPOINT"), "features": ["uploads", "assets"],
        "allowed_origins": [ORIGIN], "kms_key": kms_key,
        "credentials": { "mode": "s3_access_key", "access_key_id": "matrix", "secret_access_key": "matrix" },
    })
}

async fn s3_case(settings: S3Bucket, configured_region: &str, kms_key: Option<&str>) -> Value {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let bucket = s3_bucket("us-east-1", &settings).await;
    let id = create(&app, &org, s3_integration(&bucket, configured_region, kms_key)).await;
    verify(&app, &org, &id).await
}

#[tokio::test]
async fn s3_correct_setup_passes_fully_and_activates() {
    let key = create_kms_key(&server_env("BYOB_TEST_S3_ENDPOINT")).await;
    let report = s3_case(S3Bucket { kms_key: Some(key.clone()), ..S3Bucket::default() }, "us-east-1", Some(&key)).await;
    assert_report(&report, &[("encryption-default", "passed", "KMS"), ("encryption-kms-write", "passed", &key)]);
    assert_eq!(report["state_after"], "active");
}

#[tokio::test]
async fn s3_without_cors_fails_the_cors_checks() {
    let report = s3_case(S3Bucket { cors: None, ..S3Bucket::default() }, "us-east-1", None).await;
    assert_report(
        &report,
        &[("cors-rules", "failed", "no CORS rules"), ("cors-preflight", "failed", "preflight for a PUT was refused")],
    );
    assert_eq!(
        report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "cors-rules").unwrap()["remediation"]["artifact"],
        "cors"
    );
}

#[tokio::test]
async fn s3_cors_without_etag_fails_naming_etag() {
    let report =
        s3_case(S3Bucket { cors: Some(cors_rule(ORIGIN, &[])), ..S3Bucket::default() }, "us-east-1", None).await;
    assert_report(&report, &[("cors-rules", "failed", "do not expose the ETag header")]);
}

#[tokio::test]
async fn s3_cors_for_another_origin_fails_naming_the_origin() {
    let other = S3Bucket { cors: Some(cors_rule("https://other.example.com", &["ETag"])), ..S3Bucket::default() };
    let report = s3_case(other, "us-east-1", None).await;
    assert_report(
        &report,
        &[
            (
                "cors-rules",
                "failed",
                "no rule allows origin `https://app.example.com` (rules allow: https://other.example.com)",
            ),
            ("cors-preflight", "failed", "`https://app.example.com` got"),
        ],
    );
}

#[tokio::test]
async fn s3_missing_kms_key_fails_the_encrypted_write() {
    let missing = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000";
    let report = s3_case(S3Bucket::default(), "us-east-1", Some(missing)).await;
    assert_report(&report, &[("encryption-kms-write", "failed", "does not exist")]);
}

#[tokio::test]
async fn s3_versioning_off_with_assets_fails() {
    let report = s3_case(S3Bucket { versioning: false, ..S3Bucket::default() }, "us-east-1", None).await;
    assert_report(&report, &[("versioning-enabled", "failed", "asset store is enabled")]);
    assert_eq!(report["state_after"], "draft");
}

#[tokio::test]
async fn s3_public_access_block_off_warns() {
    let report = s3_case(S3Bucket { public_access_block: false, ..S3Bucket::default() }, "us-east-1", None).await;
    assert_report(&report, &[("public-access-blocked", "warning", "no public access block")]);
    assert_eq!(report["state_after"], "active", "a warning does not stop activation");
    // byob emits no public-access-block for an S3-compatible store with static keys: the fix is inline.
    let check = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "public-access-blocked").unwrap();
    assert!(check["remediation"].get("artifact").is_none_or(Value::is_null), "{check}");
    assert!(check["remediation"]["action"].as_str().unwrap().contains("the store's own settings"), "{check}");
}

#[tokio::test]
async fn s3_without_lifecycle_rule_warns() {
    let report = s3_case(S3Bucket { lifecycle: None, ..S3Bucket::default() }, "us-east-1", None).await;
    assert_report(
        &report,
        &[(
            "lifecycle-staging-rule",
            "warning",
            "no lifecycle rule expires staged files under `uploads/` within 1 day(s) (the bucket has no lifecycle rule)",
        )],
    );
}

#[tokio::test]
async fn a_lifecycle_rule_for_another_prefix_is_named_with_its_prefix() {
    let settings = S3Bucket { lifecycle: Some(("archive-cleanup", "archive/", 1)), ..S3Bucket::default() };
    let report = s3_case(settings, "us-east-1", None).await;
    assert_report(
        &report,
        &[("lifecycle-staging-rule", "warning", "rule `archive-cleanup`: it covers `archive/`, not `uploads/`")],
    );
}

#[tokio::test]
async fn a_lifecycle_rule_with_a_longer_ttl_is_named_with_its_days() {
    let settings = S3Bucket { lifecycle: Some(("slow-expiry", "uploads/", 30)), ..S3Bucket::default() };
    let report = s3_case(settings, "us-east-1", None).await;
    assert_report(
        &report,
        &[(
            "lifecycle-staging-rule",
            "warning",
            "rule `slow-expiry`: it expires `uploads/` after 30 day(s), more than 1",
        )],
    );
}

#[tokio::test]
async fn a_missing_s3_bucket_is_one_failure() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let bucket = unique_name("never-created");
    let id = create(&app, &org, s3_integration(&bucket, "us-east-1", None)).await;
    let report = verify(&app, &org, &id).await;
    assert_one_missing_bucket(&report, &bucket);
    assert_eq!(report["state_after"], "draft");
}

#[tokio::test]
async fn a_missing_azure_container_is_one_failure() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let container = unique_name("never-created");
    let credentials = json!({ "mode": "azure_shared_key", "account": AZURITE_ACCOUNT, "account_key": AZURITE_KEY });
    let id = create(&app, &org, azure_integration(&container, json!(["uploads"]), credentials, json!([ORIGIN]))).await;
    let report = verify(&app, &org, &id).await;
    assert_one_missing_bucket(&report, &container);
}

#[tokio::test]
async fn a_missing_gcs_bucket_is_one_failure() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let bucket = unique_name("never-created");
    let endpoint = gcs_split_endpoint().await;
    let id = create(
        &app,
        &org,
        json!({
            "name": "matrix", "provider": "gcs", "bucket": bucket, "prefix": "tenants/acme", "endpoint": endpoint,
            "features": ["uploads", "assets"], "allowed_origins": [ORIGIN],
            "credentials": { "mode": "gcs_service_account_key", "key": gcs_test_key() },
        }),
    )
    .await;
    let report = verify(&app, &org, &id).await;
    assert_one_missing_bucket(&report, &bucket);
}

/// An account key reaches the whole storage account: with a prefix, scoping can never pass, so it warns naming
/// the limit and the modes that can express a prefix, and the integration still becomes active.
#[tokio::test]
async fn an_azure_account_key_with_a_prefix_warns_naming_its_limit() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let container = unique_name("matrix");
    create_azure_container(&container).await;
    let credentials = json!({ "mode": "azure_shared_key", "account": AZURITE_ACCOUNT, "account_key": AZURITE_KEY });
    let mut body = azure_integration(&container, json!(["exports"]), credentials, json!([]));
    body["prefix"] = json!("tenants/acme");
    let id = create(&app, &org, body).await;
    let report = verify(&app, &org, &id).await;
    assert_report(
        &report,
        &[(
            "scoping-outside-prefix",
            "warning",
            "an account key reaches every container of the storage account and cannot be limited to a prefix",
        )],
    );
    let scoping = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "scoping-outside-prefix").unwrap();
    assert!(scoping["remediation"]["action"].as_str().unwrap().contains("`azure_broker`"), "{scoping}");
    assert_eq!(report["state_after"], "active");
}

#[tokio::test]
async fn s3_wrong_region_is_reported_as_a_region_mismatch() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let bucket = s3_bucket("eu-west-1", &S3Bucket::default()).await;
    let id = create(&app, &org, s3_integration(&bucket, "us-east-1", None)).await;
    let report = verify(&app, &org, &id).await;
    assert_report(
        &report,
        &[("location-region", "failed", "the bucket is in `eu-west-1` but the integration says `us-east-1`")],
    );
}

#[tokio::test]
async fn a_skewed_clock_fails_the_clock_check() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let bucket = s3_bucket("us-east-1", &S3Bucket::default()).await;
    let id = create(&app, &org, s3_integration(&bucket, "us-east-1", None)).await;
    app.clock.advance(chrono::Duration::minutes(20));
    let report = verify(&app, &org, &id).await;
    assert_report(&report, &[("clock-skew", "failed", "signed requests are refused beyond 15 minutes")]);
}

fn azure_integration(container: &str, features: Value, credentials: Value, origins: Value) -> Value {
    json!({
        "name": "matrix", "provider": "azure", "bucket": container, "prefix": "",
        "endpoint": server_env("BYOB_TEST_AZURE_ENDPOINT"), "features": features,
        "allowed_origins": origins, "credentials": credentials,
    })
}

#[tokio::test]
async fn azure_correct_setup_passes_fully() {
    // The blob service's CORS rules are account-wide on Azurite: this is the only test that sets them.
    set_azurite_cors(ORIGIN, "etag,content-length").await;
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let container = unique_name("matrix");
    create_azure_container(&container).await;
    let credentials = json!({ "mode": "azure_shared_key", "account": AZURITE_ACCOUNT, "account_key": AZURITE_KEY });
    let id = create(&app, &org, azure_integration(&container, json!(["uploads"]), credentials, json!([ORIGIN]))).await;
    let report = verify(&app, &org, &id).await;
    assert_report(&report, &[("cors-preflight", "passed", "preflights from https://app.example.com succeed")]);
    assert_eq!(report["state_after"], "active");
}

#[tokio::test]
async fn an_expired_sas_fails_credentials_and_skips_the_rest() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let container = unique_name("matrix");
    create_azure_container(&container).await;
    let sas = azurite_account_sas("rwdl", chrono::Utc::now() + chrono::Duration::days(30));
    let credentials = json!({ "mode": "azure_sas", "account": AZURITE_ACCOUNT, "sas_token": sas });
    let id = create(&app, &org, azure_integration(&container, json!(["exports"]), credentials, json!([]))).await;
    app.clock.advance(chrono::Duration::days(31));
    let report = verify(&app, &org, &id).await;
    let obtain = &report["checks"][0];
    assert_eq!(
        (obtain["name"].as_str(), obtain["status"].as_str()),
        (Some("credentials-obtain"), Some("failed")),
        "{obtain}"
    );
    assert!(obtain["message"].as_str().unwrap().contains("expired at"), "{obtain}");
    assert!(report["checks"].as_array().unwrap()[2..].iter().all(|c| c["status"] == "skipped"), "{report}");
}

#[tokio::test]
async fn a_read_only_sas_cannot_take_uploads_later() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let container = unique_name("matrix");
    create_azure_container(&container).await;
    let sas = azurite_account_sas("rl", chrono::Utc::now() + chrono::Duration::days(30));
    let credentials = json!({ "mode": "azure_sas", "account": AZURITE_ACCOUNT, "sas_token": sas });
    let id = create(&app, &org, azure_integration(&container, json!(["imports"]), credentials, json!([]))).await;
    // The SAS was enough for imports; switching uploads on later is refused like a create, naming the permission.
    let path = format!("/v1/orgs/{org}/integrations/{id}");
    let updated =
        app.call("PATCH", &path, Some(OPERATOR_TOKEN), Some(json!({ "features": ["imports", "uploads"] }))).await;
    assert_eq!((updated.status, updated.body["rule"].as_str()), (422, Some("sas-permissions-for-features")));
    assert!(updated.body["detail"].as_str().unwrap().contains("lacks permission(s) `w`"), "{:?}", updated.body);
    let kept = app.call("GET", &path, Some(OPERATOR_TOKEN), None).await;
    assert_eq!(kept.body["features"], json!(["imports"]), "nothing changed: {:?}", kept.body);
}

#[tokio::test]
async fn gcs_correct_setup_passes_fully() {
    let metadata = server_env("BYOB_TEST_GCS_XML_ENDPOINT");
    let bucket = unique_name("matrix");
    create_gcs_bucket(&bucket).await;
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{metadata}/storage/v1/b?project=byob-test"))
        .json(&json!({ "name": bucket }))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());
    // gcp-storage-emulator keeps bucket metadata set by PATCH, as `gcloud storage buckets update` would.
    let patched = http
        .patch(format!("{metadata}/storage/v1/b/{bucket}"))
        .json(&json!({
            "cors": [{ "origin": [ORIGIN], "method": ["GET", "PUT", "POST", "HEAD"], "responseHeader": ["ETag", "Content-Type"] }],
            "lifecycle": { "rule": [{ "action": { "type": "Delete" }, "condition": { "age": 1, "matchesPrefix": ["uploads/"] } }] },
            "versioning": { "enabled": true },
            "iamConfiguration": { "publicAccessPrevention": "enforced" },
        }))
        .send()
        .await
        .unwrap();
    assert!(patched.status().is_success());
    let endpoint = gcs_split_endpoint().await;
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let id = create(
        &app,
        &org,
        json!({
            "name": "matrix", "provider": "gcs", "bucket": bucket, "prefix": "", "endpoint": endpoint,
            "features": ["uploads", "assets"], "allowed_origins": [ORIGIN],
            "credentials": { "mode": "gcs_service_account_key", "key": gcs_test_key() },
        }),
    )
    .await;
    let report = verify(&app, &org, &id).await;
    assert_report(
        &report,
        &[("versioning-enabled", "passed", "enabled"), ("lifecycle-staging-rule", "passed", "expire after 1 day")],
    );
    assert_eq!(report["state_after"], "active");
}

/// A wrong account key is the credentials' failure, not a missing permission: credentials-obtain fails naming the
/// store's rejection, with no grant to add, and the checks that needed the key are skipped with it.
#[tokio::test]
async fn a_wrong_account_key_is_blamed_on_the_credentials_once() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let container = unique_name("matrix");
    create_azure_container(&container).await;
    let wrong = "d3JvbmctYnV0LXZhbGlkLWJhc2U2NC1hY2NvdW50LWtleS1mb3ItdGVzdHMtb25seS0wMTIzNDU2Nzg5YWJjZA==";
    let credentials = json!({ "mode": "azure_shared_key", "account": AZURITE_ACCOUNT, "account_key": wrong });
    let id = create(&app, &org, azure_integration(&container, json!(["exports"]), credentials, json!([]))).await;
    let report = verify(&app, &org, &id).await;
    for check in report["checks"].as_array().unwrap() {
        match check["name"].as_str().unwrap() {
            "credentials-obtain" => {
                assert_eq!(check["status"], "failed", "{check}");
                let message = check["message"].as_str().unwrap();
                // Azurite answers a wrong key with AuthorizationFailure (Azure itself with AuthenticationFailed).
                assert!(message.contains("the storage account refused its own account key (AuthorizationFailure)"));
                assert!(!message.contains("http://"), "no endpoint URL: {check}");
                let action = check["remediation"]["action"].as_str().unwrap();
                assert!(action.contains("replace the integration's account key"), "{check}");
            }
            "credentials-sas-permissions"
            | "trust-wrong-external-id"
            | "trust-byob-identity-refused"
            | "clock-skew" => {}
            _ => assert_eq!(check["status"], "skipped", "{check}"),
        }
    }
}
