//! GCS-specific behaviour against fake-gcs-server with a service-account key: V4 signed URLs, impersonation
//! through the org's identity (what every backend does, resumable sessions included, is in
//! storage_behaviour.rs). fake-gcs-server does not validate signatures or tokens; the
//! key here is a throwaway RSA key made for the test, and `disable_oauth` (object_store's documented emulator
//! member of the key file) keeps it from asking Google for tokens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::{Sensitive, location::Prefix};
use byob_ports::storage::{
    ClientPolicy, StorageClient, StorageError,
    gcs::{self, GcsSettings},
};
use byob_testkit::{
    buckets::{create_gcs_bucket, create_gcs_bucket_at, gcs_test_key, gcs_upload, unique_name},
    server_env,
};
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, path::Path};

async fn client() -> (StorageClient, String) {
    let bucket = unique_name("byob");
    create_gcs_bucket(&bucket).await;
    let settings = GcsSettings {
        bucket: bucket.clone(),
        prefix: Prefix::parse("prefix", "tenants/acme").unwrap(),
        endpoint: Some(server_env("BYOB_TEST_GCS_ENDPOINT")),
        service_account_key: Sensitive::new(gcs_test_key()),
    };
    (gcs::connect(settings, ClientPolicy::default(), &byob_testkit::loopback_network()).unwrap(), bucket)
}

#[tokio::test]
async fn a_signed_get_url_needs_no_credentials() {
    let (c, bucket) = client().await;
    gcs_upload(&bucket, "tenants/acme/exports/r.csv", b"r,1\n").await;
    let key = c.key("exports/r.csv").unwrap();
    let get = c.presign_get(&key, None).await.unwrap();
    let query: std::collections::HashMap<String, String> = get.url.query_pairs().into_owned().collect();
    assert_eq!(query["X-Goog-Algorithm"], "GOOG4-RSA-SHA256");
    assert!(
        query["X-Goog-Credential"].starts_with("byob-test@byob-test.iam.gserviceaccount.com/"),
        "signed with the key's own account"
    );
    assert_eq!(query["X-Goog-Expires"], "900", "15 minutes by default");
    assert_eq!(query["X-Goog-Signature"].len(), 512, "an RSA-2048 signature in hex");
    assert!(get.url.path().ends_with("/tenants/acme/exports/r.csv"));
    assert_eq!(reqwest::get(get.url).await.unwrap().text().await.unwrap(), "r,1\n");
    let listed: Vec<_> = c.store().list(Some(&Path::from("tenants/acme"))).try_collect().await.unwrap();
    assert_eq!(listed[0].location, key);
}

const CUSTOMER: &str = "byob-access@acme.iam.gserviceaccount.com";
const ORG_IDENTITY: &str = "byob-org-1@byob-platform.iam.gserviceaccount.com";

/// A client impersonating the customer's account through the org's identity, with IAM trusting as `trust` says.
async fn impersonating(trust: byob_testkit::iam::Trust) -> (StorageClient, byob_testkit::iam::IamCalls, &'static str) {
    let bucket = unique_name("byob");
    create_gcs_bucket(&bucket).await;
    let (iam, calls) = byob_testkit::iam::start(trust).await;
    let (key, email) = byob_testkit::iam::byob_root_key();
    let settings = gcs::GcsImpersonation {
        bucket,
        prefix: Prefix::parse("prefix", "tenants/acme").unwrap(),
        endpoint: Some(server_env("BYOB_TEST_GCS_ENDPOINT")),
        service_account: CUSTOMER.into(),
        byob_key: Sensitive::new(key),
        iam_credentials_endpoint: Some(iam),
        delegate: Some(ORG_IDENTITY.into()),
    };
    (
        gcs::connect_impersonated(settings, ClientPolicy::default(), &byob_testkit::loopback_network()).unwrap(),
        calls,
        email,
    )
}

/// The setup byob asks for: byob's key may mint the org identity's tokens, which may mint the customer's.
fn chained(root: &str) -> byob_testkit::iam::Trust {
    [(ORG_IDENTITY.to_string(), vec![root.to_string()]), (CUSTOMER.to_string(), vec![ORG_IDENTITY.to_string()])].into()
}

#[tokio::test]
async fn impersonation_mints_the_customers_tokens_through_the_orgs_identity() {
    let (c, calls, byob_email) = impersonating(chained("byob@byob-platform.iam.gserviceaccount.com")).await;
    let key = c.key("exports/a.bin").unwrap();
    let session = c.start_multipart(&key).await.unwrap();
    let response =
        reqwest::Client::new().put(&session).header("content-range", "bytes 0-2/3").body("abc").send().await.unwrap();
    assert!(response.status().is_success());
    assert_eq!(&c.store().get(&key).await.unwrap().bytes().await.unwrap()[..], b"abc");
    let _: Vec<_> = c.store().list(Some(&Path::from("tenants/acme"))).try_collect().await.unwrap();

    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "one token, cached across requests: {calls:?}");
    assert_eq!(calls[0].target, CUSTOMER);
    assert_eq!(calls[0].caller, byob_email, "byob asks as itself");
    assert_eq!(calls[0].delegates, [ORG_IDENTITY], "through the org's identity");
    assert!(calls[0].granted);
}

#[tokio::test]
async fn a_refused_impersonation_names_the_missing_grant() {
    // The customer's account trusts byob's platform identity, not the org's: refused.
    let trust = [(CUSTOMER.to_string(), vec!["byob@byob-platform.iam.gserviceaccount.com".to_string()])].into();
    let (c, _, _) = impersonating(trust).await;
    let err = StorageError::from(c.store().head(&c.key("x").unwrap()).await.unwrap_err());
    assert!(
        matches!(&err, StorageError::ImpersonationRefused(m) if m.contains("serviceAccountTokenCreator")),
        "{err:?}"
    );
}

/// A V4 signed PUT and GET on gcp-storage-emulator, which serves GCS's XML API (fake-gcs-server does not take
/// object PUTs there). It does not check signatures either: the URL's shape is checked above.
#[tokio::test]
async fn a_signed_put_then_get_without_credentials() {
    let endpoint = server_env("BYOB_TEST_GCS_XML_ENDPOINT");
    let bucket = unique_name("byob");
    create_gcs_bucket_at(&endpoint, &bucket).await;
    let settings = GcsSettings {
        bucket,
        prefix: Prefix::parse("prefix", "tenants/acme").unwrap(),
        endpoint: Some(endpoint),
        service_account_key: Sensitive::new(gcs_test_key()),
    };
    let c = gcs::connect(settings, ClientPolicy::default(), &byob_testkit::loopback_network()).unwrap();
    let key = c.key("uploads/u.csv").unwrap();
    let put = c.presign_put(&key, None).await.unwrap();
    assert!(put.url.query().unwrap().contains("X-Goog-Signature="));
    let response = reqwest::Client::new().put(put.url).body("a,b\n").send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let get = c.presign_get(&key, None).await.unwrap();
    assert_eq!(reqwest::get(get.url).await.unwrap().text().await.unwrap(), "a,b\n");
}
