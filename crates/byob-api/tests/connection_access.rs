//! Members do not hold an admin's connection: by default they create tables and append to or replace the tables
//! byob created, and export tables — not replace a table byob did not make, nor run their own SQL through the
//! admin's credentials. Admins widen or narrow that per connection. Against a real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    uploads::{create_pg_connection_with, try_load, upload_bytes},
};
use serde_json::{Value, json};
use sqlx::Connection;

fn load(table: &str, mode: &str) -> Value {
    json!({ "connection": "pg", "table": table, "mode": mode })
}

fn assert_denied(reply: &Result<Value, (u16, Value)>, what: &str) {
    match reply {
        Err((403, problem)) => {
            assert_eq!(problem["code"], "connection-access-denied", "{problem}");
            assert!(problem["detail"].as_str().unwrap().contains(what), "{problem}");
        }
        other => panic!("expected connection-access-denied: {other:?}"),
    }
}

#[tokio::test]
async fn members_may_only_do_what_the_connection_allows() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, admin) = app.member_with_token(&org, Role::Admin).await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let target = byob_testkit::fresh_postgres_database().await;
    let mut pg = sqlx::PgConnection::connect(&target).await.unwrap();
    sqlx::raw_sql("CREATE TABLE payroll (id bigint, name text); INSERT INTO payroll VALUES (1, 'kept');")
        .execute(&mut pg)
        .await
        .unwrap();
    create_pg_connection_with(&app, &org, &target, json!({})).await;
    let bucket = byob_testkit::buckets::unique_name("access");
    byob_testkit::buckets::create_s3_bucket(&bucket).await;
    byob_testkit::uploads::create_integration(
        &app,
        &org,
        byob_testkit::uploads::moto_uploads_integration(&bucket, "byob"),
    )
    .await;
    let csv = b"id,name\n2,member\n";

    // A table byob did not create: members may neither replace nor append to it.
    let upload = upload_bytes(&app, &org, &member, "p.csv", csv).await;
    assert_denied(&try_load(&app, &org, &member, &upload, load("payroll", "replace")).await, "`public.payroll`");
    assert_denied(
        &try_load(&app, &org, &member, &upload, load("payroll", "append")).await,
        "a table byob did not create",
    );
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM payroll").fetch_one(&mut pg).await.unwrap();
    assert_eq!(kept, 1, "nothing was written");

    // A table the member creates through byob is theirs to append to and replace.
    let job = try_load(&app, &org, &member, &upload, load("member_made", "create")).await.unwrap();
    assert_eq!(job["state"], "succeeded", "{job}");
    let again = upload_bytes(&app, &org, &member, "q.csv", csv).await;
    assert_eq!(
        try_load(&app, &org, &member, &again, load("member_made", "append")).await.unwrap()["state"],
        "succeeded"
    );

    // Exports: tables yes, their own SQL no.
    let export = |body: Value| {
        let (app, org, member) = (&app, &org, &member);
        async move { app.call("POST", &format!("/v1/orgs/{org}/exports"), Some(member), Some(body)).await }
    };
    assert_eq!(export(json!({ "connection": "pg", "table": "payroll" })).await.status, 201);
    let query = json!({ "connection": "pg", "query": "SELECT * FROM payroll" });
    let refused = export(query.clone()).await;
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (403, Some("connection-access-denied")),
        "{:?}",
        refused.body
    );

    // The admin allows queries, and confines members' writes to one schema.
    let access = json!({ "member_access": { "run_queries": true, "schema": "sandbox" } });
    let updated = app.call("PATCH", &format!("/v1/orgs/{org}/connections/pg"), Some(&admin), Some(access)).await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["member_access"]["run_queries"], true);
    assert_eq!(export(query).await.status, 201);
    let third = upload_bytes(&app, &org, &member, "r.csv", csv).await;
    assert_denied(&try_load(&app, &org, &member, &third, load("elsewhere", "create")).await, "schema `public`");
    // A member may not change the rules; the admin is not bound by them.
    let own = app
        .call("PATCH", &format!("/v1/orgs/{org}/connections/pg"), Some(&member), Some(json!({ "member_access": {} })))
        .await;
    assert_eq!(own.status, 403, "{:?}", own.body);
    assert_eq!(try_load(&app, &org, &admin, &third, load("payroll", "replace")).await.unwrap()["state"], "succeeded");
    let audit = app.call("GET", &format!("/v1/orgs/{org}/audit?action=connection.update"), Some(&admin), None).await;
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 1, "{:?}", audit.body);
}
