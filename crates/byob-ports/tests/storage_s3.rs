//! S3 storage clients against real servers: presigned GET, PUT and multipart driven by a plain HTTP client with no
//! credentials (moto), and an S3-compatible store with static keys that checks every signature (s3s-fs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use byob_ports::storage::{StorageClient, StorageError};
use byob_testkit::{
    buckets::{create_s3_bucket, s3_storage_client, unique_name},
    server_env,
};
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload, path::Path};

fn client(endpoint: String, bucket: &str, key: &str, secret: &str) -> StorageClient {
    s3_storage_client(endpoint, bucket, key, secret)
}

async fn moto() -> StorageClient {
    let bucket = unique_name("presign");
    create_s3_bucket(&bucket).await;
    client(server_env("BYOB_TEST_S3_ENDPOINT"), &bucket, "testing", "testing")
}

#[tokio::test]
async fn keys_never_leave_the_prefix() {
    let c = moto().await;
    assert_eq!(c.key("uploads/a.csv").unwrap(), Path::from("tenants/acme/uploads/a.csv"));
    for bad in ["../other/a.csv", "/etc/passwd", "uploads//a", "", "a/./b", "a b"] {
        assert!(matches!(c.key(bad), Err(StorageError::InvalidKey { .. })), "{bad}");
    }
}

#[tokio::test]
async fn presigned_put_then_get_without_credentials() {
    let c = moto().await;
    let key = c.key("uploads/hello.csv").unwrap();
    let put = c.presign_put(&key, None).await.unwrap();
    assert!(put.expires_at > chrono::Utc::now() + chrono::Duration::minutes(14));
    assert!(put.url.path().ends_with("/tenants/acme/uploads/hello.csv"), "{}", put.url);
    let http = reqwest::Client::new();
    let response = http.put(put.url.clone()).body("a,b\n1,2\n").send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let get = c.presign_get(&key, Some(Duration::from_secs(60))).await.unwrap();
    assert_eq!(http.get(get.url).send().await.unwrap().text().await.unwrap(), "a,b\n1,2\n");
    let listed: Vec<_> = c.store().list(Some(&Path::from("tenants/acme"))).try_collect().await.unwrap();
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn presigned_lifetimes_are_bounded() {
    let c = moto().await;
    let key = c.key("uploads/x").unwrap();
    let too_long = c.presign_get(&key, Some(Duration::from_secs(13 * 3600))).await;
    assert!(matches!(too_long, Err(StorageError::LifetimeTooLong { max_secs: 43_200, .. })));
}

#[tokio::test]
async fn a_two_part_presigned_multipart_upload() {
    let c = moto().await;
    let key = c.key("uploads/big.bin").unwrap();
    let upload_id = c.start_multipart(&key).await.unwrap();
    let first = vec![b'a'; 5 * 1024 * 1024];
    let second = b"the end".to_vec();
    let http = reqwest::Client::new();
    let mut etags = Vec::new();
    for (number, bytes) in [(1, first.clone()), (2, second.clone())] {
        let url = c.presign_part(&key, &upload_id, number, None).await.unwrap();
        let response = http.put(url.url).body(bytes).send().await.unwrap();
        assert!(response.status().is_success(), "part {number}: {}", response.status());
        etags.push(response.headers()["etag"].to_str().unwrap().to_string());
    }
    c.complete_multipart(&key, &upload_id, etags).await.unwrap();
    let stored = c.store().get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(stored.len(), first.len() + second.len());
    assert!(stored.ends_with(b"the end"));

    let aborted_key = c.key("uploads/aborted.bin").unwrap();
    let id = c.start_multipart(&aborted_key).await.unwrap();
    c.abort_multipart(&aborted_key, &id).await.unwrap();
    assert!(matches!(c.store().head(&aborted_key).await, Err(object_store::Error::NotFound { .. })));
    assert!(c.presign_part(&key, &upload_id, 0, None).await.is_err());
}

/// s3s-fs checks SigV4 on every request, presigned or not.
fn s3s(bucket: &str) -> StorageClient {
    std::fs::create_dir_all(std::path::Path::new(&server_env("BYOB_TEST_S3S_DIR")).join(bucket)).unwrap();
    client(
        server_env("BYOB_TEST_S3S_ENDPOINT"),
        bucket,
        &server_env("BYOB_TEST_S3S_ACCESS_KEY"),
        &server_env("BYOB_TEST_S3S_SECRET_KEY"),
    )
}

#[tokio::test]
async fn an_s3_compatible_store_with_static_keys() {
    let c = s3s(&unique_name("compat"));
    let key = c.key("exports/report.csv").unwrap();
    c.store().put(&key, PutPayload::from_static(b"x,y\n")).await.unwrap();
    assert_eq!(&c.store().get(&key).await.unwrap().bytes().await.unwrap()[..], b"x,y\n");
    let listed: Vec<_> = c.store().list(Some(&Path::from("tenants/acme/exports"))).try_collect().await.unwrap();
    assert_eq!(listed[0].location, key);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_the_store() {
    let bucket = unique_name("wrongkey");
    let right = s3s(&bucket);
    let key = right.key("x").unwrap();
    right.store().put(&key, PutPayload::from_static(b"x")).await.unwrap();
    let wrong = client(
        server_env("BYOB_TEST_S3S_ENDPOINT"),
        &bucket,
        &server_env("BYOB_TEST_S3S_ACCESS_KEY"),
        "not-the-secret",
    );
    let refused = wrong.store().get(&key).await.map(|_| ()).map_err(StorageError::from);
    // The store rejects the credentials themselves, which no grant would fix: said as such, with its code.
    assert!(
        matches!(&refused, Err(StorageError::CredentialsRejected(code)) if code == "SignatureDoesNotMatch"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_tampered_presigned_url_is_refused() {
    let c = s3s(&unique_name("tamper"));
    let key = c.key("uploads/data.csv").unwrap();
    c.store().put(&key, PutPayload::from_static(b"secret data")).await.unwrap();
    c.store().put(&c.key("uploads/other.csv").unwrap(), PutPayload::from_static(b"other")).await.unwrap();
    let http = reqwest::Client::new();
    let good = c.presign_get(&key, None).await.unwrap().url;
    assert_eq!(http.get(good.clone()).send().await.unwrap().text().await.unwrap(), "secret data");

    let mut other_key = good.clone();
    other_key.set_path(&good.path().replace("data.csv", "other.csv"));
    assert_eq!(http.get(other_key).send().await.unwrap().status(), 403, "a URL is valid for its key only");

    let mut forged = good.clone();
    let pairs: Vec<(String, String)> = good
        .query_pairs()
        .map(|(k, v)| {
            let mut v = v.into_owned();
            if k == "X-Amz-Signature" {
                // Change the last hex digit of the signature.
                let last = if v.ends_with('0') { '1' } else { '0' };
                v.pop();
                v.push(last);
            }
            (k.into_owned(), v)
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    assert_eq!(http.get(forged).send().await.unwrap().status(), 403, "a forged signature is refused");

    let put = c.presign_put(&key, None).await.unwrap().url;
    let mut widened = put.clone();
    widened.set_path(&put.path().replace("tenants/acme/uploads/data.csv", "tenants/other/x.csv"));
    assert_eq!(http.put(widened).body("evil").send().await.unwrap().status(), 403);
}
