//! Smoke test of the test environment itself: each real server the suite relies on answers, and byob's storage
//! library can write, list, read and delete an object on each emulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use byob_testkit::{
    buckets::{
        AZURITE_ACCOUNT, AZURITE_KEY, create_azure_container, create_gcs_bucket, create_s3_bucket, gcs_upload,
        unique_name,
    },
    server_env,
};
use futures::TryStreamExt;
use object_store::{
    ObjectStore, ObjectStoreExt, PutPayload, aws::AmazonS3Builder, azure::MicrosoftAzureBuilder,
    gcp::GoogleCloudStorageBuilder, path::Path,
};

const KEY: &str = "smoke/hello.txt";
const BYTES: &[u8] = b"hello from byob";

async fn round_trip(store: Arc<dyn ObjectStore>) {
    store.put(&Path::from(KEY), PutPayload::from_static(BYTES)).await.unwrap();
    read_list_delete(store).await;
}

async fn read_list_delete(store: Arc<dyn ObjectStore>) {
    let key = Path::from(KEY);
    let listed: Vec<_> = store.list(Some(&Path::from("smoke"))).try_collect().await.unwrap();
    assert_eq!(listed.iter().map(|m| m.location.clone()).collect::<Vec<_>>(), vec![key.clone()]);
    let bytes = store.get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[..], BYTES);
    store.delete(&key).await.unwrap();
    assert!(store.head(&key).await.is_err());
}

#[tokio::test]
async fn moto_stores_objects() {
    let bucket = unique_name("smoke");
    create_s3_bucket(&bucket).await;
    let store = AmazonS3Builder::new()
        .with_endpoint(server_env("BYOB_TEST_S3_ENDPOINT"))
        .with_bucket_name(&bucket)
        .with_region("us-east-1")
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .with_allow_http(true)
        .build()
        .unwrap();
    round_trip(Arc::new(store)).await;
}

#[tokio::test]
async fn azurite_stores_blobs() {
    let container = unique_name("smoke");
    create_azure_container(&container).await;
    // A custom account endpoint (path-style), as for any Azure-compatible service; the builder's emulator
    // mode would read the address from a process-wide environment variable instead.
    let store = MicrosoftAzureBuilder::new()
        .with_endpoint(server_env("BYOB_TEST_AZURE_ENDPOINT"))
        .with_account(AZURITE_ACCOUNT)
        .with_access_key(AZURITE_KEY)
        .with_container_name(&container)
        .with_allow_http(true)
        .build()
        .unwrap();
    round_trip(Arc::new(store)).await;
}

#[tokio::test]
async fn fake_gcs_server_stores_objects() {
    let bucket = unique_name("smoke");
    create_gcs_bucket(&bucket).await;
    // object_store's documented emulator key: no OAuth, requests go to the emulator.
    let key = serde_json::json!({
        "private_key": "unused", "private_key_id": "unused", "client_email": "byob-test@example.com",
        "disable_oauth": true, "gcs_base_url": server_env("BYOB_TEST_GCS_ENDPOINT"),
    });
    let store = GoogleCloudStorageBuilder::new()
        .with_bucket_name(&bucket)
        .with_service_account_key(key.to_string())
        .with_client_options(object_store::ClientOptions::new().with_allow_http(true))
        .build()
        .unwrap();
    gcs_upload(&bucket, KEY, BYTES).await;
    read_list_delete(Arc::new(store)).await;
}

#[tokio::test]
async fn postgres_answers() {
    use sqlx::{Connection, Row};
    let url = byob_testkit::fresh_postgres_database().await;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let row = sqlx::query("SELECT current_setting('server_version_num')::int AS v").fetch_one(&mut conn).await.unwrap();
    assert!(row.get::<i32, _>("v") >= 140_000);
}
