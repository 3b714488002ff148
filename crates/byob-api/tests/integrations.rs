//! Integrations through the HTTP API: validation with rule codes, the members' redacted view, write-only
//! credentials, feature routing, immutability of the location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{TestApp, app::OPERATOR_TOKEN};
use serde_json::{Value, json};

const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn s3_access_key(name: &str, features: &[&str]) -> Value {
    json!({
        "name": name, "provider": "s3", "bucket": "acme-data", "prefix": "byob/exports/", "region": "eu-central-1",
        "credentials": { "mode": "s3_access_key", "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": SECRET_KEY },
        "allowed_origins": ["https://App.Example.com"], "features": features,
    })
}

async fn setup() -> (TestApp, String) {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    (app, org)
}

#[tokio::test]
async fn an_admin_creates_an_integration_and_never_sees_the_secret_again() {
    let (app, org) = setup().await;
    let path = format!("/v1/orgs/{org}/integrations");
    let created =
        app.call("POST", &path, Some(OPERATOR_TOKEN), Some(s3_access_key("prod", &["exports", "uploads"]))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let body = &created.body;
    assert_eq!(body["state"], "draft");
    assert_eq!(body["prefix"], "byob/exports");
    assert_eq!(body["path_style"], false);
    assert_eq!(body["staging_ttl_hours"], 24);
    assert_eq!(body["features"], json!(["uploads", "exports"]));
    assert_eq!(body["allowed_origins"], json!(["https://app.example.com"]));
    assert_eq!(body["credentials"]["mode"], "s3_access_key");
    assert!(body["credentials"]["secret_access_key"].as_str().unwrap().starts_with("sec_"));

    let id = created.id();
    let mut every_response = vec![created.body.to_string()];
    for read in
        [path.clone(), format!("{path}/{id}"), format!("/v1/orgs/{org}/secrets"), format!("/v1/orgs/{org}/audit")]
    {
        every_response.push(app.call("GET", &read, Some(OPERATOR_TOKEN), None).await.body.to_string());
    }
    assert!(every_response.iter().all(|r| !r.contains(SECRET_KEY)), "a response holds the secret");
    let secrets = app.call("GET", &format!("/v1/orgs/{org}/secrets"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(secrets.body["items"], json!([]), "an integration's credential is not one of the org's secrets");
}

#[tokio::test]
async fn a_member_sees_where_but_not_how() {
    let (app, org) = setup().await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let id = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/integrations"),
            Some(OPERATOR_TOKEN),
            Some(s3_access_key("prod", &["uploads"])),
        )
        .await
        .id();
    let seen = app.call("GET", &format!("/v1/orgs/{org}/integrations/{id}"), Some(&member), None).await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.body["credentials_mode"], "s3_access_key");
    assert_eq!(seen.body["bucket"], "acme-data");
    assert!(seen.body.get("credentials").is_none() && seen.body.get("kms_key").is_none(), "{:?}", seen.body);
    let listed = app.call("GET", &format!("/v1/orgs/{org}/integrations"), Some(&member), None).await;
    assert!(listed.body["items"][0].get("credentials").is_none());
    let denied =
        app.call("POST", &format!("/v1/orgs/{org}/integrations"), Some(&member), Some(s3_access_key("x", &[]))).await;
    assert_eq!(denied.status, 403);
}

#[tokio::test]
async fn assume_role_gets_an_unguessable_external_id_per_integration() {
    let (app, org) = setup().await;
    let path = format!("/v1/orgs/{org}/integrations");
    let mut ids = Vec::new();
    for name in ["a", "b"] {
        let body = json!({
            "name": name, "provider": "s3", "bucket": format!("acme-{name}"), "region": "us-east-1",
            "credentials": { "mode": "s3_assume_role", "role_arn": "arn:aws:iam::123456789012:role/byob-access" },
        });
        let created = app.call("POST", &path, Some(OPERATOR_TOKEN), Some(body)).await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        let external_id = created.body["credentials"]["external_id"].as_str().unwrap().to_string();
        assert!(external_id.len() >= 32 + 5 && external_id.starts_with("byob-"), "{external_id}");
        ids.push(external_id);
    }
    assert_ne!(ids[0], ids[1]);
}

/// Sends a create body with one field changed and expects that field's rule.
async fn expect_rule(app: &TestApp, org: &str, body: Value, field: &str, rule: &str) {
    let reply =
        app.call("POST", &format!("/v1/orgs/{org}/integrations"), Some(OPERATOR_TOKEN), Some(body.clone())).await;
    assert_eq!(reply.status, 422, "{body}: {:?}", reply.body);
    assert_eq!(reply.body["field"], field, "{body}: {:?}", reply.body);
    assert_eq!(reply.body["rule"], rule, "{body}: {:?}", reply.body);
}

/// `body` with the member at `pointer` set (added if absent).
fn with(mut body: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    body.pointer_mut(parent).unwrap()[key] = value;
    body
}

#[tokio::test]
async fn every_location_and_credential_field_is_checked() {
    let (app, org) = setup().await;
    let base = s3_access_key("x", &["uploads"]);
    expect_rule(&app, &org, with(base.clone(), "/bucket", json!("Acme_Data")), "bucket", "bucket-name-characters")
        .await;
    expect_rule(&app, &org, with(base.clone(), "/prefix", json!("../etc")), "prefix", "prefix-dot-segment").await;
    expect_rule(&app, &org, with(base.clone(), "/prefix", json!("/abs")), "prefix", "prefix-leading-slash").await;
    expect_rule(&app, &org, with(base.clone(), "/region", json!("Frankfurt")), "region", "region-format").await;
    expect_rule(&app, &org, with(base.clone(), "/region", Value::Null), "region", "region-required").await;
    let mut http = base.clone();
    http["endpoint"] = json!("http://minio.internal:9000");
    expect_rule(&app, &org, http, "endpoint", "endpoint-https").await;
    expect_rule(
        &app,
        &org,
        with(base.clone(), "/credentials/access_key_id", json!("nope")),
        "credentials.access_key_id",
        "access-key-id-format",
    )
    .await;
    expect_rule(
        &app,
        &org,
        with(base.clone(), "/credentials/secret_access_key", json!("")),
        "credentials.secret_access_key",
        "secret-empty",
    )
    .await;
    expect_rule(
        &app,
        &org,
        with(base.clone(), "/allowed_origins", json!(["https://app.example.com/path"])),
        "allowed_origins[0]",
        "origin-format",
    )
    .await;
    expect_rule(
        &app,
        &org,
        with(base.clone(), "/staging_ttl_hours", json!(0)),
        "staging_ttl_hours",
        "staging-ttl-range",
    )
    .await;
    let mut kms = base.clone();
    kms["kms_key"] = json!("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    expect_rule(&app, &org, kms, "kms_key", "kms-key-region").await;
    let gcs_with_s3_keys = with(with(base.clone(), "/provider", json!("gcs")), "/region", Value::Null);
    expect_rule(&app, &org, gcs_with_s3_keys, "credentials.mode", "credentials-mode-provider").await;
    let role = with(
        base.clone(),
        "/credentials",
        json!({ "mode": "s3_assume_role", "role_arn": "arn:aws:iam::123456789012:user/alice" }),
    );
    expect_rule(&app, &org, role, "credentials.role_arn", "arn-resource").await;
    let cn = with(
        base.clone(),
        "/credentials",
        json!({ "mode": "s3_assume_role", "role_arn": "arn:aws-cn:iam::123456789012:role/byob" }),
    );
    expect_rule(&app, &org, cn, "credentials.role_arn", "arn-partition-region").await;

    let azure = json!({
        "name": "az", "provider": "azure", "bucket": "exports", "features": ["exports"],
        "credentials": { "mode": "azure_sas", "account": "acmedata", "sas_token": "sv=2022-11-02&ss=b&srt=sco&sp=rl&se=2099-01-01T00:00:00Z&sig=abc" },
    });
    expect_rule(&app, &org, azure.clone(), "credentials.sas_token", "sas-permissions-for-features").await;
    expect_rule(
        &app,
        &org,
        with(azure.clone(), "/credentials/sas_token", json!("sv=1&ss=b&srt=o&sp=rwl&se=2001-01-01&sig=x")),
        "credentials.sas_token",
        "sas-expired",
    )
    .await;
    // The remaining checks use a SAS that grants what the features need.
    let writable = "sv=2022-11-02&ss=b&srt=sco&sp=rwl&se=2099-01-01T00:00:00Z&sig=abc";
    let azure = with(azure, "/credentials/sas_token", json!(writable));
    expect_rule(
        &app,
        &org,
        with(azure.clone(), "/credentials/account", json!("Acme-Data")),
        "credentials.account",
        "azure-account-name",
    )
    .await;
    expect_rule(&app, &org, with(azure, "/bucket", json!("ex--ports")), "bucket", "bucket-name-adjacent-hyphens").await;

    let gcs = json!({
        "name": "g", "provider": "gcs", "bucket": "acme-data",
        "credentials": { "mode": "gcs_service_account_key", "key": "{\"type\":\"authorized_user\"}" },
    });
    expect_rule(&app, &org, gcs.clone(), "credentials.key", "service-account-type").await;
    let key = json!({
        "type": "service_account", "project_id": "acme", "private_key_id": "k1", "client_email": "byob@acme.iam.gserviceaccount.com",
        "private_key": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
    });
    let gcs = with(gcs, "/credentials/key", json!(key.to_string()));
    expect_rule(&app, &org, with(gcs, "/bucket", json!("google-data")), "bucket", "bucket-name-reserved").await;
}

#[tokio::test]
async fn a_feature_is_served_by_one_integration_per_org() {
    let (app, org) = setup().await;
    let path = format!("/v1/orgs/{org}/integrations");
    assert_eq!(
        app.call("POST", &path, Some(OPERATOR_TOKEN), Some(s3_access_key("one", &["exports"]))).await.status,
        201
    );
    let clash =
        app.call("POST", &path, Some(OPERATOR_TOKEN), Some(s3_access_key("two", &["uploads", "exports"]))).await;
    assert_eq!(clash.status, 409);
    assert!(clash.body["detail"].as_str().unwrap().contains("`exports` is already served by integration `one`"));
    let same_name = app.call("POST", &path, Some(OPERATOR_TOKEN), Some(s3_access_key("one", &["imports"]))).await;
    assert_eq!(same_name.status, 409);
    let other_org = app.create_org("globex").await;
    let elsewhere = app
        .call(
            "POST",
            &format!("/v1/orgs/{other_org}/integrations"),
            Some(OPERATOR_TOKEN),
            Some(s3_access_key("one", &["exports"])),
        )
        .await;
    assert_eq!(elsewhere.status, 201, "routing is per org");
}

#[tokio::test]
async fn updates_keep_the_location_and_replace_credentials() {
    let (app, org) = setup().await;
    let created = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/integrations"),
            Some(OPERATOR_TOKEN),
            Some(s3_access_key("prod", &["uploads"])),
        )
        .await;
    let id = created.id();
    let old_secret: byob_core::SecretId =
        created.body["credentials"]["secret_access_key"].as_str().unwrap().parse().unwrap();
    let path = format!("/v1/orgs/{org}/integrations/{id}");
    let moved = app.call("PATCH", &path, Some(OPERATOR_TOKEN), Some(json!({ "bucket": "elsewhere" }))).await;
    assert_eq!((moved.status, moved.body["rule"].clone()), (422, json!("location-immutable")));

    let replaced = app
        .call("PATCH", &path, Some(OPERATOR_TOKEN), Some(json!({
            "name": "production",
            "credentials": { "mode": "s3_access_key", "access_key_id": "AKIAI44QH8DHBEXAMPLE", "secret_access_key": "new-secret" },
            "features": ["uploads", "imports"],
        })))
        .await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    assert_eq!(replaced.body["name"], "production");
    assert_eq!(replaced.body["credentials"]["access_key_id"], "AKIAI44QH8DHBEXAMPLE");
    assert_eq!(replaced.body["features"], json!(["uploads", "imports"]));
    let org_id: byob_core::OrgId = org.parse().unwrap();
    use byob_ports::catalog::Catalog;
    assert!(app.catalog.get_owned_secret(org_id, old_secret).await.unwrap().is_none(), "the replaced secret is gone");

    let disabled = app.call("POST", &format!("{path}/disable"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(disabled.body["state"], "disabled");
    let enabled = app.call("POST", &format!("{path}/enable"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(enabled.body["state"], "draft");
    assert_eq!(app.call("DELETE", &path, Some(OPERATOR_TOKEN), None).await.status, 204);
    assert_eq!(app.call("GET", &path, Some(OPERATOR_TOKEN), None).await.body["code"], "integration-not-found");
    let audit = app.call("GET", &format!("/v1/orgs/{org}/audit?target={id}"), Some(OPERATOR_TOKEN), None).await;
    let actions: Vec<&str> =
        audit.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "integration.delete",
            "integration.enable",
            "integration.disable",
            "integration.update",
            "integration.update",
            "integration.create"
        ]
    );
}

#[tokio::test]
async fn integrations_work_on_the_postgres_catalog() {
    let app = TestApp::postgres().await;
    let org = app.create_org("acme").await;
    let created = app
        .call(
            "POST",
            &format!("/v1/orgs/{org}/integrations"),
            Some(OPERATOR_TOKEN),
            Some(s3_access_key("prod", &["uploads"])),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let listed = app.call("GET", &format!("/v1/orgs/{org}/integrations"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(listed.body["items"][0]["id"], created.body["id"]);
}

/// Features added by `PATCH` are checked like a create's: a read-only SAS cannot take uploads either way, and
/// nothing changes when refused.
#[tokio::test]
async fn an_update_is_checked_like_a_create() {
    let (app, org) = setup().await;
    let read_only = byob_testkit::buckets::azurite_account_sas("rl", chrono::Utc::now() + chrono::Duration::days(30));
    let body = |features: Value| {
        byob_testkit::uploads::azurite_sas_integration("ro", "container", "byob", &read_only, features)
    };
    let path = format!("/v1/orgs/{org}/integrations");
    let refused = app.call("POST", &path, Some(OPERATOR_TOKEN), Some(body(json!(["imports", "uploads"])))).await;
    assert_eq!((refused.status, refused.body["rule"].as_str()), (422, Some("sas-permissions-for-features")));
    let created = app.call("POST", &path, Some(OPERATOR_TOKEN), Some(body(json!(["imports"])))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let patch = json!({ "features": ["imports", "uploads"] });
    let refused = app.call("PATCH", &format!("{path}/{id}"), Some(OPERATOR_TOKEN), Some(patch)).await;
    assert_eq!(
        (refused.status, refused.body["rule"].as_str()),
        (422, Some("sas-permissions-for-features")),
        "{:?}",
        refused.body
    );
    assert_eq!(refused.body["field"], "features");
    let kept = app.call("GET", &format!("{path}/{id}"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(kept.body["features"], json!(["imports"]), "{:?}", kept.body);
}
