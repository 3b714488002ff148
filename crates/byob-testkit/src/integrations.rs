//! The body of an integration on any store the tests reach, with the static credentials that open it: one helper
//! instead of the same JSON in every test file.

use serde_json::{Value, json};

use crate::{
    buckets::{AZURITE_ACCOUNT, AZURITE_KEY, gcs_test_key},
    server_env,
};

/// A store and how byob reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// moto with a static key (outside auth mode moto accepts any).
    Moto,
    /// s3s-fs, which checks every signature, with its own key; path-style.
    S3sFs,
    /// Azurite with its published account key.
    Azurite,
    /// fake-gcs-server with the throwaway test key.
    FakeGcs,
    /// The in-memory test provider (no credentials).
    Memory,
}

/// An integration named `name` on `bucket` under `prefix`, serving `features`.
#[must_use]
pub fn integration_body(access: Access, name: &str, bucket: &str, prefix: &str, features: &[&str]) -> Value {
    let (provider, endpoint, credentials) = match access {
        Access::Moto => (
            "s3",
            Some(server_env("BYOB_TEST_S3_ENDPOINT")),
            json!({ "mode": "s3_access_key", "access_key_id": "testing-key", "secret_access_key": "testing-secret" }),
        ),
        Access::S3sFs => (
            "s3",
            Some(server_env("BYOB_TEST_S3S_ENDPOINT")),
            json!({
                "mode": "s3_access_key",
                "access_key_id": server_env("BYOB_TEST_S3S_ACCESS_KEY"),
                "secret_access_key": server_env("BYOB_TEST_S3S_SECRET_KEY"),
            }),
        ),
        Access::Azurite => (
            "azure",
            Some(server_env("BYOB_TEST_AZURE_ENDPOINT")),
            json!({ "mode": "azure_shared_key", "account": AZURITE_ACCOUNT, "account_key": AZURITE_KEY }),
        ),
        Access::FakeGcs => (
            "gcs",
            Some(server_env("BYOB_TEST_GCS_ENDPOINT")),
            json!({ "mode": "gcs_service_account_key", "key": gcs_test_key() }),
        ),
        Access::Memory => ("memory", None, json!({ "mode": "local" })),
    };
    let mut body = json!({
        "name": name, "provider": provider, "bucket": bucket, "prefix": prefix, "features": features,
        "credentials": credentials,
    });
    if let Some(endpoint) = endpoint {
        body["endpoint"] = json!(endpoint);
    }
    if provider == "s3" {
        body["region"] = json!("us-east-1");
    }
    body
}
