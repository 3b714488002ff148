//! The in-memory test provider (`providers/memory.rs`, compiled with the `memory-provider` feature the test kit
//! turns on), added as one module behind the provider seam: the storage behaviour suite passes on the client the
//! router builds for its integration, and an upload, a load and an export run on it through the API as on any
//! store (its uploads are relayed: it has no URLs to hand out).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::{OrgId, Role, integration::Feature};
use byob_ports::storage::{Capability, PartRules};
use byob_service::{Principal, RequestContext};
use byob_testkit::{
    TestApp,
    exports::export,
    integrations::{Access, integration_body},
    storage_behaviour::{Backend, PREFIX, run},
    uploads::{create_integration, load, upload_bytes},
};
use object_store::ObjectStoreExt;
use serde_json::json;

fn operator() -> RequestContext {
    RequestContext::new(Principal::Operator, None)
}

/// No URLs, no bucket settings, no multipart ids, nothing to list as unfinished.
const MEMORY: Capability = Capability {
    presign: false,
    parts: PartRules { sequential: false, content_range: false, align: 1 },
    paged_listing: false,
    inspect: false,
    resumable_writes: false,
    list_unfinished: false,
};

#[tokio::test]
async fn the_storage_behaviour_suite_on_the_routed_client() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    create_integration(&app, &org, integration_body(Access::Memory, "memory", "behave", PREFIX, &["exports"])).await;
    let org: OrgId = org.parse().unwrap();
    let routed = app.services.storage.for_feature(&operator(), org, Feature::Exports).await.unwrap();
    let backend = Backend {
        name: "memory",
        client: routed.client,
        declared: MEMORY,
        presigned_put: false,
        http: reqwest::Client::new(),
        response_headers: false,
        checks_signatures: false,
        deletes: true,
    };
    run(&backend).await;
}

#[tokio::test]
async fn an_upload_a_load_and_an_export_through_the_api() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let body = integration_body(Access::Memory, "memory", "data", "byob", &["uploads", "exports"]);
    create_integration(&app, &org, body).await;

    let csv = b"id,name\n1,ada\n2,grace\n3,edsger\n";
    let upload = upload_bytes(&app, &org, &member, "people.csv", csv).await;
    let job = load(&app, &org, &member, &upload, json!({ "connection": "local", "table": "people" })).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["rows_loaded"], 3);

    let body = json!({ "connection": "local", "table": "people", "format": "csv" });
    let (_, finished) = export(&app, &org, &member, body).await;
    assert_eq!(finished["state"], "succeeded", "{finished}");
    assert_eq!(finished["rows"], 3);
    let routed = app.services.storage.for_feature(&operator(), org.parse().unwrap(), Feature::Exports).await.unwrap();
    let mut exported = Vec::new();
    for file in finished["files"].as_array().unwrap() {
        let key = routed.client.existing_key(file["key"].as_str().unwrap()).unwrap();
        exported.extend(routed.client.store().get(&key).await.unwrap().bytes().await.unwrap());
    }
    let text = String::from_utf8(exported).unwrap();
    for name in ["ada", "grace", "edsger"] {
        assert!(text.contains(name), "the export in the in-memory bucket holds `{name}`: {text}");
    }
}
