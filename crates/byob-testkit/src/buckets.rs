//! Creating buckets and containers on the emulators, for test setup. byob itself never creates a customer's
//! bucket; these helpers exist only because the emulators start empty.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::server_env;

/// Azurite's published development account (`devstoreaccount1`); not a secret.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A bucket name no other test uses.
#[must_use]
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_ascii_lowercase())
}

/// Creates an S3 bucket on moto (which accepts unsigned requests outside its auth mode).
pub async fn create_s3_bucket(name: &str) {
    let endpoint = server_env("BYOB_TEST_S3_ENDPOINT");
    let response = reqwest::Client::new().put(format!("{endpoint}/{name}")).send().await.expect("moto answers");
    assert!(response.status().is_success(), "create bucket {name}: {}", response.status());
}

/// Creates a GCS bucket on fake-gcs-server.
pub async fn create_gcs_bucket(name: &str) {
    create_gcs_bucket_at(&server_env("BYOB_TEST_GCS_ENDPOINT"), name).await;
}

/// Creates a GCS bucket through the JSON API of the emulator at `endpoint`.
pub async fn create_gcs_bucket_at(endpoint: &str, name: &str) {
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/storage/v1/b?project=byob-test"))
        .json(&serde_json::json!({ "name": name }))
        .send()
        .await
        .expect("fake-gcs-server answers");
    assert!(response.status().is_success(), "create bucket {name}: {}", response.status());
}

/// Uploads an object through the GCS JSON API (`uploadType=media`). fake-gcs-server 1.54 does not implement
/// the XML API's object PUT, which is what `object_store`'s GCS client sends (reads and lists work).
pub async fn gcs_upload(bucket: &str, key: &str, bytes: &'static [u8]) {
    let endpoint = server_env("BYOB_TEST_GCS_ENDPOINT");
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/upload/storage/v1/b/{bucket}/o"))
        .query(&[("uploadType", "media"), ("name", key)])
        .body(bytes)
        .send()
        .await
        .expect("fake-gcs-server answers");
    assert!(response.status().is_success(), "upload {key}: {}", response.status());
}

/// Creates a container on Azurite with a SharedKey-signed `Create Container` request.
///
/// The string to sign follows Microsoft's "Authorize with Shared Key" (version 2015-02-21 and later): twelve
/// standard headers (all empty here), the canonical `x-ms-*` headers, then the canonical resource, which for
/// path-style emulator URLs names the account twice.
pub async fn create_azure_container(name: &str) {
    create_azure_container_at(&reqwest::Client::new(), &server_env("BYOB_TEST_AZURE_ENDPOINT"), name).await;
}

/// [`create_azure_container`] on a given Azurite (e.g. one serving https), through a given client.
pub async fn create_azure_container_at(http: &reqwest::Client, endpoint: &str, name: &str) {
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let version = "2021-08-06";
    let string_to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{name}\nrestype:container"
    );
    let key = STANDARD.decode(AZURITE_KEY).expect("published key is base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(string_to_sign.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    let response = http
        .put(format!("{endpoint}/{name}?restype=container"))
        .header("x-ms-date", date)
        .header("x-ms-version", version)
        .header("content-length", "0")
        .header("authorization", format!("SharedKey {AZURITE_ACCOUNT}:{signature}"))
        .send()
        .await
        .expect("Azurite answers");
    let status = response.status();
    assert!(status.is_success(), "create container {name}: {status} {}", response.text().await.unwrap_or_default());
}

/// An account SAS for Azurite's development account, as a customer would generate it: Blob service, all
/// resource types, the given permissions, valid from an hour ago until `expiry`. String to sign per
/// "Create an account SAS" (versions 2020-12-06 and later include the encryption scope line).
#[must_use]
pub fn azurite_account_sas(permissions: &str, expiry: chrono::DateTime<chrono::Utc>) -> String {
    let version = "2021-08-06";
    let start = (chrono::Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let expiry = expiry.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let string_to_sign =
        format!("{AZURITE_ACCOUNT}\n{permissions}\nb\nsco\n{start}\n{expiry}\n\nhttps,http\n{version}\n\n");
    let key = STANDARD.decode(AZURITE_KEY).expect("published key is base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(string_to_sign.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("sv", version)
        .append_pair("ss", "b")
        .append_pair("srt", "sco")
        .append_pair("sp", permissions)
        .append_pair("st", &start)
        .append_pair("se", &expiry)
        .append_pair("spr", "https,http")
        .append_pair("sig", &signature)
        .finish()
}
