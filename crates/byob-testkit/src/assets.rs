//! Assets as the tests use them: an org whose integration serves assets on a fresh bucket of any emulator,
//! writes and reads through the in-process app, and changes made behind byob's back with the emulator's own
//! administrator access.

use std::sync::Arc;

use axum::body::Body;
use byob_core::Role;
use http_body_util::BodyExt;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, azure::MicrosoftAzureBuilder, path::Path};
use serde_json::Value;
use tower::ServiceExt;

use crate::{
    TestApp,
    app::Reply,
    buckets::{
        AZURITE_ACCOUNT, AZURITE_KEY, create_azure_container, create_gcs_bucket, create_s3_bucket, s3_admin,
        unique_name,
    },
    integrations::{Access, integration_body},
    server_env,
    uploads::create_integration,
};

/// An org, a member's and an admin's token, and the bucket and prefix its assets go to.
pub struct AssetOrg {
    pub id: String,
    pub member: String,
    pub admin: String,
    pub access: Access,
    pub bucket: String,
    pub prefix: String,
}

/// Makes the bucket of `access` named `bucket`.
pub async fn make_bucket(access: Access, bucket: &str) {
    match access {
        Access::Moto => create_s3_bucket(bucket).await,
        Access::Azurite => create_azure_container(bucket).await,
        Access::FakeGcs => create_gcs_bucket(bucket).await,
        Access::S3sFs => {
            std::fs::create_dir_all(std::path::Path::new(&server_env("BYOB_TEST_S3S_DIR")).join(bucket)).unwrap_or(());
        }
        Access::Memory => {}
    }
}

/// An org whose integration serves assets on `bucket` (made when `None`) under `prefix`.
pub async fn asset_org(app: &TestApp, access: Access, bucket: Option<&str>) -> AssetOrg {
    let id = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&id, Role::Member).await;
    let (_, admin) = app.member_with_token(&id, Role::Admin).await;
    let bucket = match bucket {
        Some(b) => b.to_string(),
        None => {
            let b = unique_name("ast");
            make_bucket(access, &b).await;
            b
        }
    };
    let prefix = "projects".to_string();
    create_integration(app, &id, integration_body(access, "customer", &bucket, &prefix, &["assets"])).await;
    AssetOrg { id, member, admin, access, bucket, prefix }
}

/// The asset's URL path (its name with `/` sent as `%2F`).
#[must_use]
pub fn asset_path(org: &AssetOrg, name: &str) -> String {
    format!("/v1/orgs/{}/assets/{}", org.id, name.replace('/', "%2F"))
}

/// Writes an asset with extra headers.
pub async fn put_asset(app: &TestApp, org: &AssetOrg, name: &str, bytes: &[u8], headers: &[(&str, &str)]) -> Reply {
    let mut request = axum::http::Request::builder()
        .method("PUT")
        .uri(asset_path(org, name))
        .header("authorization", format!("Bearer {}", org.member))
        .header("content-type", "application/octet-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request.body(Body::from(bytes.to_vec())).expect("request")).await
}

/// Reads an asset: the status, the headers, and the body or the error that ended it.
pub async fn read_asset(
    app: &TestApp,
    org: &AssetOrg,
    name: &str,
    version: Option<u64>,
) -> (u16, axum::http::HeaderMap, Result<Vec<u8>, String>) {
    let query = version.map(|v| format!("?version={v}")).unwrap_or_default();
    let request = axum::http::Request::builder()
        .method("GET")
        .uri(format!("{}{query}", asset_path(org, name)))
        .header("authorization", format!("Bearer {}", org.member))
        .body(Body::empty())
        .expect("request");
    let response = app.router.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.map(|b| b.to_bytes().to_vec()).map_err(|e| e.to_string());
    (status, headers, body)
}

/// Runs every queued job.
pub async fn run_jobs(app: &TestApp) {
    while app.services.runner.run_one().await.expect("runner").is_some() {}
}

/// Queues a store check, runs it, and returns its report.
pub async fn verify(app: &TestApp, org: &AssetOrg) -> Value {
    let queued = app.call("POST", &format!("/v1/orgs/{}/assets/verify", org.id), Some(&org.member), None).await;
    assert_eq!(queued.status, 202, "{:?}", queued.body);
    run_jobs(app).await;
    let job = app.call("GET", &format!("/v1/orgs/{}/jobs/{}", org.id, queued.id()), Some(&org.member), None).await;
    assert_eq!(job.body["state"], "succeeded", "{:?}", job.body);
    job.body["result"].clone()
}

/// The emulator's own administrator access to the whole bucket, as the customer has it.
fn admin_store(access: Access, bucket: &str) -> Option<Arc<dyn ObjectStore>> {
    match access {
        Access::Azurite => {
            let store = MicrosoftAzureBuilder::new()
                .with_account(AZURITE_ACCOUNT)
                .with_access_key(AZURITE_KEY)
                .with_container_name(bucket)
                .with_endpoint(server_env("BYOB_TEST_AZURE_ENDPOINT"))
                .with_allow_http(true)
                .build()
                .expect("azurite store");
            Some(Arc::new(store))
        }
        _ => None,
    }
}

/// Writes (or, with `None`, deletes) an object of the org's bucket directly, as someone with the bucket's own
/// credentials could: byob is not involved.
pub async fn behind_byobs_back(org: &AssetOrg, relative_key: &str, bytes: Option<Vec<u8>>) {
    let key = format!("{}/{relative_key}", org.prefix);
    match org.access {
        Access::Moto => {
            let s3 = s3_admin(&server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1");
            match bytes {
                Some(bytes) => {
                    s3.put_object().bucket(&org.bucket).key(&key).body(bytes.into()).send().await.expect("put");
                }
                None => {
                    s3.delete_object().bucket(&org.bucket).key(&key).send().await.expect("delete");
                }
            }
        }
        Access::FakeGcs => {
            let endpoint = server_env("BYOB_TEST_GCS_ENDPOINT");
            let http = reqwest::Client::new();
            let response = match bytes {
                Some(bytes) => {
                    http.post(format!("{endpoint}/upload/storage/v1/b/{}/o", org.bucket))
                        .query(&[("uploadType", "media"), ("name", key.as_str())])
                        .body(bytes)
                        .send()
                        .await
                }
                None => {
                    let encoded: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
                    http.delete(format!("{endpoint}/storage/v1/b/{}/o/{encoded}", org.bucket)).send().await
                }
            };
            assert!(response.expect("fake-gcs-server answers").status().is_success());
        }
        access => {
            let store = admin_store(access, &org.bucket).expect("an administrator store for this emulator");
            let path = Path::from(key);
            match bytes {
                Some(bytes) => {
                    store.put(&path, PutPayload::from(bytes)).await.expect("put");
                }
                None => store.delete(&path).await.expect("delete"),
            }
        }
    }
}

/// Reads an object of the org's bucket directly.
pub async fn read_directly(org: &AssetOrg, relative_key: &str) -> Vec<u8> {
    let key = format!("{}/{relative_key}", org.prefix);
    match org.access {
        Access::Moto => {
            let s3 = s3_admin(&server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1");
            let got = s3.get_object().bucket(&org.bucket).key(&key).send().await.expect("get");
            got.body.collect().await.expect("body").into_bytes().to_vec()
        }
        Access::FakeGcs => {
            let endpoint = server_env("BYOB_TEST_GCS_ENDPOINT");
            let encoded: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
            let response = reqwest::Client::new()
                .get(format!("{endpoint}/storage/v1/b/{}/o/{encoded}", org.bucket))
                .query(&[("alt", "media")])
                .send()
                .await
                .expect("fake-gcs-server answers");
            response.bytes().await.expect("body").to_vec()
        }
        access => {
            let store = admin_store(access, &org.bucket).expect("an administrator store for this emulator");
            store.get(&Path::from(key)).await.expect("get").bytes().await.expect("body").to_vec()
        }
    }
}
