//! Uploads end to end, the way a browser does them: byob's plan, plain HTTP PUTs of the parts straight to the
//! bucket (moto, Azurite, fake-gcs-server), completion, then a load whose table holds exactly the source rows
//! (checksummed) in PostgreSQL and in the embedded SQLite warehouse.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    buckets::{create_azure_container, create_gcs_bucket, create_s3_bucket, unique_name},
    fresh_postgres_database,
    integrations::{Access, integration_body},
    uploads::{
        create_integration, create_pg_connection, load, moto_uploads_integration, postgres_sample_checksum, sample_csv,
        sqlite_sample_checksum, upload_bytes,
    },
};
use serde_json::{Value, json};

const FIFTY_MB: usize = 50 * 1024 * 1024;

/// An org with a member, an uploads integration built from `integration`, and a PostgreSQL connection `pg`.
async fn setup(app: &TestApp, integration: Value) -> (String, String, String) {
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let mut body = integration;
    body["name"] = json!("customer");
    body["features"] = json!(["uploads"]);
    create_integration(app, &org, body).await;
    let pg_url = fresh_postgres_database().await;
    create_pg_connection(app, &org, &pg_url).await;
    (org, member, pg_url)
}

async fn round_trip(integration: Value) {
    let app = TestApp::sqlite().await;
    let (org, member, pg_url) = setup(&app, integration).await;
    let (bytes, checksum) = sample_csv(FIFTY_MB);
    let rows = bytes.iter().filter(|b| **b == b'\n').count() as u64;

    let first = upload_bytes(&app, &org, &member, "sales 2024.csv", &bytes).await;
    let preview = app.call("GET", &format!("/v1/orgs/{org}/uploads/{first}/preview"), Some(&member), None).await;
    assert_eq!(preview.status, 200, "{:?}", preview.body);
    let types: Vec<&str> =
        preview.body["columns"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["integer", "text", "decimal", "date", "timestamp_tz", "boolean", "text"]);
    let job = load(&app, &org, &member, &first, json!({ "connection": "local", "table": "sales" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["staged"], "deleted_after_load");
    let (count, sum) = sqlite_sample_checksum(&app.warehouse_path(&org), "sales").await;
    // Each record has one embedded newline in a fifth of the names.
    assert_eq!(count, job["result"]["rows_loaded"].as_u64().unwrap());
    assert!(count > 100_000 && count < rows);
    assert_eq!(sum, checksum, "SQLite holds exactly the source rows");

    let second = upload_bytes(&app, &org, &member, "sales.csv", &bytes).await;
    let job = load(&app, &org, &member, &second, json!({ "connection": "pg", "table": "public.sales" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["progress"]["bytes_done"], json!(bytes.len()));
    let (pg_count, pg_sum) = postgres_sample_checksum(&pg_url, "sales").await;
    assert_eq!(pg_count, count);
    assert_eq!(pg_sum, checksum, "PostgreSQL holds exactly the source rows");
}

#[tokio::test]
async fn fifty_megabytes_through_moto_into_postgres_and_sqlite() {
    let bucket = unique_name("uploads");
    create_s3_bucket(&bucket).await;
    round_trip(moto_uploads_integration(&bucket, "byob")).await;
}

#[tokio::test]
async fn fifty_megabytes_through_azurite_into_postgres_and_sqlite() {
    let container = unique_name("uploads");
    create_azure_container(&container).await;
    round_trip(integration_body(Access::Azurite, "customer", &container, "byob", &["uploads"])).await;
}

#[tokio::test]
async fn fifty_megabytes_through_fake_gcs_into_postgres_and_sqlite() {
    let bucket = unique_name("uploads");
    create_gcs_bucket(&bucket).await;
    round_trip(integration_body(Access::FakeGcs, "customer", &bucket, "byob", &["uploads"])).await;
}
