//! GCS storage clients against fake-gcs-server with a service-account key: V4 signed GET URLs, resumable upload
//! sessions driven by a plain HTTP client, listing. fake-gcs-server does not validate signatures or tokens; the
//! key here is a throwaway RSA key made for the test, and `disable_oauth` (object_store's documented emulator
//! member of the key file) keeps it from asking Google for tokens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::{Sensitive, location::Prefix};
use byob_ports::storage::{
    PresignPolicy, StorageClient, StorageError,
    gcs::{self, GcsSettings},
};
use byob_testkit::{
    buckets::{create_gcs_bucket, gcs_upload, unique_name},
    server_env,
};
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, path::Path};

fn throwaway_key() -> String {
    let out = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        .output()
        .expect("openssl makes a key");
    let pem = String::from_utf8(out.stdout).unwrap();
    serde_json::json!({
        "type": "service_account", "project_id": "byob-test", "private_key_id": "test",
        "private_key": pem, "client_email": "byob-test@byob-test.iam.gserviceaccount.com",
        "disable_oauth": true,
    })
    .to_string()
}

async fn client() -> (StorageClient, String) {
    let bucket = unique_name("byob");
    create_gcs_bucket(&bucket).await;
    let settings = GcsSettings {
        bucket: bucket.clone(),
        prefix: Prefix::parse("prefix", "tenants/acme").unwrap(),
        endpoint: Some(server_env("BYOB_TEST_GCS_ENDPOINT")),
        service_account_key: Sensitive::new(throwaway_key()),
    };
    (gcs::connect(settings, PresignPolicy::default()).unwrap(), bucket)
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

#[tokio::test]
async fn a_resumable_session_in_two_parts() {
    let (c, _) = client().await;
    let key = c.key("uploads/big.bin").unwrap();
    let session = c.start_multipart(&key).await.unwrap();
    let first = vec![b'g'; 256 * 1024];
    let http = reqwest::Client::new();
    let part1 = c.presign_part(&key, &session, 1, None).await.unwrap();
    let response = http
        .put(part1.url)
        .header("content-range", format!("bytes 0-{}/*", first.len() - 1))
        .body(first.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 308, "more parts expected");
    assert!(
        matches!(c.complete_multipart(&key, &session, vec![]).await, Err(StorageError::Config(m)) if m.contains("incomplete"))
    );
    let part2 = c.presign_part(&key, &session, 2, None).await.unwrap();
    let total = first.len() + 4;
    let response = http
        .put(part2.url)
        .header("content-range", format!("bytes {}-{}/{total}", first.len(), total - 1))
        .body(b"done".to_vec())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    c.complete_multipart(&key, &session, vec![]).await.unwrap();
    let stored = c.store().get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(stored.len(), total);
    assert!(stored.ends_with(b"done"));
}

#[tokio::test]
async fn an_abandoned_session_can_be_cancelled() {
    let (c, _) = client().await;
    let key = c.key("uploads/abandoned.bin").unwrap();
    let session = c.start_multipart(&key).await.unwrap();
    c.abort_multipart(&key, &session).await.unwrap();
    assert!(matches!(c.store().head(&key).await, Err(object_store::Error::NotFound { .. })));
}
