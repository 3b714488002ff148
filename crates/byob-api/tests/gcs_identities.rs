//! The GCS confused deputy, attacked: byob mints a customer's tokens through the org's own byob-side identity,
//! so an org naming another org's service account gets nothing — it is refused outright, and an account that
//! trusts byob's platform identity (any org could use it) fails verification saying so. Impersonated tokens go
//! to Google's endpoint or one the operator allowed, never one a tenant picks. Against fake-gcs-server and an
//! IAM Credentials stand-in that applies Google's delegation rules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::{Role, Sensitive};
use byob_testkit::{
    TestApp,
    app::TestOptions,
    buckets::{create_gcs_bucket, unique_name},
    iam, server_env,
};
use serde_json::{Value, json};

const ORG_A_IDENTITY: &str = "byob-org-1@byob-platform.iam.gserviceaccount.com";
const ORG_B_IDENTITY: &str = "byob-org-2@byob-platform.iam.gserviceaccount.com";
const A_DATA: &str = "a-data@customer-a.iam.gserviceaccount.com";
const B_LEGACY: &str = "b-legacy@customer-b.iam.gserviceaccount.com";

fn integration(bucket: &str, account: &str, endpoint: &str) -> Value {
    json!({
        "name": format!("gcs-{}", unique_name("i")), "provider": "gcs", "bucket": bucket, "prefix": "byob",
        "endpoint": endpoint, "features": ["exports"],
        "credentials": { "mode": "gcs_impersonation", "service_account": account },
    })
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()
}

#[tokio::test]
async fn one_orgs_service_account_is_out_of_another_orgs_reach() {
    let (root_key, root) = iam::byob_root_key();
    let trust: iam::Trust = [
        (ORG_A_IDENTITY.to_string(), vec![root.to_string()]),
        (ORG_B_IDENTITY.to_string(), vec![root.to_string()]),
        // Set up as byob asks: the customer's account trusts org A's identity only.
        (A_DATA.to_string(), vec![ORG_A_IDENTITY.to_string()]),
        // Set up the old way: trusting byob's platform identity, which every org shares.
        (B_LEGACY.to_string(), vec![root.to_string()]),
    ]
    .into();
    let (iam_url, calls) = iam::start(trust).await;
    let identity = byob_service::GcpIdentity { key: Sensitive::new(root_key), iam_credentials_endpoint: Some(iam_url) };
    let app = TestApp::sqlite_with(TestOptions { gcp_identity: Some(identity), ..TestOptions::default() }).await;
    let endpoint = server_env("BYOB_TEST_GCS_ENDPOINT");
    let bucket = unique_name("deputy");
    create_gcs_bucket(&bucket).await;
    let org_a = app.create_org("a").await;
    let org_b = app.create_org("b").await;
    let (_, admin_a) = app.member_with_token(&org_a, Role::Admin).await;
    let (_, admin_b) = app.member_with_token(&org_b, Role::Admin).await;
    let create = |org: &str, token: &str, body: Value| {
        let (app, path, token) = (&app, format!("/v1/orgs/{org}/integrations"), token.to_string());
        async move { app.call("POST", &path, Some(&token), Some(body)).await }
    };

    // Org A, set up as byob asks: its tokens come through its own identity, and the platform identity is refused.
    let a = create(&org_a, &admin_a, integration(&bucket, A_DATA, &endpoint)).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let a_id = a.body["id"].as_str().unwrap();
    let report =
        app.call("POST", &format!("/v1/orgs/{org_a}/integrations/{a_id}/verify"), Some(&admin_a), None).await.body;
    // The bucket is read with the minted token (fake-gcs lacks the XML API object writes go through).
    assert_eq!(check(&report, "location-bucket-exists")["status"], "passed", "{report}");
    assert_eq!(check(&report, "trust-byob-identity-refused")["status"], "passed", "{report}");
    let setup =
        app.call("GET", &format!("/v1/orgs/{org_a}/integrations/{a_id}/setup"), Some(&admin_a), None).await.body;
    let shown = setup.to_string();
    assert!(shown.contains(ORG_A_IDENTITY) && !shown.contains(root), "the setup trusts org A's identity only: {shown}");

    // Org B names org A's account: refused before anything is minted.
    let minted = calls.lock().unwrap().len();
    let stolen = create(&org_b, &admin_b, integration(&bucket, A_DATA, &endpoint)).await;
    assert_eq!((stolen.status, stolen.body["code"].as_str()), (409, Some("identity-in-use")), "{:?}", stolen.body);
    assert_eq!(calls.lock().unwrap().len(), minted, "no token was asked for");

    // Org B's account trusts byob's platform identity directly: byob will not use it that way, and says why.
    let legacy = create(&org_b, &admin_b, integration(&bucket, B_LEGACY, &endpoint)).await;
    assert_eq!(legacy.status, 201, "{:?}", legacy.body);
    let b_id = legacy.body["id"].as_str().unwrap();
    let report =
        app.call("POST", &format!("/v1/orgs/{org_b}/integrations/{b_id}/verify"), Some(&admin_b), None).await.body;
    // The refused impersonation is the credentials' failure, once: the checks that needed them are skipped.
    let obtain = check(&report, "credentials-obtain");
    assert_eq!(obtain["status"], "failed", "{report}");
    assert!(obtain["message"].as_str().unwrap().contains("impersonation was refused"), "{report}");
    assert_eq!(obtain["remediation"]["statement"]["role"], "roles/iam.serviceAccountTokenCreator", "{obtain}");
    for skipped in ["location-bucket-exists", "objects-write", "lifecycle-staging-rule"] {
        assert_eq!(check(&report, skipped)["status"], "skipped", "{report}");
    }
    let root_check = check(&report, "trust-byob-identity-refused");
    assert_eq!(root_check["status"], "failed", "{report}");
    assert!(root_check["message"].as_str().unwrap().contains("confused deputy"), "{root_check}");
    // Every token byob asked for on org B's behalf went through org B's identity.
    for call in calls.lock().unwrap().iter().filter(|c| c.target == B_LEGACY && !c.delegates.is_empty()) {
        assert_eq!(call.delegates, [ORG_B_IDENTITY]);
    }

    // Impersonated tokens never go to an endpoint a tenant picks.
    let mut body = integration(&bucket, "b-new@customer-b.iam.gserviceaccount.com", "http://127.0.0.1:9");
    body["features"] = json!([]);
    let elsewhere = create(&org_b, &admin_b, body).await;
    assert_eq!(
        (elsewhere.status, elsewhere.body["code"].as_str()),
        (422, Some("endpoint-not-allowed")),
        "{:?}",
        elsewhere.body
    );
}
