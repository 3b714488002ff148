//! A customer's SAS never comes back in error text: an Azure integration whose SAS Azurite refuses (its
//! permissions were edited after signing) fails its checks and an export, and the errors (which quote the URLs
//! called) reach the verification report, the job, the events and the audit trail with every URL's query string
//! redacted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    buckets::{azurite_account_sas, create_azure_container, unique_name},
    uploads::{azurite_sas_integration, create_integration},
};
use serde_json::{Value, json};

#[tokio::test]
async fn a_sas_is_never_quoted_in_reports_jobs_events_or_audit() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let container = unique_name("leak");
    create_azure_container(&container).await;
    let signed = azurite_account_sas("rl", chrono::Utc::now() + chrono::Duration::days(3));
    let sas = signed.replace("sp=rl", "sp=rwl");
    assert_ne!(sas, signed);
    let signature = sas.split('&').find_map(|p| p.strip_prefix("sig=")).unwrap().to_string();
    let integration =
        create_integration(&app, &org, azurite_sas_integration("ro", &container, "byob", &sas, json!(["exports"])))
            .await;
    let report = app
        .call("POST", &format!("/v1/orgs/{org}/integrations/{integration}/verify"), Some(OPERATOR_TOKEN), None)
        .await
        .body;
    // An export into it: the write is refused, the run fails with the store's error.
    let export = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/exports"),
            Some(OPERATOR_TOKEN),
            Some(json!({ "connection": "local", "query": "SELECT 1 AS one", "integration": "ro" })),
        )
        .await;
    assert_eq!(export.status, 201, "{:?}", export.body);
    while app.services.runner.run_one().await.unwrap().is_some() {}
    let jobs = app.call("GET", &format!("/v1/orgs/{org}/jobs"), Some(OPERATOR_TOKEN), None).await.body;
    let events = app.call("GET", &format!("/v1/orgs/{org}/events"), Some(OPERATOR_TOKEN), None).await.body;
    let audit = app.call("GET", &format!("/v1/orgs/{org}/audit?limit=200"), Some(OPERATOR_TOKEN), None).await.body;

    let failed = |v: &Value| v.to_string().contains("\"failed\"");
    assert!(failed(&report), "the write checks fail: {report}");
    assert!(failed(&jobs), "the export fails: {jobs}");
    let encoded: String = url::form_urlencoded::byte_serialize(signature.as_bytes()).collect();
    for (what, text) in [
        ("report", report.to_string()),
        ("jobs", jobs.to_string()),
        ("events", events.to_string()),
        ("audit", audit.to_string()),
    ] {
        assert!(!text.contains(&signature) && !text.contains(&encoded), "{what} holds the SAS signature: {text}");
        assert!(!text.contains("sig="), "{what} holds a signature: {text}");
    }
}

/// A provider's upload session is a capability (a GCS session URI lets anyone write the object; an S3 upload id
/// names the upload): the catalog keeps it sealed, and byob still presigns, completes and aborts with it.
#[tokio::test]
async fn upload_sessions_are_sealed_in_the_catalog() {
    use sqlx::Row;
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let bucket = unique_name("sealed");
    byob_testkit::buckets::create_s3_bucket(&bucket).await;
    create_integration(&app, &org, byob_testkit::uploads::moto_uploads_integration(&bucket, "byob")).await;
    let body = json!({ "filename": "big.csv", "size": 64 * 1024 * 1024, "content_type": "text/csv" });
    let plan = app.call("POST", &format!("/v1/orgs/{org}/uploads"), Some(OPERATOR_TOKEN), Some(body)).await;
    assert_eq!(plan.status, 201, "{:?}", plan.body);
    assert!(plan.body["parts"].as_array().unwrap().len() > 1, "a multipart upload: {:?}", plan.body);
    let id = plan.body["upload"]["id"].as_str().unwrap().to_string();

    let row =
        sqlx::query("SELECT session FROM uploads WHERE id = $1").bind(&id).fetch_one(app.catalog.pool()).await.unwrap();
    let stored: String = row.get("session");
    assert!(stored.starts_with("sealed:"), "{stored}");
    // The part URLs name the provider's upload id, which the catalog does not hold in clear.
    let first = plan.body["parts"][0]["url"].as_str().unwrap();
    let upload_id = url::Url::parse(first).unwrap().query_pairs().find(|(k, _)| k == "uploadId").unwrap().1.to_string();
    assert!(!stored.contains(&upload_id));

    let refreshed =
        app.call("POST", &format!("/v1/orgs/{org}/uploads/{id}/parts"), Some(OPERATOR_TOKEN), Some(json!({}))).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    assert!(refreshed.body.to_string().contains(&upload_id), "{:?}", refreshed.body);
    let aborted = app.call("DELETE", &format!("/v1/orgs/{org}/uploads/{id}"), Some(OPERATOR_TOKEN), None).await;
    assert!(aborted.status < 300, "{:?}", aborted.body);
    assert_eq!(byob_testkit::exports::open_multipart_uploads(&bucket).await, 0, "the sealed session was aborted");
}
