//! Export schedules on a controllable clock (cron in a time zone, missed runs, pause and resume, one run at a
//! time), staging runs deleted on acknowledgement or by the janitor after their time to live, template previews,
//! and bad requests refused with precise errors before anything runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    exports::{Bucket, Store, export},
};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sqlx::Connection as _;

struct Setup {
    app: TestApp,
    org: String,
    member: String,
}

/// An org with a member and a table `t` (3 rows) in its embedded warehouse; exports go to the default storage.
async fn setup() -> Setup {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    // The org's embedded warehouse, written directly (loads have their own tests).
    let path = app.warehouse_path(&org);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
    sqlx::raw_sql("CREATE TABLE t (id INTEGER, name TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, NULL);")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    Setup { app, org, member }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn set_clock(app: &TestApp, to: DateTime<Utc>) {
    let now = app.clock_now();
    app.clock.advance(to - now);
}

async fn runs(s: &Setup, export: &str) -> Vec<Value> {
    let got = s.app.call("GET", &format!("/v1/orgs/{}/exports/{export}/runs", s.org), Some(&s.member), None).await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    got.body.as_array().unwrap().clone()
}

async fn tick_and_run(s: &Setup) -> u32 {
    let queued = s.app.services.exports.tick().await.unwrap();
    while s.app.services.runner.run_one().await.unwrap().is_some() {}
    queued
}

#[tokio::test]
async fn schedules_follow_cron_in_their_zone_on_a_controllable_clock() {
    let s = setup().await;
    set_clock(&s.app, at("2026-01-10T12:00:00Z"));
    let body = json!({
        "name": "nightly", "connection": "local", "table": "t",
        "schedule": { "cron": "0 6 * * *", "timezone": "Europe/Paris" },
    });
    let (created, run) = export(&s.app, &s.org, &s.member, body).await;
    assert_eq!(run, Value::Null, "a scheduled export does not run at creation");
    let id = created["export"]["id"].as_str().unwrap().to_string();
    // 06:00 in Paris is 05:00 UTC in winter.
    assert_eq!(created["export"]["next_run_at"], "2026-01-11T05:00:00Z");
    assert_eq!(created["export"]["next_runs"][1], "2026-01-12T05:00:00Z");

    // Not yet due: nothing runs.
    set_clock(&s.app, at("2026-01-11T04:59:59Z"));
    assert_eq!(tick_and_run(&s).await, 0);
    // Due: one run, for 05:00.
    set_clock(&s.app, at("2026-01-11T05:00:10Z"));
    assert_eq!(tick_and_run(&s).await, 1);
    assert_eq!(tick_and_run(&s).await, 0, "the same time is not run twice");
    let history = runs(&s, &id).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["trigger"], "schedule");
    assert_eq!(history[0]["scheduled_for"], "2026-01-11T05:00:00Z");
    assert_eq!(history[0]["state"], "succeeded");
    assert_eq!(history[0]["rows"], 3);

    // byob was down for three days: one run for the latest missed time, then on schedule again.
    set_clock(&s.app, at("2026-01-14T09:00:00Z"));
    assert_eq!(tick_and_run(&s).await, 1);
    let history = runs(&s, &id).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["scheduled_for"], "2026-01-14T05:00:00Z");
    let got = s.app.call("GET", &format!("/v1/orgs/{}/exports/{id}", s.org), Some(&s.member), None).await;
    assert_eq!(got.body["next_run_at"], "2026-01-15T05:00:00Z");

    // Summer time: 06:00 in Paris is 04:00 UTC.
    set_clock(&s.app, at("2026-07-01T12:00:00Z"));
    tick_and_run(&s).await;
    let got = s.app.call("GET", &format!("/v1/orgs/{}/exports/{id}", s.org), Some(&s.member), None).await;
    assert_eq!(got.body["next_run_at"], "2026-07-02T04:00:00Z");

    // Paused: due times pass without runs; resumed: from the next time after now.
    let paused = s.app.call("POST", &format!("/v1/orgs/{}/exports/{id}/pause", s.org), Some(&s.member), None).await;
    assert_eq!(paused.status, 200);
    assert_eq!(paused.body["next_run_at"], Value::Null);
    assert_eq!(paused.body["next_runs"], json!([]));
    set_clock(&s.app, at("2026-07-05T12:00:00Z"));
    assert_eq!(tick_and_run(&s).await, 0);
    let resumed = s.app.call("POST", &format!("/v1/orgs/{}/exports/{id}/resume", s.org), Some(&s.member), None).await;
    assert_eq!(resumed.body["next_run_at"], "2026-07-06T04:00:00Z");

    // Each run told the org's webhooks.
    let events = s
        .app
        .call("GET", &format!("/v1/orgs/{}/events?type=export-succeeded", s.org), Some(OPERATOR_TOKEN), None)
        .await;
    assert_eq!(events.body.as_array().unwrap().len(), 3, "{:?}", events.body);
    assert_eq!(events.body[0]["payload"]["export"], json!(id));
}

#[tokio::test]
async fn one_run_of_an_export_at_a_time() {
    let s = setup().await;
    let body = json!({ "connection": "local", "table": "t", "schedule": { "cron": "* * * * *" } });
    let (created, _) = export(&s.app, &s.org, &s.member, body).await;
    let id = created["export"]["id"].as_str().unwrap().to_string();
    let path = format!("/v1/orgs/{}/exports/{id}/runs", s.org);
    let first = s.app.call("POST", &path, Some(&s.member), None).await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    let second = s.app.call("POST", &path, Some(&s.member), None).await;
    assert_eq!(second.status, 409);
    assert_eq!(second.body["code"], "export-run-active");
    // The schedule's time comes while the manual run is queued: skipped, not queued behind it.
    s.app.clock.advance(Duration::minutes(2));
    assert_eq!(s.app.services.exports.tick().await.unwrap(), 0);
    while s.app.services.runner.run_one().await.unwrap().is_some() {}
    assert_eq!(runs(&s, &id).await.len(), 1);
    let deleted = s.app.call("DELETE", &format!("/v1/orgs/{}/exports/{id}", s.org), Some(&s.member), None).await;
    assert_eq!(deleted.status, 204);
}

#[tokio::test]
async fn staging_runs_go_on_acknowledgement_or_after_their_time_to_live() {
    let s = setup().await;
    let bucket = Bucket::create(Store::Default, &s.app, &s.org).await;
    let (created, run) = export(&s.app, &s.org, &s.member, json!({ "connection": "local", "table": "t" })).await;
    assert_eq!(created["export"]["staging_ttl_hours"], 168, "the default storage holds staging exports (7 days)");
    let id = created["export"]["id"].as_str().unwrap().to_string();
    assert_eq!(run["state"], "succeeded");
    let expires: DateTime<Utc> = serde_json::from_value(run["expires_at"].clone()).unwrap();
    assert!((expires - s.app.clock_now() - Duration::days(7)).num_seconds().abs() <= 1, "{expires}");
    assert_eq!(bucket.keys().await.len(), 3, "file, manifest, marker");

    // Acknowledged: deleted at once.
    let run_id = run["id"].as_str().unwrap();
    let path = format!("/v1/orgs/{}/exports/{id}/runs/{run_id}/ack", s.org);
    let acked = s.app.call("POST", &path, Some(&s.member), None).await;
    assert_eq!(acked.status, 200, "{:?}", acked.body);
    assert!(acked.body["acked_at"].is_string() && acked.body["cleaned_at"].is_string());
    assert_eq!(acked.body["files"], json!([]));
    assert_eq!(bucket.keys().await, Vec::<String>::new());
    assert_eq!(s.app.call("POST", &path, Some(&s.member), None).await.status, 200, "acknowledging twice is fine");

    // Not acknowledged: the janitor deletes the files once the time to live passed, not before.
    let again = s.app.call("POST", &format!("/v1/orgs/{}/exports/{id}/runs", s.org), Some(&s.member), None).await;
    assert_eq!(again.status, 202);
    while s.app.services.runner.run_one().await.unwrap().is_some() {}
    assert_eq!(bucket.keys().await.len(), 3);
    s.app.clock.advance(Duration::days(7) - Duration::minutes(1));
    assert_eq!(s.app.services.janitor.sweep().await.unwrap().export_runs_cleaned, 0);
    s.app.clock.advance(Duration::minutes(2));
    assert_eq!(s.app.services.janitor.sweep().await.unwrap().export_runs_cleaned, 1);
    assert_eq!(bucket.keys().await, Vec::<String>::new());
    let audit = s
        .app
        .call("GET", &format!("/v1/orgs/{}/audit?action=janitor.export-expire", s.org), Some(OPERATOR_TOKEN), None)
        .await;
    assert_eq!(audit.status, 200);
    assert!(audit.body.to_string().contains("janitor.export-expire"), "{:?}", audit.body);

    // An export into the customer's own integration is not staging unless asked: nothing to acknowledge.
    let kept = json!({ "connection": "local", "table": "t", "staging": false });
    let (created, run) = export(&s.app, &s.org, &s.member, kept).await;
    let id = created["export"]["id"].as_str().unwrap();
    let path = format!("/v1/orgs/{}/exports/{id}/runs/{}/ack", s.org, run["id"].as_str().unwrap());
    let refused = s.app.call("POST", &path, Some(&s.member), None).await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.body["code"], "export-not-staging");
}

#[tokio::test]
async fn previews_render_templates_and_schedules() {
    let s = setup().await;
    set_clock(&s.app, at("2026-03-28T12:00:00Z"));
    let body = json!({
        "path_template": "bi/{{org}}/{{date}}/{{datetime}}/part-{{part}}.parquet", "format": "parquet",
        "options": { "max_rows_per_file": 1000 },
        "schedule": { "cron": "30 1 * * *", "timezone": "America/New_York" },
    });
    let preview = s.app.call("POST", &format!("/v1/orgs/{}/exports/preview", s.org), Some(&s.member), Some(body)).await;
    assert_eq!(preview.status, 200, "{:?}", preview.body);
    let folder = format!("bi/{}/2026-03-28/20260328T120000Z", s.org);
    assert_eq!(preview.body["files"][0], format!("{folder}/part-00001.parquet"));
    assert_eq!(preview.body["files"][1], format!("{folder}/part-00002.parquet"));
    assert_eq!(preview.body["manifest"], format!("{folder}/_manifest.json"));
    assert_eq!(preview.body["success_marker"], format!("{folder}/_SUCCESS"));
    assert_eq!(preview.body["next_runs"][0], "2026-03-29T05:30:00Z");
}

#[tokio::test]
async fn bad_requests_are_refused_before_anything_runs() {
    let s = setup().await;
    let cases = [
        (json!({ "connection": "local" }), "table", 422),
        (json!({ "connection": "local", "table": "t", "query": "SELECT 1" }), "table", 422),
        (json!({ "connection": "local", "query": "  " }), "query", 422),
        (json!({ "connection": "local", "query": "DELETE FROM t RETURNING *" }), "query", 422),
        (json!({ "connection": "local", "query": "-- tidy up\nUPDATE t SET id = 0 RETURNING id" }), "query", 422),
        (json!({ "connection": "local", "table": "missing" }), "table", 422),
        (json!({ "connection": "nope", "table": "t" }), "", 404),
        (json!({ "connection": "local", "table": "t", "format": "xml" }), "", 422),
        (json!({ "connection": "local", "table": "t", "format": "csv", "compression": "snappy" }), "compression", 422),
        (
            json!({ "connection": "local", "table": "t", "format": "parquet", "compression": "gzip" }),
            "compression",
            422,
        ),
        (json!({ "connection": "local", "table": "t", "path_template": "a/{{date}" }), "path_template", 422),
        (json!({ "connection": "local", "table": "t", "path_template": "a/{{when}}.csv" }), "path_template", 422),
        (json!({ "connection": "local", "table": "t", "path_template": "../{{run_id}}.csv" }), "path_template", 422),
        (json!({ "connection": "local", "table": "t", "path_template": "/abs/{{run_id}}.csv" }), "path_template", 422),
        (json!({ "connection": "local", "table": "t", "path_template": "a/{{part}}/x.csv" }), "path_template", 422),
        (
            json!({ "connection": "local", "table": "t", "path_template": "a/x.csv", "options": { "max_rows_per_file": 5 } }),
            "path_template",
            422,
        ),
        (
            json!({ "connection": "local", "table": "t", "options": { "max_rows_per_file": 0 } }),
            "options.max_rows_per_file",
            422,
        ),
        (
            json!({ "connection": "local", "table": "t", "options": { "max_bytes_per_file": 10 } }),
            "options.max_bytes_per_file",
            422,
        ),
        (json!({ "connection": "local", "table": "t", "options": { "null_value": "a,b" } }), "options.null_value", 422),
        (json!({ "connection": "local", "table": "t", "options": { "surprise": 1 } }), "", 422),
        (json!({ "connection": "local", "table": "t", "schedule": { "cron": "61 * * * *" } }), "schedule.cron", 422),
        (json!({ "connection": "local", "table": "t", "schedule": { "cron": "*/5 * * * * *" } }), "schedule.cron", 422),
        (
            json!({ "connection": "local", "table": "t", "schedule": { "cron": "0 6 * * *", "timezone": "Mars/Base" } }),
            "schedule.timezone",
            422,
        ),
        (
            json!({ "connection": "local", "table": "t", "staging": false, "staging_ttl_hours": 5 }),
            "staging_ttl_hours",
            422,
        ),
        (json!({ "connection": "local", "table": "t", "staging_ttl_hours": 0 }), "staging_ttl_hours", 422),
        (json!({ "connection": "local", "table": "t", "name": "no spaces please" }), "name", 422),
        (json!({ "connection": "local", "table": "t", "integration": "nope" }), "", 404),
    ];
    for (body, field, status) in cases {
        let reply =
            s.app.call("POST", &format!("/v1/orgs/{}/exports", s.org), Some(&s.member), Some(body.clone())).await;
        assert_eq!(reply.status, status, "{body} -> {:?}", reply.body);
        assert_eq!(reply.content_type, "application/problem+json", "{body}");
        if !field.is_empty() {
            assert_eq!(reply.body["field"], field, "{body} -> {:?}", reply.body);
        }
    }
    let listed = s.app.call("GET", &format!("/v1/orgs/{}/exports", s.org), Some(&s.member), None).await;
    assert_eq!(listed.body, json!([]), "no bad request created anything");

    // A writing statement is refused by name, not with the platform's syntax error about byob's wrapping.
    let reply = s
        .app
        .call(
            "POST",
            &format!("/v1/orgs/{}/exports", s.org),
            Some(&s.member),
            Some(json!({ "connection": "local", "query": "DELETE FROM t RETURNING *" })),
        )
        .await;
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("exports only read") && detail.contains("`DELETE`"), "{:?}", reply.body);
    assert!(!detail.contains("syntax error"), "{detail}");
    let (_, run) = export(&s.app, &s.org, &s.member, json!({ "connection": "local", "table": "t" })).await;
    assert_eq!(run["rows"], 3, "the table is intact");
    let (_, run) =
        export(&s.app, &s.org, &s.member, json!({ "connection": "local", "query": "SELECT 1; DROP TABLE t" })).await;
    assert_eq!(run["state"], "failed", "{run}");
    let (_, run) = export(&s.app, &s.org, &s.member, json!({ "connection": "local", "table": "t" })).await;
    assert_eq!(run["rows"], 3, "the table is still intact");
}

#[tokio::test]
async fn another_orgs_table_is_out_of_reach() {
    let s = setup().await;
    let other = s.app.create_org("globex").await;
    let (_, outsider) = s.app.member_with_token(&other, Role::Member).await;
    // The other org's `local` is its own warehouse: `t` does not exist there.
    let reply = s
        .app
        .call(
            "POST",
            &format!("/v1/orgs/{other}/exports"),
            Some(&outsider),
            Some(json!({ "connection": "local", "table": "t" })),
        )
        .await;
    assert_eq!(reply.status, 422, "{:?}", reply.body);
    let (_, run) =
        export(&s.app, &other, &outsider, json!({ "connection": "local", "query": "SELECT * FROM t" })).await;
    assert_eq!(run["state"], "failed");
    assert!(run["error"]["message"].as_str().unwrap().contains("no such table"), "{run}");
    // Nor can the outsider see the first org's exports.
    let (created, _) = export(&s.app, &s.org, &s.member, json!({ "connection": "local", "table": "t" })).await;
    let id = created["export"]["id"].as_str().unwrap();
    let peek = s.app.call("GET", &format!("/v1/orgs/{}/exports/{id}", s.org), Some(&outsider), None).await;
    assert_eq!(peek.status, 404);
}

#[tokio::test]
async fn an_empty_result_is_a_file_with_its_header() {
    let s = setup().await;
    let bucket = Bucket::create(Store::Default, &s.app, &s.org).await;
    let (_, run) =
        export(&s.app, &s.org, &s.member, json!({ "connection": "local", "query": "SELECT * FROM t WHERE id < 0" }))
            .await;
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(run["rows"], 0);
    let key = run["files"][0]["key"].as_str().unwrap();
    assert_eq!(bucket.read(key).await, b"id,name\n");
    let (_, run) = export(
        &s.app,
        &s.org,
        &s.member,
        json!({ "connection": "local", "query": "SELECT * FROM t WHERE id < 0", "format": "parquet" }),
    )
    .await;
    assert_eq!(run["state"], "succeeded", "{run}");
    let parquet = bucket.read(run["files"][0]["key"].as_str().unwrap()).await;
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
}
