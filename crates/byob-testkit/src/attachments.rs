//! Attachments as a client uses them, for the tests: an org with an integration serving attachments, the plan
//! followed by a plain HTTP client, completion, downloads through the redirect.

use std::io::Cursor;

use byob_core::Role;
use serde_json::{Value, json};

use crate::{
    TestApp,
    app::Reply,
    buckets::{create_azure_container, create_gcs_bucket, create_s3_bucket, s3_admin, unique_name},
    integrations::{Access, integration_body},
    server_env,
    uploads::create_integration,
};

/// The EICAR test file: every scanner's "infected".
pub const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// An org, a member's and an admin's token, and the bucket of its attachments integration.
pub struct Org {
    pub id: String,
    pub member: String,
    pub admin: String,
    pub bucket: String,
}

/// An org `acme` with a member and an admin, and an integration serving attachments on a fresh bucket of `access`.
pub async fn org_on(app: &TestApp, access: Access) -> Org {
    let id = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&id, Role::Member).await;
    let (_, admin) = app.member_with_token(&id, Role::Admin).await;
    let bucket = unique_name("att");
    match access {
        Access::Moto => create_s3_bucket(&bucket).await,
        Access::Azurite => create_azure_container(&bucket).await,
        Access::FakeGcs => create_gcs_bucket(&bucket).await,
        Access::S3sFs => {
            std::fs::create_dir_all(std::path::Path::new(&server_env("BYOB_TEST_S3S_DIR")).join(&bucket)).unwrap();
        }
        Access::Memory => {}
    }
    create_integration(app, &id, integration_body(access, "customer", &bucket, "byob", &["attachments"])).await;
    Org { id, member, admin, bucket }
}

/// A PNG of `width` × `height` pixels.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut out = Vec::new();
    image.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    out
}

/// Starts an attachment in `orders`/`42`/`invoice` as the member.
pub async fn create(app: &TestApp, org: &Org, name: &str, content_type: &str, size: usize) -> Reply {
    let body = json!({
        "collection": "orders", "record": "42", "field": "invoice",
        "filename": name, "size": size, "content_type": content_type,
    });
    app.call("POST", &format!("/v1/orgs/{}/attachments", org.id), Some(&org.member), Some(body)).await
}

/// Sends the bytes as the plan says, with nothing but a plain HTTP client.
pub async fn send(plan: &Value, bytes: &[u8]) -> Value {
    crate::uploads::send_parts(plan, bytes).await
}

/// Creates, sends and completes; returns the completion's reply.
pub async fn attach(app: &TestApp, org: &Org, name: &str, content_type: &str, bytes: &[u8]) -> Reply {
    let plan = create(app, org, name, content_type, bytes.len()).await;
    assert_eq!(plan.status, 201, "{:?}", plan.body);
    let parts = send(&plan.body, bytes).await;
    let id = plan.body["attachment"]["id"].as_str().unwrap();
    app.call("POST", &format!("/v1/orgs/{}/attachments/{id}/complete", org.id), Some(&org.member), Some(parts)).await
}

/// The attachment, as the member sees it.
pub async fn get(app: &TestApp, org: &Org, id: &Value) -> Reply {
    app.call("GET", &format!("/v1/orgs/{}/attachments/{}", org.id, id.as_str().unwrap()), Some(&org.member), None).await
}

/// Follows `…/{what}` (`download` or `thumbnail`): byob's 302, then the storage's answer.
pub async fn download(app: &TestApp, org: &Org, id: &str, what: &str) -> reqwest::Response {
    let reply = app.call("GET", &format!("/v1/orgs/{}/attachments/{id}/{what}", org.id), Some(&org.member), None).await;
    assert_eq!(reply.status, 302, "{:?}", reply.body);
    assert_eq!(reply.headers["cache-control"], "no-store");
    let location = reply.headers["location"].to_str().unwrap();
    reqwest::get(location).await.unwrap()
}

/// The query parameters of the URL a response came from.
pub fn query_of(response: &reqwest::Response) -> std::collections::HashMap<String, String> {
    response.url().query_pairs().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Whether the object is in the moto bucket (as its owner sees it).
pub async fn object_exists(bucket: &str, key: &str) -> bool {
    s3_admin(&server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1")
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}
