//! Migrations on the real emulators: byob's default storage → moto, moto → Azurite (with attachments, and the
//! source deleted after the switch), Azurite → fake-gcs-server interrupted midway and resumed; a dry run; writes
//! refused while the routing switches; conflicts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use byob_core::Role;
use byob_testkit::{
    TestApp,
    assets::{AssetOrg, make_bucket, put_asset, read_asset, run_jobs, verify},
    attachments::{attach, png},
    buckets::unique_name,
    integrations::{Access, integration_body},
    uploads::create_integration,
};
use serde_json::{Value, json};

/// An org with a member and an admin whose assets are on byob's default storage.
async fn org_on_default(app: &TestApp) -> AssetOrg {
    let id = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&id, Role::Member).await;
    let (_, admin) = app.member_with_token(&id, Role::Admin).await;
    AssetOrg { id, member, admin, access: Access::Memory, bucket: String::new(), prefix: String::new() }
}

/// A fresh bucket of `access` and an integration on it serving `features`.
async fn store(app: &TestApp, org: &AssetOrg, access: Access, name: &str, features: &[&str]) -> (String, String) {
    let bucket = unique_name("mig");
    make_bucket(access, &bucket).await;
    let id = create_integration(app, &org.id, integration_body(access, name, &bucket, "projects", features)).await;
    (id, bucket)
}

async fn migrate(app: &TestApp, org: &AssetOrg, body: Value) -> Value {
    let started = app.call("POST", &format!("/v1/orgs/{}/migrations", org.id), Some(&org.admin), Some(body)).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    started.body
}

async fn migration(app: &TestApp, org: &AssetOrg, id: &Value) -> Value {
    let id = id.as_str().unwrap();
    app.call("GET", &format!("/v1/orgs/{}/migrations/{id}", org.id), Some(&org.member), None).await.body
}

#[tokio::test(flavor = "multi_thread")]
async fn default_storage_to_moto() {
    let app = TestApp::sqlite().await;
    let org = org_on_default(&app).await;
    let big: Vec<u8> = (0..17u32 << 20).map(|i| (i % 241) as u8).collect();
    for i in 0..40 {
        assert_eq!(
            put_asset(&app, &org, &format!("models/m{i}.json"), format!("{{\"n\":{i}}}").as_bytes(), &[]).await.status,
            201
        );
    }
    assert_eq!(put_asset(&app, &org, "scenes/big.bin", &big, &[]).await.status, 201);
    let upload =
        byob_testkit::uploads::upload_bytes(&app, &org.id, &org.member, "people.csv", b"id,name\n1,Ada\n").await;
    let (int, _) = store(&app, &org, Access::Moto, "customer", &[]).await;

    // A dry run reports and copies nothing.
    let dry = migrate(
        &app,
        &org,
        json!({ "from": "default", "to": int, "features": ["uploads", "assets"], "dry_run": true }),
    )
    .await;
    run_jobs(&app).await;
    let dry = migration(&app, &org, &dry["id"]).await;
    assert_eq!(dry["state"], "completed", "{dry:?}");
    assert_eq!((dry["counts"]["objects"].as_u64(), dry["counts"]["copied"].as_u64()), (Some(83), Some(0)), "{dry:?}");
    let reported =
        app.call("GET", &format!("/v1/orgs/{}/events?type=migration-completed", org.id), Some(&org.admin), None).await;
    assert_eq!(reported.body[0]["payload"]["dry_run"], true, "a dry run reports its end too: {:?}", reported.body);

    let m = migrate(&app, &org, json!({ "from": "default", "to": int, "features": ["uploads", "assets"] })).await;
    let again = app
        .call(
            "POST",
            &format!("/v1/orgs/{}/migrations", org.id),
            Some(&org.admin),
            Some(json!({ "from": "default", "to": int, "features": ["assets"] })),
        )
        .await;
    assert_eq!(again.body["code"], "migration-active", "{:?}", again.body);
    run_jobs(&app).await;
    let m = migration(&app, &org, &m["id"]).await;
    assert_eq!(m["state"], "completed", "{m:?}");
    assert_eq!(m["counts"]["copied"], m["counts"]["objects"], "{m:?}");
    assert!(m["switched_at"].is_string());

    // Reads and new writes go to the customer's bucket now; its check passes there.
    let i = app.call("GET", &format!("/v1/orgs/{}/integrations/{int}", org.id), Some(&org.admin), None).await;
    assert_eq!(i.body["features"], json!(["uploads", "assets"]), "{:?}", i.body);
    let moved = app.call("GET", &format!("/v1/orgs/{}/uploads/{upload}", org.id), Some(&org.member), None).await;
    assert_eq!(moved.body["integration_id"], json!(int), "a settled upload now names the bucket: {:?}", moved.body);
    let inspected =
        app.call("GET", &format!("/v1/orgs/{}/uploads/{upload}/preview", org.id), Some(&org.member), None).await;
    assert_eq!(inspected.status, 200, "and is read from there: {:?}", inspected.body);
    assert_eq!(read_asset(&app, &org, "scenes/big.bin", None).await.2.unwrap(), big);
    let v = put_asset(&app, &org, "models/after.json", b"{}", &[]).await;
    assert_eq!(v.body["integration_id"], json!(int), "{:?}", v.body);
    let report = verify(&app, &org).await;
    assert_eq!(report["status"], "passed", "{report:?}");

    // The other way back: the objects are there already with the same hashes, so nothing is copied again.
    let back = migrate(&app, &org, json!({ "from": int, "to": "default", "features": ["assets"] })).await;
    run_jobs(&app).await;
    let back = migration(&app, &org, &back["id"]).await;
    assert_eq!(back["state"], "completed", "{back:?}");
    assert_eq!(back["counts"]["skipped"], 82, "{back:?}");
    assert_eq!(back["counts"]["copied"], 2, "only the write made after the first migration: {back:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn moto_to_azurite_with_attachments_deleting_the_source() {
    let app = TestApp::sqlite().await;
    let mut org = org_on_default(&app).await;
    let (from, from_bucket) = store(&app, &org, Access::Moto, "old", &["attachments", "assets"]).await;
    (org.access, org.bucket, org.prefix) = (Access::Moto, from_bucket.clone(), "projects".into());
    let attachments_org = byob_testkit::attachments::Org {
        id: org.id.clone(),
        member: org.member.clone(),
        admin: org.admin.clone(),
        bucket: from_bucket.clone(),
    };
    let done = attach(&app, &attachments_org, "plan.png", "image/png", &png(64, 48)).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let attachment = done.body["id"].as_str().unwrap().to_string();
    put_asset(&app, &org, "a.json", b"{\"a\":1}", &[]).await;
    let (to, _) = store(&app, &org, Access::Azurite, "new", &[]).await;

    let m = migrate(
        &app,
        &org,
        json!({ "from": from, "to": to, "features": ["attachments", "assets"], "delete_source": true }),
    )
    .await;
    run_jobs(&app).await;
    let m = migration(&app, &org, &m["id"]).await;
    assert_eq!(m["state"], "completed", "{m:?}");
    assert_eq!(m["counts"]["deleted_from_source"], m["counts"]["objects"], "{m:?}");

    let a = app.call("GET", &format!("/v1/orgs/{}/attachments/{attachment}", org.id), Some(&org.member), None).await;
    assert_eq!(a.body["integration_id"], json!(to), "{:?}", a.body);
    let file = byob_testkit::attachments::download(&app, &attachments_org, &attachment, "download").await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().as_ref(), png(64, 48).as_slice());
    assert_eq!(read_asset(&app, &org, "a.json", None).await.2.unwrap(), b"{\"a\":1}");
    assert!(
        !byob_testkit::attachments::object_exists(&from_bucket, &format!("projects/attachments/{attachment}")).await
    );
    let events =
        app.call("GET", &format!("/v1/orgs/{}/events?type=migration-completed", org.id), Some(&org.admin), None).await;
    assert_eq!(events.body.as_array().unwrap().len(), 1, "{:?}", events.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn azurite_to_fake_gcs_resumes_after_an_interruption() {
    let app = TestApp::sqlite().await;
    let mut org = org_on_default(&app).await;
    let (from, bucket) = store(&app, &org, Access::Azurite, "old", &["assets"]).await;
    (org.access, org.bucket, org.prefix) = (Access::Azurite, bucket, "projects".into());
    for i in 0..150 {
        put_asset(&app, &org, &format!("f/{i}.txt"), format!("file {i}").as_bytes(), &[]).await;
    }
    let (to, _) = store(&app, &org, Access::FakeGcs, "new", &[]).await;
    let m = migrate(&app, &org, json!({ "from": from, "to": to, "features": ["assets"] })).await;

    // The runner stops (as on a shutdown) once some objects are copied; a new run goes on from there.
    let runner = app.services.runner.clone();
    let stop = async {
        loop {
            let now = migration(&app, &org, &m["id"]).await;
            if now["counts"]["copied"].as_u64().unwrap_or(0) > 0
                || now["state"] != "planning" && now["state"] != "copying"
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    runner.run_until(Duration::from_millis(20), stop).await;
    let midway = migration(&app, &org, &m["id"]).await;
    // Writes made meanwhile go to the source still; the catch-up carries them over.
    for i in 0..5 {
        put_asset(&app, &org, &format!("late/{i}.txt"), format!("late {i}").as_bytes(), &[]).await;
    }
    // The interrupted job waits out its retry delay.
    app.clock.advance(chrono::Duration::minutes(10));
    run_jobs(&app).await;
    let done = migration(&app, &org, &m["id"]).await;
    assert_eq!(done["state"], "completed", "{done:?}");
    assert_eq!(done["counts"]["copied"], done["counts"]["objects"], "each object copied once: {done:?}");
    assert!(midway["counts"]["copied"].as_u64().unwrap() < 300, "{midway:?}");
    assert_eq!(read_asset(&app, &org, "f/149.txt", None).await.2.unwrap(), b"file 149");
    assert_eq!(read_asset(&app, &org, "late/4.txt", None).await.2.unwrap(), b"late 4");
    assert_eq!(done["counts"]["objects"], 310, "{done:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_clear() {
    let app = TestApp::sqlite().await;
    let org = org_on_default(&app).await;
    let path = format!("/v1/orgs/{}/migrations", org.id);
    for (body, code, field) in [
        (json!({ "from": "default", "to": "default" }), "validation-failed", "to"),
        (json!({ "from": "s3://x", "to": "default" }), "validation-failed", "from"),
        (
            json!({ "from": "default", "to": "int_01m8pz0000000000000000000a", "features": ["exports"] }),
            "validation-failed",
            "features",
        ),
    ] {
        let refused = app.call("POST", &path, Some(&org.admin), Some(body)).await;
        assert_eq!(
            (refused.body["code"].as_str(), refused.body["field"].as_str()),
            (Some(code), Some(field)),
            "{:?}",
            refused.body
        );
    }
    let member = app.call("POST", &path, Some(&org.member), Some(json!({ "from": "default", "to": "default" }))).await;
    assert_eq!(member.status, 403);
    let unknown = app
        .call(
            "POST",
            &path,
            Some(&org.admin),
            Some(json!({ "from": "default", "to": "int_01m8pz0000000000000000000a", "features": ["assets"] })),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.body["code"].as_str()),
        (404, Some("integration-not-found")),
        "{:?}",
        unknown.body
    );
}

/// While the routing switches, writes of the moving features answer a retryable 409; other orgs are not held up.
#[tokio::test(flavor = "multi_thread")]
async fn writes_wait_while_the_routing_switches() {
    use byob_ports::catalog::MigrationCatalog;
    let app = TestApp::sqlite().await;
    let org = org_on_default(&app).await;
    let other = org_on_default(&app).await;
    let now = chrono::Utc::now();
    let switching = byob_core::migration::Migration {
        id: byob_core::MigrationId::generate(),
        org_id: org.id.parse().unwrap(),
        from: "default".into(),
        to: "default".into(),
        features: vec![byob_core::integration::Feature::Assets],
        dry_run: false,
        delete_source: false,
        state: byob_core::migration::MigrationState::Switching,
        job_id: None,
        counts: byob_core::migration::MigrationCounts::default(),
        conflicts: Vec::new(),
        error: None,
        created_by: "test".into(),
        created_at: now,
        switched_at: None,
        finished_at: None,
    };
    assert!(app.catalog.insert_migration(&switching).await.unwrap());
    let refused = put_asset(&app, &org, "a.json", b"{}", &[]).await;
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (409, Some("migration-switching")),
        "{:?}",
        refused.body
    );
    assert_eq!(put_asset(&app, &other, "a.json", b"{}", &[]).await.status, 201);
}
