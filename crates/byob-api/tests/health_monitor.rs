//! The health monitor and webhooks, driven by a controllable clock: expiry warnings fire 14, 7, 3 and 1 days
//! ahead and once expired; drift fires once per transition; a test receiver verifies every signature; failed
//! deliveries are retried with backoff and given up after the last attempt.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use axum::{body::Bytes, http::HeaderMap, http::StatusCode};
use byob_ports::catalog::Catalog;
use byob_service::health::{MAX_ATTEMPTS, SIGNATURE_HEADER, verify_signature};
use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    buckets::{azurite_account_sas, create_azure_container, create_s3_bucket, s3_admin, unique_name},
    integrations::{Access, integration_body},
    server_env,
    uploads::azurite_sas_integration,
};
use chrono::Duration;
use serde_json::{Value, json};

/// A webhook receiver: answers the queued statuses in order (then 200) and keeps what it received.
#[derive(Clone, Default)]
struct Receiver {
    answers: Arc<Mutex<Vec<u16>>>,
    received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

impl Receiver {
    async fn start(answers: Vec<u16>) -> (Self, String) {
        let receiver = Self { answers: Arc::new(Mutex::new(answers)), ..Self::default() };
        let r = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let r = r.clone();
                async move {
                    r.received.lock().unwrap().push((headers, body));
                    let mut answers = r.answers.lock().unwrap();
                    let code = if answers.is_empty() { 200 } else { answers.remove(0) };
                    StatusCode::from_u16(code).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }
}

async fn events(app: &TestApp, org: &str, event_type: &str) -> Vec<Value> {
    let reply = app.call("GET", &format!("/v1/orgs/{org}/events?type={event_type}"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body.as_array().unwrap().clone()
}

async fn webhook(app: &TestApp, org: &str, url: &str, types: Value) -> (String, String) {
    let created = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/webhooks"),
            Some(OPERATOR_TOKEN),
            Some(json!({ "url": url, "event_types": types })),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    // A webhook URL may be a credential (Slack's): byob shows and audits its origin only, and delivers to the
    // sealed URL (the deliveries below reach `/hook`).
    let (scheme, rest) = url.split_once("://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    assert_eq!(created.body["url"], format!("{scheme}://{host}/…"), "{:?}", created.body);
    let path = format!("/{path}");
    let listed = app.call("GET", &format!("/v1/orgs/{org}/webhooks"), Some(OPERATOR_TOKEN), None).await;
    let audit =
        app.call("GET", &format!("/v1/orgs/{org}/audit?action=webhook.create"), Some(OPERATOR_TOKEN), None).await;
    for shown in [listed.body.to_string(), audit.body.to_string()] {
        assert!(!shown.contains(&path), "{shown}");
    }
    (created.id(), created.body["secret"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn expiry_warnings_fire_at_14_7_3_and_1_days_then_expired_each_once() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let container = unique_name("monitor");
    create_azure_container(&container).await;
    let expiry = app.clock_now() + Duration::days(20);
    // byob reads the SAS's own `se` against its clock; Azurite checks it against real time.
    let sas = azurite_account_sas("rwdl", expiry);
    let created = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/integrations"),
            Some(OPERATOR_TOKEN),
            Some(azurite_sas_integration("exports", &container, "byob", &sas, json!(["exports"]))),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let (_, _) = webhook(&app, &org, "http://127.0.0.1:9/unused", json!(["credential-expired"])).await;

    let monitor = &app.services.monitor;
    let mut fired = Vec::new();
    // Day by day for 22 days, two passes a day: each notice fires once, on the day it becomes due.
    for day in 0..22 {
        for _ in 0..2 {
            monitor.tick(app.clock_now()).await.unwrap();
        }
        let expiring = events(&app, &org, "credential-expiring").await;
        let expired = events(&app, &org, "credential-expired").await;
        fired.push((day, expiring.len(), expired.len()));
        app.clock.advance(Duration::hours(24));
    }
    let first_day = |count: usize| fired.iter().find(|(_, n, _)| *n == count).map(|(d, _, _)| *d);
    assert_eq!(
        [first_day(1), first_day(2), first_day(3), first_day(4)],
        [Some(6), Some(13), Some(17), Some(19)],
        "14, 7, 3 and 1 days before day 20: {fired:?}"
    );
    let expiring = events(&app, &org, "credential-expiring").await;
    let days: Vec<i64> = expiring.iter().map(|e| e["payload"]["notice_days"].as_i64().unwrap()).collect();
    assert_eq!(days, [1, 3, 7, 14], "newest first, one per threshold");
    let expired = events(&app, &org, "credential-expired").await;
    assert_eq!(expired.len(), 1, "expired fires once: {expired:?}");
    assert_eq!(expired[0]["payload"]["integration"], created.id().as_str());
    // Events also go to the audit log, and the expired event was queued for the endpoint that wants it.
    let audit = app
        .call("GET", &format!("/v1/orgs/{org}/audit?action=event.credential-expired"), Some(OPERATOR_TOKEN), None)
        .await;
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn drift_fires_once_per_transition_and_the_state_follows() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let bucket = unique_name("monitor");
    create_s3_bucket(&bucket).await;
    let created = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/integrations"),
            Some(OPERATOR_TOKEN),
            Some(integration_body(Access::Moto, "exports", &bucket, "", &["exports"])),
        )
        .await;
    let id = created.id();
    let verified =
        app.call("POST", &format!("/v1/orgs/{org}/integrations/{id}/verify"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(verified.body["state_after"], "active", "{:?}", verified.body);

    let monitor = &app.services.monitor;
    let s3 = s3_admin(&server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1");
    // A deleted bucket is one failure, on the bucket check; the object checks are skipped with it.
    let drifts = |list: &[Value]| list.iter().filter(|e| e["payload"]["check"] == "location-bucket-exists").count();
    // First sight schedules a check a jittered interval (24 h ± 10 %) ahead. The clock must stay at the storage
    // server's (else the clock-skew check fails too), so the schedule is then made due through the catalog.
    let integration: byob_core::IntegrationId = id.parse().unwrap();
    let org_id: byob_core::OrgId = org.parse().unwrap();
    assert_eq!(monitor.tick(app.clock_now()).await.unwrap().verified, 0);
    let scheduled = app.catalog.get_schedule(integration).await.unwrap().unwrap();
    let ahead = scheduled.next_check_at - app.clock_now();
    assert!(ahead >= Duration::minutes(21 * 60 + 30) && ahead <= Duration::minutes(26 * 60 + 30), "{ahead}");
    let make_due = || async {
        let mut due = app.catalog.get_schedule(integration).await.unwrap().unwrap();
        due.next_check_at = app.clock_now();
        app.catalog.put_schedule(org_id, integration, &due).await.unwrap();
    };
    s3.delete_bucket().bucket(&bucket).send().await.unwrap();
    for round in 0..2 {
        make_due().await;
        assert_eq!(monitor.tick(app.clock_now()).await.unwrap().verified, 1, "round {round}");
        assert_eq!(monitor.tick(app.clock_now()).await.unwrap().verified, 0, "rescheduled after a run");
        let drifted = events(&app, &org, "check-drifted").await;
        assert_eq!(drifts(&drifted), 1, "one event for the transition, not one per failing run: {drifted:?}");
    }
    let state = app.call("GET", &format!("/v1/orgs/{org}/integrations/{id}"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(state.body["state"], "degraded");
    // A degraded integration refuses a feature the failed check makes impossible, naming the check.
    let refused = app
        .services
        .storage
        .for_feature(&byob_service::RequestContext::system(), org_id, byob_core::integration::Feature::Exports)
        .await;
    let message = format!("{:?}", refused.unwrap_err());
    assert!(
        message.contains("integration-check-failed")
            && message.contains("`location-bucket-exists`")
            && message.contains("does not exist"),
        "{message}"
    );

    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    make_due().await;
    assert_eq!(monitor.tick(app.clock_now()).await.unwrap().verified, 1);
    let recovered = events(&app, &org, "check-recovered").await;
    assert_eq!(drifts(&recovered), 1, "{recovered:?}");
    let changes = events(&app, &org, "integration-state-changed").await;
    let path: Vec<(&str, &str)> = changes
        .iter()
        .rev()
        .map(|e| (e["payload"]["from"].as_str().unwrap(), e["payload"]["to"].as_str().unwrap()))
        .collect();
    assert_eq!(path, [("draft", "active"), ("active", "degraded"), ("degraded", "active")]);
    let history =
        app.call("GET", &format!("/v1/orgs/{org}/integrations/{id}/verifications"), Some(OPERATOR_TOKEN), None).await;
    let triggers: Vec<&str> = history.body.as_array().unwrap().iter().map(|r| r["trigger"].as_str().unwrap()).collect();
    assert_eq!(triggers, ["monitor", "monitor", "monitor", "manual"]);
    let latest = app
        .call("GET", &format!("/v1/orgs/{org}/integrations/{id}/verifications/latest"), Some(OPERATOR_TOKEN), None)
        .await;
    assert_eq!(latest.body["id"], history.body[0]["id"]);
}

#[tokio::test]
async fn webhooks_are_signed_retried_with_backoff_and_logged() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (receiver, url) = Receiver::start(vec![500, 503]).await;
    let (hook, secret) = webhook(&app, &org, &url, json!([])).await;
    let (_, dead_url) = Receiver::start(vec![500; 20]).await;
    let (dead, _) = webhook(&app, &org, &dead_url, json!(["webhook-test"])).await;
    let listed = app.call("GET", &format!("/v1/orgs/{org}/webhooks"), Some(OPERATOR_TOKEN), None).await;
    assert!(!listed.body.to_string().contains(&secret), "the secret is shown once only");

    let queued = app.call("POST", &format!("/v1/orgs/{org}/webhooks/test"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(queued.status, 202, "{:?}", queued.body);
    let webhooks = &app.services.webhooks;
    let first = webhooks.dispatch(app.clock_now()).await.unwrap();
    assert_eq!((first.delivered, first.retrying), (0, 2));
    assert_eq!(webhooks.dispatch(app.clock_now()).await.unwrap().retrying, 0, "nothing is due before the backoff");
    app.clock.advance(Duration::seconds(31));
    assert_eq!(webhooks.dispatch(app.clock_now()).await.unwrap().retrying, 2, "second attempts after 30 s");
    app.clock.advance(Duration::seconds(61));
    assert_eq!(webhooks.dispatch(app.clock_now()).await.unwrap().delivered, 1, "third attempt after 60 s succeeds");

    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 3);
    for (headers, body) in &received {
        let header = headers.get(SIGNATURE_HEADER).unwrap().to_str().unwrap();
        let now = app.clock_now().timestamp();
        assert!(verify_signature(&secret, header, body, now, 300), "signature of {header}");
        assert!(!verify_signature("whsec_wrong", header, body, now, 300));
        let event: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(event["type"], "webhook-test");
        assert_eq!(headers.get("byob-event-id").unwrap().to_str().unwrap(), event["id"].as_str().unwrap());
    }
    let log = app.call("GET", &format!("/v1/orgs/{org}/webhooks/{hook}/deliveries"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!((log.body[0]["status"].as_str(), log.body[0]["attempts"].as_u64()), (Some("delivered"), Some(3)));
    assert_eq!(log.body[0]["last_status_code"], 200);

    // The dead endpoint is given up after the last attempt.
    for _ in 0..MAX_ATTEMPTS {
        app.clock.advance(Duration::hours(2));
        webhooks.dispatch(app.clock_now()).await.unwrap();
    }
    let log = app.call("GET", &format!("/v1/orgs/{org}/webhooks/{dead}/deliveries"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(log.body[0]["status"], "failed", "{:?}", log.body);
    assert_eq!(log.body[0]["attempts"], MAX_ATTEMPTS);
    assert_eq!(log.body[0]["last_error"], "the endpoint answered 500");

    let bad = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/webhooks"),
            Some(OPERATOR_TOKEN),
            Some(json!({ "url": url, "event_types": ["no-such-event"] })),
        )
        .await;
    assert_eq!((bad.status, bad.body["rule"].as_str()), (422, Some("event-type-unknown")), "{:?}", bad.body);
    let insecure = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/webhooks"),
            Some(OPERATOR_TOKEN),
            Some(json!({ "url": "http://example.com/hook" })),
        )
        .await;
    assert_eq!(insecure.status, 422, "{:?}", insecure.body);
}

/// One org's slow endpoint delays only that org: each org's endpoint answers only once the other org's has
/// received its event, which happens only when the two deliveries do not wait one behind the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_endpoint_delays_only_its_own_org() {
    use tokio::sync::Notify;
    let app = TestApp::sqlite().await;
    let (first, second) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let serve = |seen: Arc<Notify>, other: Arc<Notify>| async move {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move || {
                let (seen, other) = (seen.clone(), other.clone());
                async move {
                    seen.notify_one();
                    other.notified().await;
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    };
    for (name, url) in [("one", serve(first.clone(), second.clone()).await), ("two", serve(second, first).await)] {
        let org = app.create_org(name).await;
        webhook(&app, &org, &url, json!(["webhook-test"])).await;
        app.call("POST", &format!("/v1/orgs/{org}/webhooks/test"), Some(OPERATOR_TOKEN), None).await;
    }
    let report = app.services.webhooks.dispatch(app.clock_now()).await.unwrap();
    assert_eq!((report.delivered, report.retrying, report.failed), (2, 0, 0), "{report:?}");
}
