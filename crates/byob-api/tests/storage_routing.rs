//! Which bucket a feature's files go to: the org's integration (built from its stored, encrypted credentials),
//! or the platform's default storage under a per-org prefix; refusals where neither may be used.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::{OrgId, integration::Feature};
use byob_service::{Principal, RequestContext, ServiceError};
use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    buckets::{create_s3_bucket, unique_name},
    integrations::{Access, integration_body},
    server_env,
};
use object_store::{ObjectStoreExt, PutPayload, path::Path};
use serde_json::json;

fn operator() -> RequestContext {
    RequestContext::new(Principal::Operator, None)
}

async fn org(app: &TestApp) -> OrgId {
    app.create_org("acme").await.parse().unwrap()
}

#[tokio::test]
async fn without_an_integration_files_go_to_the_default_storage_per_org() {
    let app = TestApp::sqlite().await;
    let (a, b) = (org(&app).await, org(&app).await);
    let routed_a = app.services.storage.for_feature(&operator(), a, Feature::Uploads).await.unwrap();
    let routed_b = app.services.storage.for_feature(&operator(), b, Feature::Uploads).await.unwrap();
    assert!(routed_a.integration.is_none());
    assert_eq!(routed_a.staging_ttl_hours, 24);
    let key_a = routed_a.client.key("uploads/x.csv").unwrap();
    let key_b = routed_b.client.key("uploads/x.csv").unwrap();
    assert_eq!(key_a, Path::from(format!("orgs/{a}/uploads/x.csv")));
    assert_ne!(key_a, key_b, "each org has its own part of the default storage");
    routed_a.client.store().put(&key_a, PutPayload::from_static(b"a")).await.unwrap();
    assert!(routed_b.client.store().head(&key_b).await.is_err());
    assert!(!routed_a.client.can_presign(), "a local directory hands out no URLs");
}

/// Attachments live only in the org's own bucket; assets may start on the default storage (the platform's own,
/// until the org brings a bucket and migrates them).
#[tokio::test]
async fn attachments_need_the_orgs_own_bucket_and_assets_may_start_on_the_default_storage() {
    let app = TestApp::sqlite().await;
    let o = org(&app).await;
    let refused = app.services.storage.for_feature(&operator(), o, Feature::Attachments).await;
    assert!(
        matches!(refused, Err(ServiceError::Refused { code: byob_core::codes::FEATURE_NEEDS_INTEGRATION, .. })),
        "{refused:?}"
    );
    let routed = app.services.storage.for_feature(&operator(), o, Feature::Assets).await.unwrap();
    assert!(routed.integration.is_none());
}

#[tokio::test]
async fn a_feature_routed_to_an_s3_integration_uses_its_stored_credentials() {
    let app = TestApp::sqlite().await;
    let o = org(&app).await;
    let bucket = unique_name("routed");
    create_s3_bucket(&bucket).await;
    let created = app
        .call(
            "POST",
            &format!("/v1/orgs/{o}/integrations"),
            Some(OPERATOR_TOKEN),
            Some(integration_body(Access::Moto, "prod", &bucket, "byob", &["exports"])),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let routed = app.services.storage.for_feature(&operator(), o, Feature::Exports).await.unwrap();
    assert_eq!(routed.integration.map(|i| i.to_string()), Some(created.id()));
    let key = routed.client.key("exports/run-1/data.csv").unwrap();
    routed.client.store().put(&key, PutPayload::from_static(b"x,y\n")).await.unwrap();
    // Read back independently of byob (another client, its own credentials): the object is in the customer's
    // bucket under the prefix.
    let independent = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(server_env("BYOB_TEST_S3_ENDPOINT"))
        .with_bucket_name(&bucket)
        .with_region("us-east-1")
        .with_access_key_id("independent")
        .with_secret_access_key("independent")
        .with_allow_http(true)
        .build()
        .unwrap();
    let raw = independent.get(&Path::from("byob/exports/run-1/data.csv")).await.unwrap().bytes().await.unwrap();
    assert_eq!(&raw[..], b"x,y\n");

    // The credential was revealed once and audited; a second routing reuses the client.
    app.services.storage.for_feature(&operator(), o, Feature::Exports).await.unwrap();
    let audit = app.call("GET", &format!("/v1/orgs/{o}/audit?action=secret.use"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 1);

    // Other features still use the default storage; a disabled integration is not silently bypassed.
    assert!(app.services.storage.for_feature(&operator(), o, Feature::Uploads).await.unwrap().integration.is_none());
    app.call("POST", &format!("/v1/orgs/{o}/integrations/{}/disable", created.id()), Some(OPERATOR_TOKEN), None).await;
    let refused = app.services.storage.for_feature(&operator(), o, Feature::Exports).await;
    assert!(
        matches!(refused, Err(ServiceError::Refused { code: byob_core::codes::INTEGRATION_DISABLED, .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn modes_the_operator_has_not_enabled_say_what_to_configure() {
    let app = TestApp::sqlite().await;
    let o = org(&app).await;
    for (feature, credentials) in
        [("exports", json!({ "mode": "gcs_impersonation", "service_account": "byob@acme.iam.gserviceaccount.com" }))]
    {
        let created = app
            .call("POST", &format!("/v1/orgs/{o}/integrations"), Some(OPERATOR_TOKEN), Some(json!({
                "name": feature, "provider": "gcs", "bucket": "acme-data", "features": [feature], "credentials": credentials,
            })))
            .await;
        assert_eq!(created.status, 201, "{:?}", created.body);
    }
    let refused = app.services.storage.for_feature(&operator(), o, Feature::Exports).await;
    assert!(
        matches!(&refused, Err(ServiceError::Refused { code: byob_core::codes::CREDENTIAL_MODE_UNAVAILABLE, message }) if message.contains("gcp_service_account_key")),
        "{refused:?}"
    );

    let created = app
        .call(
            "POST",
            &format!("/v1/orgs/{o}/integrations"),
            Some(OPERATOR_TOKEN),
            Some(json!({
                "name": "role", "provider": "s3", "bucket": "acme-data", "region": "us-east-1", "features": ["imports"],
                "credentials": { "mode": "s3_assume_role", "role_arn": "arn:aws:iam::123456789012:role/byob" },
            })),
        )
        .await;
    assert_eq!(created.status, 201);
    let refused = app.services.storage.for_feature(&operator(), o, Feature::Imports).await;
    assert!(
        matches!(&refused, Err(ServiceError::Refused { message, .. }) if message.contains("aws_access_key_id")),
        "{refused:?}"
    );
}

/// An S3-compatible integration (custom endpoint, path-style, static keys) against s3s-fs, which checks every
/// signature: the stored, encrypted secret is what signs the requests.
#[tokio::test]
async fn an_s3_compatible_integration_on_a_signature_checking_store() {
    let app = TestApp::sqlite().await;
    let o = org(&app).await;
    let bucket = unique_name("compat");
    std::fs::create_dir_all(std::path::Path::new(&server_env("BYOB_TEST_S3S_DIR")).join(&bucket)).unwrap();
    let created = app
        .call(
            "POST",
            &format!("/v1/orgs/{o}/integrations"),
            Some(OPERATOR_TOKEN),
            Some(json!({
                "name": "minio-like", "provider": "s3", "bucket": bucket, "prefix": "byob", "region": "auto",
                "endpoint": server_env("BYOB_TEST_S3S_ENDPOINT"), "features": ["imports"],
                "credentials": {
                    "mode": "s3_access_key",
                    "access_key_id": server_env("BYOB_TEST_S3S_ACCESS_KEY"),
                    "secret_access_key": server_env("BYOB_TEST_S3S_SECRET_KEY"),
                },
            })),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["path_style"], true, "path-style by default with a custom endpoint");
    let routed = app.services.storage.for_feature(&operator(), o, Feature::Imports).await.unwrap();
    let key = routed.client.key("imports/in.csv").unwrap();
    routed.client.store().put(&key, PutPayload::from_static(b"in\n")).await.unwrap();
    assert_eq!(&routed.client.store().get(&key).await.unwrap().bytes().await.unwrap()[..], b"in\n");
    let url = routed.client.presign_get(&key, None).await.unwrap().url;
    assert_eq!(reqwest::get(url).await.unwrap().text().await.unwrap(), "in\n");
}
