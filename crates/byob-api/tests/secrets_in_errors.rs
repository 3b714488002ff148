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
