//! The full-size migration, by hand (`cargo nextest run -p byob-api --test migrations_full_size
//! --run-ignored only`; a few minutes, so not in the suite, whose migrations cover every path at small sizes):
//! byob's default storage → moto → Azurite → fake-gcs-server of a mixed set — 2,000 small assets, two assets over
//! 100 MB, an upload and an attachment — each leg verified, the middle one interrupted midway and resumed, with
//! asset writes arriving all through each leg (retried while the routing switches) and every one of them readable
//! at the end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use byob_core::Role;
use byob_testkit::{
    TestApp,
    assets::{AssetOrg, make_bucket, put_asset, read_asset, run_jobs},
    attachments::{attach, png},
    buckets::unique_name,
    integrations::{Access, integration_body},
    uploads::create_integration,
};
use serde_json::{Value, json};

const SMALL: usize = 2_000;
const BIG: usize = 101 << 20;

fn big(seed: u8) -> Vec<u8> {
    (0..BIG).map(|i| (i % 251) as u8 ^ seed).collect()
}

async fn migration(app: &TestApp, org: &AssetOrg, id: &str) -> Value {
    app.call("GET", &format!("/v1/orgs/{}/migrations/{id}", org.id), Some(&org.member), None).await.body
}

/// Writes `late/{leg}-{n}` assets until told to stop, retrying each while the routing switches; returns the names
/// written.
async fn keep_writing(app: &TestApp, org: &AssetOrg, leg: &str, stop: &AtomicBool) -> Vec<String> {
    let mut written = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let name = format!("late/{leg}-{}", written.len());
        loop {
            let put = put_asset(app, org, &name, name.as_bytes(), &[]).await;
            match (put.status, put.body["code"].as_str()) {
                (201, _) => break,
                (409, Some("migration-switching")) => tokio::time::sleep(Duration::from_millis(50)).await,
                _ => panic!("a write during the migration failed: {:?}", put.body),
            }
        }
        written.push(name);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    written
}

/// Runs a migration from the org's current store to `to`, with writes arriving all along; when `interrupt`, the
/// runner stops once some objects are copied and a new run goes on. Returns the migration and the late writes.
async fn leg(app: &TestApp, org: &AssetOrg, from: &str, to: &str, name: &str, interrupt: bool) -> (Value, Vec<String>) {
    // Attachments are never on byob's default storage: they join from the first integration on.
    let features: &[&str] =
        if from == "default" { &["uploads", "assets"] } else { &["uploads", "attachments", "assets"] };
    let body = json!({ "from": from, "to": to, "features": features });
    let started = app.call("POST", &format!("/v1/orgs/{}/migrations", org.id), Some(&org.admin), Some(body)).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    let id = started.body["id"].as_str().unwrap().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let writes = keep_writing(app, org, name, &stop);
    let run = async {
        if interrupt {
            let copied_some = async {
                loop {
                    let now = migration(app, org, &id).await;
                    if now["counts"]["copied"].as_u64().unwrap_or(0) > 0
                        || now["state"] != "planning" && now["state"] != "copying"
                    {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            app.services.runner.run_until(Duration::from_millis(20), copied_some).await;
            let midway = migration(app, org, &id).await;
            assert!(midway["state"] != "completed", "the interruption came too late to show a resume: {midway:?}");
            app.clock.advance(chrono::Duration::minutes(10));
        }
        run_jobs(app).await;
        stop.store(true, Ordering::Relaxed);
    };
    let ((), written) = tokio::join!(run, writes);
    let done = migration(app, org, &id).await;
    assert_eq!(done["state"], "completed", "{done:?}");
    assert_eq!(done["counts"]["copied"], done["counts"]["objects"], "each object copied once: {done:?}");
    (done, written)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "full size, by hand: a few minutes"]
async fn default_to_moto_to_azurite_to_fake_gcs_at_full_size() {
    let app = TestApp::sqlite().await;
    let id = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&id, Role::Member).await;
    let (_, admin) = app.member_with_token(&id, Role::Admin).await;
    let mut org = AssetOrg { id, member, admin, access: Access::Memory, bucket: String::new(), prefix: String::new() };

    for i in 0..SMALL {
        let put = put_asset(&app, &org, &format!("models/m{i}.json"), format!("{{\"n\":{i}}}").as_bytes(), &[]).await;
        assert_eq!(put.status, 201, "{:?}", put.body);
    }
    for seed in [1, 2] {
        assert_eq!(put_asset(&app, &org, &format!("scenes/big-{seed}.bin"), &big(seed), &[]).await.status, 201);
    }
    let upload =
        byob_testkit::uploads::upload_bytes(&app, &org.id, &org.member, "people.csv", b"id,name\n1,Ada\n").await;

    let mut late = Vec::new();
    let mut attachment = String::new();
    let mut from = "default".to_string();
    for (access, name, interrupt) in
        [(Access::Moto, "moto", false), (Access::Azurite, "azurite", true), (Access::FakeGcs, "gcs", false)]
    {
        let bucket = unique_name("full");
        make_bucket(access, &bucket).await;
        // Attachments need a bucket of the org's: moto's serves them from the start, and they move from there.
        let serves: &[&str] = if access == Access::Moto { &["attachments"] } else { &[] };
        let to = create_integration(&app, &org.id, integration_body(access, name, &bucket, "projects", serves)).await;
        if access == Access::Moto {
            let attachments_org = byob_testkit::attachments::Org {
                id: org.id.clone(),
                member: org.member.clone(),
                admin: org.admin.clone(),
                bucket: bucket.clone(),
            };
            let done = attach(&app, &attachments_org, "plan.png", "image/png", &png(64, 48)).await;
            assert_eq!(done.status, 200, "{:?}", done.body);
            attachment = done.body["id"].as_str().unwrap().to_string();
        }
        let (done, written) = leg(&app, &org, &from, &to, name, interrupt).await;
        assert!(done["counts"]["objects"].as_u64().unwrap() > SMALL as u64, "{done:?}");
        late.extend(written);
        (org.access, org.bucket, org.prefix) = (access, bucket.clone(), "projects".into());
        from = to;
    }

    for seed in [1, 2] {
        assert_eq!(read_asset(&app, &org, &format!("scenes/big-{seed}.bin"), None).await.2.unwrap(), big(seed));
    }
    for i in (0..SMALL).step_by(97) {
        let read = read_asset(&app, &org, &format!("models/m{i}.json"), None).await.2.unwrap();
        assert_eq!(read, format!("{{\"n\":{i}}}").as_bytes());
    }
    assert!(!late.is_empty());
    for name in &late {
        assert_eq!(read_asset(&app, &org, name, None).await.2.unwrap(), name.as_bytes(), "{name} arrived");
    }
    let moved = app.call("GET", &format!("/v1/orgs/{}/uploads/{upload}", org.id), Some(&org.member), None).await;
    assert_eq!(moved.body["integration_id"], json!(from), "{:?}", moved.body);
    let attachments_org = byob_testkit::attachments::Org {
        id: org.id.clone(),
        member: org.member.clone(),
        admin: org.admin.clone(),
        bucket: org.bucket.clone(),
    };
    let file = byob_testkit::attachments::download(&app, &attachments_org, &attachment, "download").await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().as_ref(), png(64, 48).as_slice());
    let report = byob_testkit::assets::verify(&app, &org).await;
    assert_eq!(report["status"], "passed", "{report:?}");
}
