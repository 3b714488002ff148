//! Setup artifacts: the right content per provider and credential mode, valid JSON, Terraform that parses (hcl-rs),
//! a shell script that parses (`sh -n`), quoting that survives odd-but-valid values, and never a secret.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    app::{BYOB_AWS_PRINCIPAL, OPERATOR_TOKEN},
};
use serde_json::{Value, json};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

async fn create(app: &TestApp, org: &str, body: Value) -> String {
    let reply = app.call("POST", &format!("/v1/orgs/{org}/integrations"), Some(OPERATOR_TOKEN), Some(body)).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.id()
}

async fn setup(app: &TestApp, org: &str, id: &str, format: &str) -> Value {
    let reply = app
        .call("GET", &format!("/v1/orgs/{org}/integrations/{id}/setup?format={format}"), Some(OPERATOR_TOKEN), None)
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body
}

fn artifact<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {doc}"))
}

/// Parses the Terraform with hcl-rs and returns the `resource` blocks' type labels.
fn terraform_resources(text: &str) -> Vec<String> {
    let body = hcl::parse(text).unwrap_or_else(|e| panic!("Terraform does not parse: {e}\n{text}"));
    body.blocks().filter(|b| b.identifier() == "resource").map(|b| b.labels()[0].as_str().to_string()).collect()
}

fn shell_parses(script: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("setup.sh");
    std::fs::write(&path, script).unwrap();
    let out = std::process::Command::new("sh").arg("-n").arg(&path).output().unwrap();
    assert!(out.status.success(), "{}\n{script}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn s3_assume_role_artifacts() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let id = create(
        &app,
        &org,
        json!({
            "name": "prod", "provider": "s3", "bucket": "acme-data", "prefix": "byob/o'brien", "region": "eu-central-1",
            "credentials": { "mode": "s3_assume_role", "role_arn": "arn:aws:iam::123456789012:role/team/byob-access" },
            "kms_key": "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "allowed_origins": ["https://app.acme.example"], "staging_ttl_hours": 36,
            "features": ["uploads", "exports", "imports", "assets"],
        }),
    )
    .await;
    let integration =
        app.call("GET", &format!("/v1/orgs/{org}/integrations/{id}"), Some(OPERATOR_TOKEN), None).await.body;
    let external_id = integration["credentials"]["external_id"].as_str().unwrap();
    let doc = setup(&app, &org, &id, "json").await;
    assert_eq!(doc["byob_identity"]["aws_principal_arn"], BYOB_AWS_PRINCIPAL);

    let policy = &artifact(&doc, "iam-policy")["content"];
    let statements = policy["Statement"].as_array().unwrap();
    let objects = statements.iter().find(|s| s["Sid"] == "ByobObjects").unwrap();
    assert_eq!(objects["Resource"], "arn:aws:s3:::acme-data/byob/o'brien/*");
    let actions: Vec<&str> = objects["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    for needed in ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObjectVersion"] {
        assert!(actions.contains(&needed), "{needed} missing from {actions:?}");
    }
    assert!(!actions.iter().any(|a| a.contains('*')), "no wildcard actions");
    // byob never tags objects and verification checks no tags: the policy asks for no tagging (issue 15, item 4).
    assert!(!policy.to_string().contains("Tagging"), "{policy}");
    let list = statements.iter().find(|s| s["Sid"] == "ByobListPrefix").unwrap();
    assert_eq!(list["Condition"]["StringLike"]["s3:prefix"], json!(["byob/o'brien/", "byob/o'brien/*"]));
    assert!(statements.iter().any(|s| s["Sid"] == "ByobKmsKey"));

    let trust = &artifact(&doc, "trust-policy")["content"]["Statement"][0];
    assert_eq!(trust["Principal"]["AWS"], BYOB_AWS_PRINCIPAL);
    assert_eq!(trust["Condition"]["StringEquals"]["sts:ExternalId"], external_id);

    let cors = &artifact(&doc, "cors")["content"]["CORSRules"][0];
    assert_eq!(cors["AllowedOrigins"], json!(["https://app.acme.example"]));
    assert_eq!(cors["ExposeHeaders"], json!(["ETag"]));
    let rules = artifact(&doc, "lifecycle")["content"]["Rules"].as_array().unwrap().clone();
    assert_eq!(rules[0]["Filter"]["Prefix"], "byob/o'brien/uploads/");
    assert_eq!(rules[0]["Expiration"]["Days"], 2, "36 hours round up to 2 days");
    assert_eq!(rules[2]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"], 1);
    assert!(
        artifact(&doc, "kms-key-policy-statement")["content"]["Principal"]["AWS"]
            .as_str()
            .unwrap()
            .ends_with("role/team/byob-access")
    );
    assert_eq!(
        artifact(&doc, "ip-allowlist-condition")["content"]["IpAddress"]["aws:SourceIp"],
        json!(["203.0.113.0/24"])
    );
    let snowflake = artifact(&doc, "snowflake-stage")["content"].as_str().unwrap();
    assert!(
        snowflake.contains("STORAGE_AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/team/byob-access'"),
        "{snowflake}"
    );
    assert!(snowflake.contains("URL = 's3://acme-data/byob/o''brien/'"), "quotes are doubled: {snowflake}");
    assert!(
        artifact(&doc, "databricks-external-location")["content"]
            .as_str()
            .unwrap()
            .contains("URL 's3://acme-data/byob/o''brien/'")
    );

    let terraform = setup(&app, &org, &id, "terraform").await;
    let resources = terraform_resources(terraform.as_str().unwrap());
    for expected in [
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_s3_bucket_cors_configuration",
        "aws_s3_bucket_lifecycle_configuration",
    ] {
        assert!(resources.iter().any(|r| r == expected), "{expected} missing from {resources:?}");
    }
    let script = setup(&app, &org, &id, "cli").await;
    let script = script.as_str().unwrap();
    shell_parses(script);
    assert!(script.contains("aws iam create-role --role-name byob-access --path /team/"), "{script}");
    assert!(script.contains("cat > trust-policy.json <<'BYOB_ARTIFACT_EOF'"));
}

#[tokio::test]
async fn no_format_ever_contains_a_secret() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let id = create(&app, &org, json!({
        "name": "keys", "provider": "s3", "bucket": "acme-data", "region": "us-east-1", "features": ["exports"],
        "credentials": { "mode": "s3_access_key", "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": SECRET },
    }))
    .await;
    for format in ["json", "terraform", "cli"] {
        let out = setup(&app, &org, &id, format).await.to_string();
        assert!(!out.contains(SECRET), "{format} holds the secret");
    }
    let doc = setup(&app, &org, &id, "json").await;
    assert!(
        doc["artifacts"].as_array().unwrap().iter().all(|a| a["name"] != "trust-policy"),
        "no trust policy for keys"
    );
    let resources = terraform_resources(setup(&app, &org, &id, "terraform").await.as_str().unwrap());
    assert!(resources.contains(&"aws_iam_policy".to_string()), "{resources:?}");
    assert!(!resources.contains(&"aws_s3_bucket_cors_configuration".to_string()), "no origins, no CORS");
}

#[tokio::test]
async fn gcs_and_azure_artifacts_parse() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let gcs = create(&app, &org, json!({
        "name": "gcs", "provider": "gcs", "bucket": "acme-data", "prefix": "byob", "features": ["exports"],
        "allowed_origins": ["https://app.acme.example"],
        "credentials": { "mode": "gcs_impersonation", "service_account": "byob-access@acme.iam.gserviceaccount.com" },
    }))
    .await;
    let doc = setup(&app, &org, &gcs, "json").await;
    let bindings = &artifact(&doc, "iam-bindings")["content"]["bindings"];
    assert!(bindings[0]["condition"]["expression"].as_str().unwrap().contains("buckets/acme-data/objects/byob/"));
    assert_eq!(bindings[1]["role"], "roles/iam.serviceAccountTokenCreator");
    // The org's own byob identity, never the platform's (the confused deputy).
    assert_eq!(bindings[1]["members"][0], "serviceAccount:byob-org-1@byob-platform.iam.gserviceaccount.com");
    assert_eq!(
        bindings[1]["members"][1], "serviceAccount:byob-access@acme.iam.gserviceaccount.com",
        "it signs for itself"
    );
    assert_eq!(
        artifact(&doc, "cors")["content"][0]["responseHeader"],
        json!(["Content-Type", "ETag", "x-goog-resumable"])
    );
    assert!(artifact(&doc, "snowflake-stage")["content"].as_str().unwrap().contains("'gcs://acme-data/byob/'"));
    let resources = terraform_resources(setup(&app, &org, &gcs, "terraform").await.as_str().unwrap());
    assert_eq!(
        resources,
        ["google_storage_bucket_iam_member", "google_service_account_iam_member", "google_service_account_iam_member"]
    );
    shell_parses(setup(&app, &org, &gcs, "cli").await.as_str().unwrap());

    let azure = create(&app, &org, json!({
        "name": "azure", "provider": "azure", "bucket": "exports", "prefix": "byob", "features": ["uploads"],
        "allowed_origins": ["https://app.acme.example"],
        "credentials": {
            "mode": "azure_service_principal", "account": "acmedata", "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "client_id": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "client_secret": SECRET
        },
    }))
    .await;
    let doc = setup(&app, &org, &azure, "json").await;
    assert_eq!(artifact(&doc, "cors")["content"]["corsRules"][0]["exposedHeaders"], json!(["ETag"]));
    let role = &artifact(&doc, "custom-role")["content"];
    assert!(!role.to_string().contains("/tags/"), "no tag permissions: {role}");
    // Verification reads the blob service's CORS rules with the role.
    assert!(
        role["Actions"].as_array().unwrap().contains(&json!("Microsoft.Storage/storageAccounts/blobServices/read"))
    );
    assert!(
        role["AssignableScopes"][0]
            .as_str()
            .unwrap()
            .ends_with("storageAccounts/acmedata/blobServices/default/containers/exports")
    );
    assert!(
        artifact(&doc, "snowflake-stage")["content"]
            .as_str()
            .unwrap()
            .contains("AZURE_TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47'")
    );
    assert!(
        artifact(&doc, "databricks-external-location")["content"]
            .as_str()
            .unwrap()
            .contains("abfss://exports@acmedata.dfs.core.windows.net/byob/")
    );
    let terraform = setup(&app, &org, &azure, "terraform").await;
    let resources = terraform_resources(terraform.as_str().unwrap());
    assert_eq!(resources, ["azurerm_storage_management_policy", "azurerm_role_definition", "azurerm_role_assignment"]);
    for format in ["json", "terraform", "cli"] {
        assert!(!setup(&app, &org, &azure, format).await.to_string().contains(SECRET));
    }
    shell_parses(setup(&app, &org, &azure, "cli").await.as_str().unwrap());
}

#[tokio::test]
async fn only_admins_read_setup_and_the_format_is_checked() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let id = create(
        &app,
        &org,
        json!({
            "name": "x", "provider": "s3", "bucket": "acme-data", "region": "us-east-1",
            "credentials": { "mode": "s3_assume_role", "role_arn": "arn:aws:iam::123456789012:role/byob" },
        }),
    )
    .await;
    let path = format!("/v1/orgs/{org}/integrations/{id}/setup");
    assert_eq!(app.call("GET", &path, Some(&member), None).await.status, 403);
    let bad = app.call("GET", &format!("{path}?format=yaml"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!((bad.status, bad.body["code"].clone()), (400, json!("invalid-query")));
}
