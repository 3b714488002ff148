//! Unfinished writes found by listing, not by a recorded id: what a process that died between starting an
//! upload and recording its id leaves. Cleared for one key (an export file, a staged upload) or under a folder
//! when older than a time; other keys' uploads and writes in progress are left alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_ports::storage::local_storage_client;
use byob_testkit::{
    buckets::{create_s3_bucket, s3_storage_client, unique_name},
    exports::open_multipart_uploads,
    server_env,
};
use object_store::multipart::MultipartStore as _;

#[tokio::test]
async fn an_upload_whose_id_was_never_recorded_is_found_and_aborted_on_moto() {
    let bucket = unique_name("unfinished");
    create_s3_bucket(&bucket).await;
    let client = s3_storage_client(server_env("BYOB_TEST_S3_ENDPOINT"), &bucket, "testing", "testing");
    let raw = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&bucket)
        .with_region("us-east-1")
        .with_endpoint(server_env("BYOB_TEST_S3_ENDPOINT"))
        .with_allow_http(true)
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .build()
        .unwrap();
    let file = client.key("exports/run/part-00001.csv").unwrap();
    let other = client.key("exports/run/part-00002.csv").unwrap();
    // Two uploads of the file (a dead attempt's, started twice), one of another file; no id kept anywhere.
    for key in [&file, &file, &other] {
        raw.create_multipart(key).await.unwrap();
    }
    assert_eq!(open_multipart_uploads(&bucket).await, 3);
    assert_eq!(client.clear_unfinished(&file).await.unwrap(), 2);
    assert_eq!(open_multipart_uploads(&bucket).await, 1, "another key's upload is left alone");
    assert_eq!(client.clear_unfinished(&file).await.unwrap(), 0, "nothing left for the key");

    // Under a folder, by age (moto dates every upload 2010, so only "older than now" is checked here; the local
    // directory below checks that a recent write stays).
    let folder = client.key("exports").unwrap();
    let later = chrono::Utc::now() + chrono::Duration::minutes(1);
    assert_eq!(client.clear_unfinished_under(&folder, later).await.unwrap(), 1);
    assert_eq!(open_multipart_uploads(&bucket).await, 0);
}

#[tokio::test]
async fn a_staging_file_left_in_a_local_directory_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let client = local_storage_client(dir.path()).unwrap().narrowed("orgs/acme").unwrap();
    let folder = dir.path().join("orgs/acme/exports");
    std::fs::create_dir_all(&folder).unwrap();
    // What object_store's local upload leaves when the process dies: `{file}#{n}` beside the file.
    std::fs::write(folder.join("part-00001.csv#1"), b"half a file").unwrap();
    std::fs::write(folder.join("part-00001.csv#2"), b"half a file").unwrap();
    std::fs::write(folder.join("a#1.csv"), b"a customer's file with a hash").unwrap();
    let key = client.key("exports/part-00001.csv").unwrap();
    assert_eq!(client.clear_unfinished(&key).await.unwrap(), 2);
    let left: Vec<String> =
        std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(left, ["a#1.csv"]);

    // Under a folder, only writes older than the limit go: one in progress now stays.
    std::fs::write(folder.join("part-00002.csv#1"), b"being written").unwrap();
    let exports = client.key("exports").unwrap();
    let an_hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    assert_eq!(client.clear_unfinished_under(&exports, an_hour_ago).await.unwrap(), 0, "a recent write stays");
    let later = chrono::Utc::now() + chrono::Duration::minutes(1);
    assert_eq!(client.clear_unfinished_under(&exports, later).await.unwrap(), 1);
}
