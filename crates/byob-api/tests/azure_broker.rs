//! Azure without customer secrets: each org has its own byob application, which the customer's admin consents
//! to in their tenant (seed 000's broker application). byob asks Entra ID for tokens as that org's application
//! only — never another org's, never a shared one — so org A naming org B's storage account and tenant gets a
//! token for an application org B's tenant never consented to. Against Azurite and an Entra ID token stand-in
//! that records who asked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use byob_core::Role;
use byob_testkit::{
    TestApp,
    app::TestOptions,
    buckets::{AZURITE_ACCOUNT, create_azure_container, unique_name},
    server_env,
};
use serde_json::{Value, json};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

type Requests = Arc<Mutex<Vec<(String, String, String)>>>;

/// Records (tenant, client_id, client_secret) of every token request and answers with a token.
async fn entra() -> (String, Requests) {
    let requests = Requests::default();
    let seen = requests.clone();
    let app = axum::Router::new().route(
        "/{tenant}/oauth2/v2.0/token",
        axum::routing::post(
            move |axum::extract::Path(tenant): axum::extract::Path<String>,
                  axum::Form(form): axum::Form<std::collections::HashMap<String, String>>| {
                let seen = seen.clone();
                async move {
                    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
                    seen.lock().unwrap().push((tenant, field("client_id"), field("client_secret")));
                    axum::Json(json!({ "token_type": "Bearer", "expires_in": 3600, "access_token": "eyJ.entra.token" }))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), requests)
}

fn broker(container: &str) -> Value {
    json!({
        "name": "blob", "provider": "azure", "bucket": container, "prefix": "byob",
        "endpoint": server_env("BYOB_TEST_AZURE_ENDPOINT"), "features": ["exports"],
        "credentials": { "mode": "azure_broker", "account": AZURITE_ACCOUNT, "tenant_id": TENANT },
    })
}

#[tokio::test]
async fn each_org_asks_for_tokens_as_its_own_application_only() {
    let (authority, requests) = entra().await;
    let app =
        TestApp::sqlite_with(TestOptions { azure_authority_host: Some(authority), ..TestOptions::default() }).await;
    let container = unique_name("broker");
    create_azure_container(&container).await;
    let mut apps = Vec::new();
    for name in ["a", "b"] {
        let org = app.create_org(name).await;
        let (_, admin) = app.member_with_token(&org, Role::Admin).await;
        // Org b names the same account, container and tenant as org a: it still asks as its own application.
        let created =
            app.call("POST", &format!("/v1/orgs/{org}/integrations"), Some(&admin), Some(broker(&container))).await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        assert!(!created.body.to_string().contains("secret"), "no secret is asked for or shown: {}", created.body);
        let id = created.body["id"].as_str().unwrap().to_string();
        let setup = app.call("GET", &format!("/v1/orgs/{org}/integrations/{id}/setup"), Some(&admin), None).await.body;
        let consent = setup["artifacts"].as_array().unwrap().iter().find(|a| a["name"] == "admin-consent").unwrap();
        let url = consent["content"].as_str().unwrap().to_string();
        assert!(
            url.starts_with(&format!("https://login.microsoftonline.com/{TENANT}/adminconsent?client_id=")),
            "{url}"
        );
        let client_id = url.rsplit('=').next().unwrap().to_string();
        assert_eq!(setup["byob_identity"]["azure_broker_app"], client_id.as_str());
        let before = requests.lock().unwrap().len();
        app.call("POST", &format!("/v1/orgs/{org}/integrations/{id}/verify"), Some(&admin), None).await;
        let asked: Vec<_> = requests.lock().unwrap()[before..].to_vec();
        assert!(!asked.is_empty(), "byob asked Entra ID for a token");
        for (tenant, client, secret) in &asked {
            assert_eq!((tenant.as_str(), client.as_str()), (TENANT, client_id.as_str()), "as this org's application");
            assert!(secret.starts_with("broker-secret-"), "with byob's own secret for it");
        }
        let audit = app.call("GET", &format!("/v1/orgs/{org}/audit?limit=200"), Some(&admin), None).await.body;
        assert!(!audit.to_string().contains("broker-secret"), "{audit}");
        apps.push(client_id);
    }
    assert_ne!(apps[0], apps[1], "each org has its own application");
}
