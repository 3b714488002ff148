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
    let signature = azurite_signature(&string_to_sign);
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
    let (start, expiry) = sas_window(expiry);
    let string_to_sign =
        format!("{AZURITE_ACCOUNT}\n{permissions}\nb\nsco\n{start}\n{expiry}\n\nhttps,http\n{SAS_VERSION}\n\n");
    sas_query(&[("ss", "b"), ("srt", "sco"), ("sp", permissions), ("st", &start), ("se", &expiry)], &string_to_sign)
}

/// The version the test kit's SAS are signed for.
const SAS_VERSION: &str = "2021-08-06";

/// From an hour ago until `expiry`, as a SAS writes times.
fn sas_window(expiry: chrono::DateTime<chrono::Utc>) -> (String, String) {
    let format = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    (format(chrono::Utc::now() - chrono::Duration::hours(1)), format(expiry))
}

/// A SAS query: the version, `fields`, http and https, and the signature of `string_to_sign`.
fn sas_query(fields: &[(&str, &str)], string_to_sign: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("sv", SAS_VERSION);
    for (name, value) in fields {
        query.append_pair(name, value);
    }
    query.append_pair("spr", "https,http").append_pair("sig", &azurite_signature(string_to_sign)).finish()
}

/// A service SAS for one container of Azurite's development account (`sr=c`), as a customer would give byob
/// access to one container only: the given permissions, valid from an hour ago until `expiry`. String to sign
/// per "Create a service SAS", version 2020-12-06 and later.
#[must_use]
pub fn azurite_container_sas(container: &str, permissions: &str, expiry: chrono::DateTime<chrono::Utc>) -> String {
    let (start, expiry) = sas_window(expiry);
    let resource = format!("/blob/{AZURITE_ACCOUNT}/{container}");
    let string_to_sign =
        format!("{permissions}\n{start}\n{expiry}\n{resource}\n\n\nhttps,http\n{SAS_VERSION}\nc\n\n\n\n\n\n\n");
    sas_query(&[("sr", "c"), ("sp", permissions), ("st", &start), ("se", &expiry)], &string_to_sign)
}

/// An aws-sdk-s3 client for moto, as a customer's administrator would use to set bucket settings (CORS,
/// versioning, lifecycle…); moto outside its auth mode accepts any key.
#[must_use]
/// byob's S3 client for `bucket` at `endpoint` with a static key, under the prefix `tenants/acme`.
pub fn s3_storage_client(
    endpoint: String,
    bucket: &str,
    key: &str,
    secret: &str,
) -> byob_ports::storage::StorageClient {
    let settings = byob_ports::storage::s3::S3AccessKey {
        bucket: bucket.into(),
        prefix: byob_core::location::Prefix::parse("prefix", "tenants/acme").expect("a valid prefix"),
        region: "us-east-1".into(),
        endpoint: Some(endpoint),
        path_style: true,
        access_key_id: key.into(),
        secret_access_key: byob_core::Sensitive::new(secret.into()),
        kms_key: None,
    };
    byob_ports::storage::s3::connect(settings, byob_ports::storage::ClientPolicy::default(), &crate::loopback_network())
        .expect("an S3 client")
}

pub fn s3_admin(endpoint: &str, region: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(region.to_string()))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("admin", "admin", None, None, "test"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Creates a KMS key on moto and returns its ARN.
pub async fn create_kms_key(endpoint: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/"))
        .header("x-amz-target", "TrentService.CreateKey")
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=admin/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body("{}")
        .send()
        .await
        .expect("moto answers");
    let body: serde_json::Value = response.json().await.expect("CreateKey answers JSON");
    body["KeyMetadata"]["Arn"].as_str().expect("a key ARN").to_string()
}

/// A throwaway service-account key file for the GCS emulators (which check neither tokens nor signatures):
/// a fresh RSA key, and `disable_oauth` (object_store's documented emulator member) so no token is requested.
#[must_use]
pub fn gcs_test_key() -> String {
    let out = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        .output()
        .expect("openssl makes a key");
    let pem = String::from_utf8(out.stdout).expect("PEM is text");
    serde_json::json!({
        "type": "service_account", "project_id": "byob-test", "private_key_id": "test",
        "private_key": pem, "client_email": "byob-test@byob-test.iam.gserviceaccount.com",
        "disable_oauth": true,
    })
    .to_string()
}

/// Sets the Azurite account's blob-service CORS rules (Set Blob Service Properties, signed with Shared Key).
/// The rules are account-wide: only one test may set them.
pub async fn set_azurite_cors(origins: &str, exposed_headers: &str) {
    let endpoint = server_env("BYOB_TEST_AZURE_ENDPOINT");
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><StorageServiceProperties><Cors><CorsRule><AllowedOrigins>{origins}</AllowedOrigins><AllowedMethods>GET,PUT,POST,HEAD</AllowedMethods><AllowedHeaders>*</AllowedHeaders><ExposedHeaders>{exposed_headers}</ExposedHeaders><MaxAgeInSeconds>3600</MaxAgeInSeconds></CorsRule></Cors></StorageServiceProperties>"
    );
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let version = "2021-08-06";
    let string_to_sign = format!(
        "PUT\n\n\n{}\n\napplication/xml\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/\ncomp:properties\nrestype:service",
        body.len()
    );
    let signature = azurite_signature(&string_to_sign);
    let response = reqwest::Client::new()
        .put(format!("{endpoint}/?restype=service&comp=properties"))
        .header("x-ms-date", date)
        .header("x-ms-version", version)
        .header("content-type", "application/xml")
        .header("authorization", format!("SharedKey {AZURITE_ACCOUNT}:{signature}"))
        .body(body)
        .send()
        .await
        .expect("Azurite answers");
    let status = response.status();
    assert!(status.is_success(), "set CORS: {status} {}", response.text().await.unwrap_or_default());
}

/// One GCS endpoint made of two emulators: bucket metadata reads (`GET /storage/v1/b/{bucket}`) go to
/// gcp-storage-emulator, which keeps CORS, lifecycle, versioning and public access prevention set by PATCH;
/// everything else goes to fake-gcs-server, which serves objects, signed URLs and resumable uploads but drops that
/// metadata. The bucket must exist on both. Returns the endpoint's URL.
pub async fn gcs_split_endpoint() -> String {
    use axum::{body::Bytes, extract::Request, http::StatusCode, response::Response};
    let objects = server_env("BYOB_TEST_GCS_ENDPOINT");
    let metadata = server_env("BYOB_TEST_GCS_XML_ENDPOINT");
    let http = reqwest::Client::new();
    let handler = move |request: Request| {
        let (objects, metadata, http) = (objects.clone(), metadata.clone(), http.clone());
        async move {
            let path = request.uri().path().to_string();
            let is_metadata = request.method() == axum::http::Method::GET
                && path.strip_prefix("/storage/v1/b/").is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
            let base = if is_metadata { metadata } else { objects };
            let mut query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
            let mut path = path;
            // An XML-API object write (object_store's PUT, a V4 signed PUT) becomes fake-gcs-server's media upload.
            let xml_write = request.method() == axum::http::Method::PUT
                && !path.starts_with("/upload/")
                && !path.starts_with("/storage/")
                && !query.contains("upload_id");
            if xml_write && let Some((bucket, key)) = path.trim_start_matches('/').split_once('/') {
                let key = url::form_urlencoded::byte_serialize(percent_decode(key).as_bytes()).collect::<String>();
                query = format!("?uploadType=media&name={key}");
                path = format!("/upload/storage/v1/b/{bucket}/o");
            }
            let method = if xml_write { axum::http::Method::POST } else { request.method().clone() };
            let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).expect("a method");
            let mut forward = http.request(method, format!("{base}{path}{query}"));
            for (name, value) in request.headers() {
                if name != "host" {
                    forward = forward.header(name.as_str(), value.as_bytes());
                }
            }
            let body: Bytes = axum::body::to_bytes(request.into_body(), usize::MAX).await.unwrap_or_default();
            let Ok(answer) = forward.body(body).send().await else {
                return Response::builder()
                    .status(StatusCode::BAD_GATEWAY)
                    .body(axum::body::Body::empty())
                    .expect("a response");
            };
            let mut response = Response::builder().status(answer.status().as_u16());
            for (name, value) in answer.headers() {
                if name != "transfer-encoding" && !(xml_write && name == "content-length") {
                    response = response.header(name.as_str(), value.as_bytes());
                }
            }
            let bytes = answer.bytes().await.unwrap_or_default();
            if xml_write {
                // The XML API names the new object's version in headers; the JSON API in the body.
                let object: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
                if let Some(etag) = object["etag"].as_str().or(object["md5Hash"].as_str()) {
                    response = response.header("etag", format!("\"{etag}\""));
                }
                if let Some(generation) = object["generation"].as_str() {
                    response = response.header("x-goog-generation", generation);
                }
            }
            response.body(axum::body::Body::from(bytes)).expect("a response")
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(handler)).await });
    format!("http://{address}")
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("k={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Turns on all four public-access-block settings, as byob's `public-access-block` artifact says.
pub async fn s3_block_public_access(s3: &aws_sdk_s3::Client, bucket: &str) {
    let block = aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(block)
        .send()
        .await
        .expect("moto stores the public access block");
}

/// A one-day expiry rule for staged uploads under `prefix`, as byob's `lifecycle` artifact says.
pub async fn s3_expire_staging(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) {
    s3_expire(s3, bucket, "byob-staging", prefix, 1).await;
}

/// One lifecycle rule, named `id`, expiring objects under `prefix` after `days` (replacing the bucket's rules).
pub async fn s3_expire(s3: &aws_sdk_s3::Client, bucket: &str, id: &str, prefix: &str, days: i32) {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    };
    let rule = LifecycleRule::builder()
        .id(id)
        .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
        .status(ExpirationStatus::Enabled)
        .expiration(LifecycleExpiration::builder().days(days).build())
        .build()
        .expect("a complete rule");
    let config = BucketLifecycleConfiguration::builder().rules(rule).build().expect("a complete configuration");
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(config)
        .send()
        .await
        .expect("moto stores the lifecycle rules");
}

/// HMAC-SHA256 of a Shared Key or SAS string to sign with Azurite's published account key, base64.
fn azurite_signature(string_to_sign: &str) -> String {
    let key = STANDARD.decode(AZURITE_KEY).expect("published key is base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(string_to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}
