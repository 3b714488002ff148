//! Attachments scanned before they are available: ClamAV (the daemon the test script runs) rejects EICAR and
//! passes a clean file; an unreachable scanner keeps files `scanning` until the janitor tries again; an HTTP
//! scanner's verdict is kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_service::data::{AttachmentSettings, ScannerSettings};
use byob_testkit::{
    TestApp,
    app::TestOptions,
    attachments::{EICAR, attach, get, object_exists, org_on},
    integrations::Access,
    server_env,
};
use serde_json::{Value, json};

fn scanning_app(scanner: ScannerSettings) -> TestOptions {
    TestOptions {
        attachments: AttachmentSettings { scanner, ..AttachmentSettings::default() },
        ..TestOptions::default()
    }
}

async fn run_jobs(app: &TestApp) {
    while app.services.runner.run_one().await.unwrap().is_some() {}
}

#[tokio::test]
async fn clamd_rejects_eicar_and_passes_a_clean_file() {
    let address = server_env("BYOB_TEST_CLAMD_ADDRESS");
    let app = TestApp::sqlite_with(scanning_app(ScannerSettings::Clamd { address })).await;
    let org = org_on(&app, Access::Moto).await;
    let infected = attach(&app, &org, "notes.txt", "text/plain", EICAR).await;
    assert_eq!(infected.body["state"], "scanning", "{:?}", infected.body);
    let clean = attach(&app, &org, "clean.txt", "text/plain", b"quarterly numbers\n").await;
    assert_eq!(clean.body["state"], "scanning");
    let no = app
        .call(
            "GET",
            &format!("/v1/orgs/{}/attachments/{}/download", org.id, clean.body["id"].as_str().unwrap()),
            Some(&org.member),
            None,
        )
        .await;
    assert_eq!(no.body["code"], "attachment-not-available", "never available unscanned");
    run_jobs(&app).await;
    let id = infected.body["id"].as_str().unwrap();
    let after = app.call("GET", &format!("/v1/orgs/{}/attachments/{id}", org.id), Some(&org.member), None).await;
    assert_eq!(after.body["state"], "rejected", "{:?}", after.body);
    assert_eq!(after.body["rejection"]["code"], "attachment-infected");
    assert!(!object_exists(&org.bucket, &format!("byob/attachments/{id}")).await, "the infected object is gone");
    let id = clean.body["id"].as_str().unwrap();
    let after = app.call("GET", &format!("/v1/orgs/{}/attachments/{id}", org.id), Some(&org.member), None).await;
    assert_eq!((after.body["state"].as_str(), after.body["scanned_by"].as_str()), (Some("available"), Some("clamd")));
    let events = app.call("GET", &format!("/v1/orgs/{}/events", org.id), Some(&org.admin), None).await;
    let types: Vec<&str> = events.body.as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(types.contains(&"attachment-available") && types.contains(&"attachment-rejected"), "{types:?}");
}

#[tokio::test]
async fn an_unreachable_scanner_keeps_the_file_scanning_and_the_janitor_retries() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let app = TestApp::sqlite_with(scanning_app(ScannerSettings::Clamd { address: closed })).await;
    let org = org_on(&app, Access::Moto).await;
    let done = attach(&app, &org, "clean.txt", "text/plain", b"fine\n").await;
    let id = done.body["id"].as_str().unwrap();
    for _ in 0..3 {
        app.clock.advance(chrono::Duration::hours(1));
        run_jobs(&app).await;
    }
    let after = app.call("GET", &format!("/v1/orgs/{}/attachments/{id}", org.id), Some(&org.member), None).await;
    assert_eq!(after.body["state"], "scanning", "{:?}", after.body);
    let job = after.body["scan_job"].as_str().unwrap();
    let job = app.call("GET", &format!("/v1/orgs/{}/jobs/{job}", org.id), Some(&org.member), None).await;
    assert_eq!(
        (job.body["state"].as_str(), job.body["error"]["code"].as_str()),
        (Some("failed"), Some("scanner-unavailable"))
    );
    // Not at once after the last attempt gave up; a quarter of an hour later.
    assert_eq!(app.services.janitor.sweep().await.unwrap().scans_restarted, 0);
    app.clock.advance(chrono::Duration::minutes(16));
    let report = app.services.janitor.sweep().await.unwrap();
    assert_eq!(report.scans_restarted, 1);
    let again = app.call("GET", &format!("/v1/orgs/{}/attachments/{id}", org.id), Some(&org.member), None).await;
    assert_ne!(again.body["scan_job"], after.body["scan_job"], "a new scan job");
}

/// An HTTP scanner stand-in: fetches the presigned URL it is given and calls a file with EICAR in it infected.
async fn http_scanner() -> url::Url {
    use axum::{Json, routing::post};
    let app = axum::Router::new().route(
        "/scan",
        post(|Json(request): Json<Value>| async move {
            let bytes = reqwest::get(request["url"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
            let infected = bytes.windows(5).any(|w| w == b"EICAR");
            Json(if infected {
                json!({ "verdict": "infected", "signature": "Test.EICAR" })
            } else {
                json!({ "verdict": "clean" })
            })
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url::Url::parse(&format!("http://{address}/scan")).unwrap()
}

#[tokio::test]
async fn an_http_scanner_gets_a_presigned_url_and_its_verdict_is_kept() {
    let url = http_scanner().await;
    let app = TestApp::sqlite_with(scanning_app(ScannerSettings::Http { url })).await;
    let org = org_on(&app, Access::Moto).await;
    let infected = attach(&app, &org, "notes.txt", "text/plain", EICAR).await;
    let clean = attach(&app, &org, "clean.txt", "text/plain", b"fine\n").await;
    run_jobs(&app).await;
    let infected = get(&app, &org, &infected.body["id"]).await;
    assert_eq!(infected.body["rejection"]["message"], "the scanner found `Test.EICAR`; the file was deleted");
    let clean = get(&app, &org, &clean.body["id"]).await;
    assert_eq!((clean.body["state"].as_str(), clean.body["scanned_by"].as_str()), (Some("available"), Some("http")));
}
