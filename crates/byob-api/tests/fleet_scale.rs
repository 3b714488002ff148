//! Fleet scale (issue 22): with 10,000 orgs and 20,000 integrations in a PostgreSQL catalog, one pass of the
//! health monitor, the janitor, the export and import schedulers, webhook delivery and the job queue costs the
//! same number of catalog calls as on an empty catalog — each asks the catalog what is due with one query, never
//! walks the orgs — and a pass with k integrations due costs k times a fixed amount more.
//!
//! `BYOB_FLEET_ORGS` sets the number of orgs (two integrations each); `bench/fleet/run.sh` runs this test at
//! larger sizes and prints the calls and time of each pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use byob_testkit::{
    TestApp,
    integrations::{Access, integration_body},
    uploads::create_integration,
};

/// Catalog calls and wall time of each periodic pass, in the order they are listed.
async fn passes(app: &TestApp) -> Vec<(&'static str, u64, f64)> {
    let now = app.clock_now();
    let s = &app.services;
    let mut out = Vec::new();
    macro_rules! measure {
        ($name:literal, $pass:expr) => {{
            let (calls, started) = (app.catalog.calls(), Instant::now());
            $pass.await.unwrap();
            out.push(($name, app.catalog.calls() - calls, started.elapsed().as_secs_f64() * 1000.0));
        }};
    }
    measure!("health monitor", s.monitor.tick(now));
    measure!("janitor", s.janitor.sweep());
    measure!("export schedules", s.exports.tick());
    measure!("import schedules", s.imports.tick());
    measure!("webhook deliveries", s.webhooks.dispatch(now));
    measure!("job queue", s.runner.run_one());
    out
}

fn print(label: &str, measured: &[(&'static str, u64, f64)]) {
    println!("{label}");
    for (name, calls, ms) in measured {
        println!("  {name:<20} {calls:>4} catalog calls  {ms:>9.1} ms");
    }
}

/// Adds `orgs` orgs with two copies of `template` each (active, next checked in a day), in three statements.
async fn seed(app: &TestApp, template: &str, orgs: i64) {
    let pool = app.catalog.pool();
    let now = app.clock_now().timestamp_millis();
    let day = 24 * 3600 * 1000;
    sqlx::query(
        "INSERT INTO orgs (id, name, created_at, updated_at) \
         SELECT 'org_' || lpad(g::text, 26, '0'), 'fleet-' || g, $1, $1 FROM generate_series(1, $2::bigint) g",
    )
    .bind(now)
    .bind(orgs)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO integrations (id, org_id, name, provider, bucket, prefix, region, endpoint, path_style, \
           credentials, kms_key, allowed_origins, staging_ttl_hours, features, state, created_at, updated_at) \
         SELECT 'int_' || lpad(g::text, 26, '0'), 'org_' || lpad(((g + 1) / 2)::text, 26, '0'), 'fleet-' || g, \
           provider, bucket, prefix, region, endpoint, path_style, credentials, kms_key, allowed_origins, \
           staging_ttl_hours, features, 'active', created_at, updated_at \
         FROM integrations t CROSS JOIN generate_series(1, $2::bigint) g WHERE t.id = $1",
    )
    .bind(template)
    .bind(orgs * 2)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO health_schedule (integration_id, org_id, next_check_at, expiry_notice, notice_at, seen_version) \
         SELECT id, org_id, $1, NULL, NULL, updated_at FROM integrations WHERE name LIKE 'fleet-%'",
    )
    .bind(now + day)
    .execute(pool)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pass_over_a_fleet_reads_only_what_is_due() {
    let orgs: i64 = std::env::var("BYOB_FLEET_ORGS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let app = TestApp::postgres().await;
    let org = app.create_org("template").await;
    let template =
        create_integration(&app, &org, integration_body(Access::Memory, "t", "fleet-bucket", "fleet", &[])).await;
    // The template's first sight (it is scheduled), then a pass with nothing due: the cost of a pass.
    passes(&app).await;
    let empty = passes(&app).await;
    print("one integration:", &empty);

    let started = Instant::now();
    seed(&app, &template, orgs).await;
    println!("seeded {orgs} orgs and {} integrations in {:.1} s", orgs * 2, started.elapsed().as_secs_f64());
    let fleet = passes(&app).await;
    print(&format!("{orgs} orgs, {} integrations, nothing due:", orgs * 2), &fleet);
    for ((name, calls, _), (_, at_scale, _)) in empty.iter().zip(&fleet) {
        assert_eq!(calls, at_scale, "{name}: a pass over the fleet costs what it costs over one integration");
    }
    assert_eq!(fleet[0].1, 2, "the monitor asks once for due connections and once for due integrations");

    // Five integrations changed since their schedule was written: due, and each costs the same few calls (read
    // it, read its schedule, write its schedule).
    sqlx::query(
        "UPDATE health_schedule SET seen_version = 0 WHERE integration_id IN \
         (SELECT id FROM integrations WHERE name LIKE 'fleet-%' ORDER BY id LIMIT 5)",
    )
    .execute(app.catalog.pool())
    .await
    .unwrap();
    let (calls, report) = (app.catalog.calls(), app.services.monitor.tick(app.clock_now()).await.unwrap());
    let due_pass = app.catalog.calls() - calls;
    println!("  health monitor with 5 due: {due_pass} catalog calls");
    assert_eq!((report.verified, report.scheduled), (0, 0), "{report:?}");
    assert_eq!(due_pass, fleet[0].1 + 5 * 3);
    let again = passes(&app).await;
    assert_eq!(again[0].1, fleet[0].1, "rescheduled: nothing due any more");
}
