//! An upload's life around the happy path: refusals when it is created, a size that does not match, fresh part
//! URLs, relay parts and their tokens, replace and cancel, and the janitor (expired staged files, uploads left
//! incomplete, buckets where byob may not delete).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::{OrgId, Role, UploadId};
use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    buckets::{azurite_account_sas, create_azure_container, create_s3_bucket, s3_admin, unique_name},
    server_env,
    uploads::{
        azurite_sas_integration, create_integration, create_pg_connection, load, moto_uploads_integration, send_parts,
        start_load, table_dump, upload_bytes,
    },
};
use bytes::Bytes;
use serde_json::{Value, json};

async fn org_with_s3(app: &TestApp) -> (String, String, String) {
    let org = app.create_org("acme").await;
    let (_, token) = app.member_with_token(&org, Role::Member).await;
    let bucket = unique_name("life");
    create_s3_bucket(&bucket).await;
    create_integration(app, &org, moto_uploads_integration(&bucket, "p")).await;
    (org, token, bucket)
}

async fn create(app: &TestApp, org: &str, token: &str, body: Value) -> byob_testkit::app::Reply {
    app.call("POST", &format!("/v1/orgs/{org}/uploads"), Some(token), Some(body)).await
}

async fn uploaded(app: &TestApp, org: &str, token: &str, bytes: &[u8]) -> String {
    upload_bytes(app, org, token, "f.csv", bytes).await
}

#[tokio::test]
async fn creation_refuses_what_the_server_does_not_take() {
    let app = TestApp::sqlite().await;
    let (org, token, _) = org_with_s3(&app).await;
    let cases = [
        (json!({ "filename": "a.png", "size": 10, "content_type": "image/png" }), 415, "content-type-not-allowed"),
        (json!({ "filename": "a.csv", "size": 1u64 << 41, "content_type": "text/csv" }), 413, "upload-too-large"),
        (json!({ "filename": "", "size": 10, "content_type": "text/csv" }), 422, "validation-failed"),
        (json!({ "filename": "a\u{7}.csv", "size": 10, "content_type": "text/csv" }), 422, "validation-failed"),
        (
            json!({ "filename": "a.csv", "size": 10, "content_type": "text/csv", "part_size": 1024 }),
            422,
            "validation-failed",
        ),
        (json!({ "filename": "a.csv", "size": -1, "content_type": "text/csv" }), 422, "invalid-body"),
    ];
    for (body, status, code) in cases {
        let reply = create(&app, &org, &token, body.clone()).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str().unwrap_or_default()),
            (status, code),
            "{body}: {:?}",
            reply.body
        );
    }
    // The key is byob's: dated, the upload id, a sanitised name; never the caller's path.
    let plan =
        create(&app, &org, &token, json!({ "filename": "../../etc/passwd", "size": 4, "content_type": "text/csv" }))
            .await;
    let key = plan.body["upload"]["key"].as_str().unwrap();
    let id = plan.body["upload"]["id"].as_str().unwrap();
    assert!(key.starts_with("uploads/") && key.ends_with(&format!("/{id}/passwd")), "{key}");
}

#[tokio::test]
async fn a_size_that_does_not_match_aborts_the_upload() {
    let app = TestApp::sqlite().await;
    let (org, token, _) = org_with_s3(&app).await;
    let plan =
        create(&app, &org, &token, json!({ "filename": "f.csv", "size": 100, "content_type": "text/csv" })).await;
    let part = &plan.body["parts"][0];
    let sent = reqwest::Client::new()
        .put(part["url"].as_str().unwrap())
        .body("only fifty bytes".repeat(3))
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_success());
    let id = plan.body["upload"]["id"].as_str().unwrap();
    let done = app.call("POST", &format!("/v1/orgs/{org}/uploads/{id}/complete"), Some(&token), Some(json!({}))).await;
    assert_eq!((done.status, done.body["code"].as_str().unwrap()), (422, "upload-size-mismatch"), "{:?}", done.body);
    let after = app.call("GET", &format!("/v1/orgs/{org}/uploads/{id}"), Some(&token), None).await;
    assert_eq!(
        (after.body["state"].as_str(), after.body["staged"].as_str()),
        (Some("aborted"), Some("deleted_on_abort"))
    );
    let load = start_load(&app, &org, &token, id, json!({ "connection": "local", "table": "x" })).await;
    assert_eq!(load.body["code"], "upload-not-ready");
}

#[tokio::test]
async fn expired_part_urls_are_refreshed_and_a_multipart_upload_completes_with_them() {
    let app = TestApp::sqlite().await;
    let (org, token, _) = org_with_s3(&app).await;
    let bytes = vec![b'a'; 17 * 1024 * 1024];
    let plan = create(
        &app,
        &org,
        &token,
        json!({ "filename": "big.bin", "size": bytes.len(), "content_type": "application/octet-stream" }),
    )
    .await;
    assert_eq!(plan.body["method"], "multipart");
    assert_eq!(plan.body["parts"].as_array().unwrap().len(), 3);
    let id = plan.body["upload"]["id"].as_str().unwrap();
    let fresh = app
        .call("POST", &format!("/v1/orgs/{org}/uploads/{id}/parts"), Some(&token), Some(json!({ "part_numbers": [2] })))
        .await;
    assert_eq!(fresh.status, 200, "{:?}", fresh.body);
    assert_eq!(fresh.body["parts"].as_array().unwrap().len(), 1);
    let mut replanned = plan.body.clone();
    replanned["parts"][1] = fresh.body["parts"][0].clone();
    let body = send_parts(&replanned, &bytes).await;
    let missing = json!({ "parts": [body["parts"][0]] });
    let refused = app.call("POST", &format!("/v1/orgs/{org}/uploads/{id}/complete"), Some(&token), Some(missing)).await;
    assert_eq!(refused.status, 422, "every part is needed: {:?}", refused.body);
    let done = app.call("POST", &format!("/v1/orgs/{org}/uploads/{id}/complete"), Some(&token), Some(body)).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let bad = app
        .call("POST", &format!("/v1/orgs/{org}/uploads/{id}/parts"), Some(&token), Some(json!({ "part_numbers": [9] })))
        .await;
    assert_eq!(bad.body["code"], "upload-not-pending");
}

#[tokio::test]
async fn replace_swaps_the_table_and_a_failed_replace_keeps_the_old_one() {
    let app = TestApp::sqlite().await;
    let (org, token, _) = org_with_s3(&app).await;
    let first = uploaded(&app, &org, &token, b"id,name,amount,day\n1,a,1.0,2024-01-01\n2,b,2.0,2024-01-02\n").await;
    assert_eq!(
        load(&app, &org, &token, &first, json!({ "connection": "local", "table": "t" })).await["state"],
        "succeeded"
    );
    let second = uploaded(&app, &org, &token, b"id,name,amount,day\n3,c,3.0,2024-01-03\n").await;
    let job =
        load(&app, &org, &token, &second, json!({ "connection": "local", "table": "t", "mode": "replace" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let path = app.warehouse_path(&org);
    assert_eq!(table_dump(Some(&path), "", "t").await, "3,'c','3.0','2024-01-03'");
    let broken = uploaded(&app, &org, &token, b"id,name,amount,day\n4,d,4.0,2024-01-04\nfive,e,5,2024-01-05\n").await;
    let job = load(
        &app,
        &org,
        &token,
        &broken,
        json!({
            "connection": "local", "table": "t", "mode": "replace", "columns": [{ "source": "id", "type": "integer" }],
        }),
    )
    .await;
    assert_eq!(job["state"], "failed");
    assert_eq!(table_dump(Some(&path), "", "t").await, "3,'c','3.0','2024-01-03'", "the old table stays");
}

#[tokio::test]
async fn a_queued_load_can_be_cancelled_and_a_finished_one_cannot() {
    let app = TestApp::sqlite().await;
    let (org, token, _) = org_with_s3(&app).await;
    let id = uploaded(&app, &org, &token, b"a,b\n1,2\n").await;
    let started = start_load(&app, &org, &token, &id, json!({ "connection": "local", "table": "c" })).await;
    let job = started.id();
    let cancelled = app.call("POST", &format!("/v1/orgs/{org}/jobs/{job}/cancel"), Some(&token), None).await;
    assert_eq!(cancelled.body["state"], "cancelled", "{:?}", cancelled.body);
    assert!(app.services.runner.run_one().await.unwrap().is_none(), "nothing left to run");
    let again = app.call("POST", &format!("/v1/orgs/{org}/jobs/{job}/cancel"), Some(&token), None).await;
    assert_eq!((again.status, again.body["code"].as_str().unwrap()), (409, "job-finished"));
    let listed = app.call("GET", &format!("/v1/orgs/{org}/jobs?state=cancelled"), Some(&token), None).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    let audit = app.call("GET", &format!("/v1/orgs/{org}/audit?action=job.cancel"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 1);
}

/// The token in a relay part URL byob handed out.
fn relay_token(plan: &Value, part: usize) -> String {
    let url = url::Url::parse(plan["parts"][part]["url"].as_str().unwrap()).unwrap();
    url.query_pairs().find(|(k, _)| k == "token").unwrap().1.into_owned()
}

async fn relay(
    app: &TestApp,
    org: &str,
    upload: &str,
    part: u32,
    token: &str,
    bytes: &'static [u8],
) -> Result<String, byob_service::ServiceError> {
    let stream = futures::stream::iter([Ok::<_, String>(Bytes::from_static(bytes))]);
    app.services
        .uploads
        .relay_part(org.parse::<OrgId>().unwrap(), upload.parse::<UploadId>().unwrap(), part, token, stream)
        .await
}

/// Completes a one-part upload with its part's ETag.
async fn complete_one_part(app: &TestApp, org: &str, token: &str, id: &str, etag: &str) -> byob_testkit::app::Reply {
    let body = json!({ "parts": [{ "part_number": 1, "etag": etag }] });
    let done = app.call("POST", &format!("/v1/orgs/{org}/uploads/{id}/complete"), Some(token), Some(body)).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    done
}

#[tokio::test]
async fn relay_parts_need_their_token_and_the_janitor_expires_staged_files() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    // No integration: the local default storage, which has no URLs, so byob relays the parts.
    let plan = create(&app, &org, &member, json!({ "filename": "f.csv", "size": 8, "content_type": "text/csv" })).await;
    assert_eq!(plan.body["method"], "relay");
    let id = plan.body["upload"]["id"].as_str().unwrap().to_string();
    let token = relay_token(&plan.body, 0);
    let wrong = app.call("PUT", &format!("/v1/orgs/{org}/uploads/{id}/parts/1?token=forged"), None, None).await;
    assert_eq!((wrong.status, wrong.body["code"].as_str().unwrap()), (403, "upload-token-invalid"));
    assert!(relay(&app, &org, &id, 1, &token, b"too long for the part").await.is_err());
    assert!(relay(&app, &org, &id, 2, &token, b"a,b\n1,2\n").await.is_err(), "one part only");
    let etag = relay(&app, &org, &id, 1, &token, b"a,b\n1,2\n").await.unwrap();
    let done = complete_one_part(&app, &org, &member, &id, &etag).await;
    assert_eq!(done.body["expires_at"].as_str().unwrap().len(), 24);

    app.clock.advance(chrono::Duration::hours(23));
    assert_eq!(app.services.janitor.sweep().await.unwrap().expired_deleted, 0, "24 hours in the default storage");
    app.clock.advance(chrono::Duration::hours(2));
    let report = app.services.janitor.sweep().await.unwrap();
    assert_eq!(report.expired_deleted, 1);
    let after = app.call("GET", &format!("/v1/orgs/{org}/uploads/{id}"), Some(&member), None).await;
    assert_eq!(after.body["staged"], "expired");
    let audit =
        app.call("GET", &format!("/v1/orgs/{org}/audit?action=janitor.expire"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 1);
    let metrics = app.call("GET", "/metrics", None, None).await;
    assert!(metrics.body.as_str().unwrap().contains("byob_janitor_expired_deleted_total 1\n"), "{}", metrics.body);
}

#[tokio::test]
async fn the_janitor_aborts_multipart_uploads_left_incomplete_for_a_day() {
    let app = TestApp::sqlite().await;
    let (org, token, bucket) = org_with_s3(&app).await;
    let plan = create(
        &app,
        &org,
        &token,
        json!({ "filename": "big.csv", "size": 40 * 1024 * 1024, "content_type": "text/csv" }),
    )
    .await;
    let id = plan.body["upload"]["id"].as_str().unwrap();
    let s3 = s3_admin(&server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1");
    let pending = s3.list_multipart_uploads().bucket(&bucket).send().await.unwrap();
    assert_eq!(pending.uploads().len(), 1);
    app.clock.advance(chrono::Duration::hours(25));
    let report = app.services.janitor.sweep().await.unwrap();
    assert_eq!(report.incomplete_aborted, 1, "{report:?}");
    let pending = s3.list_multipart_uploads().bucket(&bucket).send().await.unwrap();
    assert!(pending.uploads().is_empty(), "no orphan multipart upload");
    let after = app.call("GET", &format!("/v1/orgs/{org}/uploads/{id}"), Some(&token), None).await;
    assert_eq!(after.body["state"], "aborted");
}

#[tokio::test]
async fn where_byob_may_not_delete_the_staged_file_is_left_to_the_lifecycle_rule() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let container = unique_name("nodelete");
    create_azure_container(&container).await;
    // A SAS without `d`: byob can read, write and list, but not delete.
    let sas = azurite_account_sas("racwl", chrono::Utc::now() + chrono::Duration::days(30));
    let created = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/integrations"),
            Some(OPERATOR_TOKEN),
            Some(azurite_sas_integration("customer", &container, "", &sas, json!(["uploads"]))),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let plan = create(&app, &org, &member, json!({ "filename": "f.csv", "size": 8, "content_type": "text/csv" })).await;
    assert_eq!(plan.body["method"], "relay", "a customer's SAS is never handed out: byob relays");
    let id = plan.body["upload"]["id"].as_str().unwrap().to_string();
    let etag = relay(&app, &org, &id, 1, &relay_token(&plan.body, 0), b"a,b\n1,2\n").await.unwrap();
    complete_one_part(&app, &org, &member, &id, &etag).await;
    let job = load(&app, &org, &member, &id, json!({ "connection": "local", "table": "kept" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["staged"], "left_to_lifecycle");
}

#[tokio::test]
async fn extreme_decimals_and_fractional_times_reach_postgres_exactly() {
    let app = TestApp::sqlite().await;
    let (org, token, _) = org_with_s3(&app).await;
    let pg_url = byob_testkit::fresh_postgres_database().await;
    create_pg_connection(&app, &org, &pg_url).await;
    let csv = "d,t,tz,day\n\
        0,2024-01-01 00:00:00,2024-01-01T00:00:00Z,2024-02-29\n\
        -0.00,1999-12-31 23:59:59.999999,1999-12-31T23:59:59.5+05:30,1900-01-01\n\
        .0001,2000-01-01T00:00:00.000001,2038-01-19T03:14:07.123Z,9999-12-31\n\
        12345678901234567890.123456789012345,1970-01-01 00:00,1970-01-01T00:00:00-08,0001-01-01\n\
        -99999999999999999999999999999999999999.99,2024-06-30 12:34:56.5,2024-06-30 12:34:56.000001+00:00,2000-01-01\n";
    let upload = uploaded(&app, &org, &token, csv.as_bytes()).await;
    let job = load(&app, &org, &token, &upload, json!({ "connection": "pg", "table": "x" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(&pg_url).await.unwrap();
    sqlx::query("SET TIME ZONE 'UTC'").execute(&mut conn).await.unwrap();
    let rows =
        sqlx::query("SELECT d::text || '|' || t::text || '|' || tz::text || '|' || day::text AS r FROM x ORDER BY day")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let got: Vec<String> = rows.iter().map(|r| r.get("r")).collect();
    assert_eq!(
        got,
        [
            "12345678901234567890.123456789012345|1970-01-01 00:00:00|1970-01-01 08:00:00+00|0001-01-01",
            "0.00|1999-12-31 23:59:59.999999|1999-12-31 18:29:59.5+00|1900-01-01",
            "-99999999999999999999999999999999999999.99|2024-06-30 12:34:56.5|2024-06-30 12:34:56.000001+00|2000-01-01",
            "0|2024-01-01 00:00:00|2024-01-01 00:00:00+00|2024-02-29",
            "0.0001|2000-01-01 00:00:00.000001|2038-01-19 03:14:07.123+00|9999-12-31",
        ]
    );
}

#[tokio::test]
async fn a_platform_that_cannot_be_reached_is_retried_with_backoff_then_the_job_fails() {
    let app = TestApp::sqlite().await;
    let (org, token, _) = org_with_s3(&app).await;
    // A port nothing listens on: every connection is refused, a transient failure as far as byob can tell.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    create_pg_connection(&app, &org, &format!("postgres://byob@127.0.0.1:{closed}/nowhere")).await;
    let upload = uploaded(&app, &org, &token, b"a,b\n1,2\n").await;
    let started = start_load(&app, &org, &token, &upload, json!({ "connection": "pg", "table": "t" })).await;
    let job_path = format!("/v1/orgs/{org}/jobs/{}", started.id());
    for (attempt, wait_secs) in [(1, 5), (2, 10)] {
        app.services.runner.run_one().await.unwrap();
        let job = app.call("GET", &job_path, Some(&token), None).await.body;
        assert_eq!((job["state"].as_str(), job["attempts"].as_u64()), (Some("queued"), Some(attempt)), "{job}");
        assert_eq!(job["error"]["code"], "connection-failed");
        assert!(app.services.runner.run_one().await.unwrap().is_none(), "not before its backoff");
        app.clock.advance(chrono::Duration::seconds(wait_secs));
    }
    app.services.runner.run_one().await.unwrap();
    let job = app.call("GET", &job_path, Some(&token), None).await.body;
    assert_eq!((job["state"].as_str(), job["attempts"].as_u64()), (Some("failed"), Some(3)), "{job}");
    assert_eq!(job["error"]["code"], "connection-failed");
    let upload = app.call("GET", &format!("/v1/orgs/{org}/uploads/{upload}"), Some(&token), None).await.body;
    assert_eq!(upload["staged"], "present", "a failed load keeps the file for another try");
}

#[tokio::test]
async fn the_janitor_keeps_a_file_while_its_load_is_queued() {
    let app = TestApp::sqlite().await;
    let (org, token, _) = org_with_s3(&app).await;
    let upload = uploaded(&app, &org, &token, b"a,b\n1,2\n").await;
    let started = start_load(&app, &org, &token, &upload, json!({ "connection": "local", "table": "late" })).await;
    assert_eq!(started.status, 202);
    app.clock.advance(chrono::Duration::hours(25));
    assert_eq!(app.services.janitor.sweep().await.unwrap().expired_deleted, 0, "the queued load still needs it");
    while app.services.runner.run_one().await.unwrap().is_some() {}
    let job = app.call("GET", &format!("/v1/orgs/{org}/jobs/{}", started.id()), Some(&token), None).await.body;
    assert_eq!(job["state"], "succeeded", "{job}");
}

/// A relay part trickling in (a byte, then nothing) is refused once a window passes below the minimum rate, and
/// nothing of it is kept: a slow client cannot hold a connection and a partial file on byob's disk.
#[tokio::test]
async fn a_trickling_relay_part_is_refused() {
    let rate = byob_service::data::RelayRate { bytes: 1024, window: std::time::Duration::from_millis(200) };
    let app = TestApp::sqlite_with(byob_testkit::app::TestOptions { relay_min_rate: rate, ..Default::default() }).await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let plan = create(&app, &org, &member, json!({ "filename": "f.csv", "size": 8, "content_type": "text/csv" })).await;
    let id = plan.body["upload"]["id"].as_str().unwrap().to_string();
    let token = relay_token(&plan.body, 0);
    let trickle = futures::StreamExt::chain(
        futures::stream::iter([Ok::<_, String>(Bytes::from_static(b"a"))]),
        futures::stream::pending(),
    );
    let refused = app
        .services
        .uploads
        .relay_part(org.parse::<OrgId>().unwrap(), id.parse::<UploadId>().unwrap(), 1, &token, Box::pin(trickle))
        .await
        .expect_err("too slow");
    assert!(
        matches!(refused, byob_service::ServiceError::Refused { code: byob_core::codes::RELAY_TOO_SLOW, .. }),
        "{refused:?}"
    );
    // The part can be sent again, at speed.
    relay(&app, &org, &id, 1, &token, b"a,b\n1,2\n").await.unwrap();
}
