//! Export fixtures: buckets read back with object_store (not byob's code), integrations serving exports on each
//! emulator, running an export to its end in-process, and the independent readers (Python's `csv` and `json`,
//! pyarrow) that parse what byob wrote.

use std::sync::Arc;

use futures::TryStreamExt;
use object_store::{
    ObjectStore, ObjectStoreExt, aws::AmazonS3Builder, azure::MicrosoftAzureBuilder, gcp::GoogleCloudStorageBuilder,
    local::LocalFileSystem, path::Path,
};
use serde_json::Value;

use crate::{
    TestApp,
    buckets::{
        AZURITE_ACCOUNT, AZURITE_KEY, create_azure_container, create_gcs_bucket, create_s3_bucket, gcs_test_key,
        unique_name,
    },
    integrations::{Access, integration_body},
    server_env,
};

/// One of the stores exports are tested against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Moto,
    Azurite,
    FakeGcs,
    /// byob's default storage (a local directory).
    Default,
}

/// A bucket (or the default storage's directory) and a reader of it that is not byob's.
pub struct Bucket {
    pub store: Store,
    pub name: String,
    reader: Arc<dyn ObjectStore>,
    /// Where byob's keys start in this reader (`orgs/{org}` in the default storage, the integration prefix
    /// elsewhere).
    pub prefix: String,
}

impl Bucket {
    /// Creates a fresh bucket on `store`; for the default storage, reads the app's directory for `org`.
    pub async fn create(store: Store, app: &TestApp, org: &str) -> Self {
        let name = unique_name("exports");
        let (reader, prefix): (Arc<dyn ObjectStore>, String) = match store {
            Store::Moto => {
                create_s3_bucket(&name).await;
                let s3 = AmazonS3Builder::new()
                    .with_endpoint(server_env("BYOB_TEST_S3_ENDPOINT"))
                    .with_allow_http(true)
                    .with_bucket_name(&name)
                    .with_region("us-east-1")
                    .with_access_key_id("testing-key")
                    .with_secret_access_key("testing-secret")
                    .build()
                    .unwrap();
                (Arc::new(s3), "byob".into())
            }
            Store::Azurite => {
                create_azure_container(&name).await;
                let azure = MicrosoftAzureBuilder::new()
                    .with_account(AZURITE_ACCOUNT)
                    .with_access_key(AZURITE_KEY)
                    .with_container_name(&name)
                    .with_endpoint(server_env("BYOB_TEST_AZURE_ENDPOINT"))
                    .with_allow_http(true)
                    .build()
                    .unwrap();
                (Arc::new(azure), "byob".into())
            }
            Store::FakeGcs => {
                create_gcs_bucket(&name).await;
                let gcs = GoogleCloudStorageBuilder::new()
                    .with_service_account_key(gcs_test_key())
                    .with_bucket_name(&name)
                    .with_base_url(&server_env("BYOB_TEST_GCS_ENDPOINT"))
                    .with_client_options(object_store::ClientOptions::new().with_allow_http(true))
                    .build()
                    .unwrap();
                (Arc::new(gcs), "byob".into())
            }
            Store::Default => {
                let dir = app.default_storage_dir();
                std::fs::create_dir_all(&dir).unwrap();
                (Arc::new(LocalFileSystem::new_with_prefix(dir).unwrap()), format!("orgs/{org}"))
            }
        };
        Self { store, name, reader, prefix }
    }

    /// The body of an integration serving exports into this bucket (`None` for the default storage).
    #[must_use]
    pub fn integration(&self) -> Option<Value> {
        let access = match self.store {
            Store::Moto => Access::Moto,
            Store::Azurite => Access::Azurite,
            Store::FakeGcs => Access::FakeGcs,
            Store::Default => return None,
        };
        Some(integration_body(access, "customer", &self.name, &self.prefix, &["exports"]))
    }

    fn path(&self, key: &str) -> Path {
        // As the key is: `Path::from` would percent-encode non-ASCII characters into the key itself.
        Path::parse(format!("{}/{key}", self.prefix)).expect("a valid key")
    }

    /// The object at `key` (relative to byob's prefix).
    pub async fn read(&self, key: &str) -> Vec<u8> {
        let got = self.reader.get(&self.path(key)).await.unwrap_or_else(|e| panic!("read {key}: {e}"));
        got.bytes().await.unwrap().to_vec()
    }

    /// Writes `bytes` at `key` (relative to byob's prefix), as the customer would (GCS through its JSON API, which
    /// fake-gcs-server implements for uploads).
    pub async fn write(&self, key: &str, bytes: &[u8]) {
        if self.store == Store::FakeGcs {
            let endpoint = server_env("BYOB_TEST_GCS_ENDPOINT");
            let response = reqwest::Client::new()
                .post(format!("{endpoint}/upload/storage/v1/b/{}/o", self.name))
                .query(&[("uploadType", "media"), ("name", &format!("{}/{key}", self.prefix))])
                .body(bytes.to_vec())
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success(), "upload {key}: {}", response.status());
        } else {
            self.reader.put(&self.path(key), bytes.to_vec().into()).await.unwrap();
        }
    }

    /// Every key under byob's prefix, relative to it, sorted.
    pub async fn keys(&self) -> Vec<String> {
        let prefix = Path::from(self.prefix.clone());
        let listed: Vec<_> = self.reader.list(Some(&prefix)).try_collect().await.unwrap_or_default();
        let mut keys: Vec<String> = listed
            .into_iter()
            .map(|o| o.location.as_ref().trim_start_matches(&format!("{}/", self.prefix)).to_string())
            .collect();
        keys.sort();
        keys
    }
}

/// Creates the export (`POST …/exports`) and, for one without a schedule, runs the queue until it is empty;
/// returns the creation reply and the run as it ended.
pub async fn export(app: &TestApp, org: &str, token: &str, body: Value) -> (Value, Value) {
    let created = app.call("POST", &format!("/v1/orgs/{org}/exports"), Some(token), Some(body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let export = created.body["export"]["id"].as_str().unwrap().to_string();
    let run = created.body["run"]["id"].as_str().map(str::to_string);
    while app.services.runner.run_one().await.unwrap().is_some() {}
    let Some(run) = run else { return (created.body, Value::Null) };
    let got = app.call("GET", &format!("/v1/orgs/{org}/exports/{export}/runs/{run}"), Some(token), None).await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    (created.body, got.body)
}

/// Runs an export into a fresh moto bucket (integration `exports`) and returns its run and its files' bytes,
/// in order.
pub async fn export_to_moto(app: &TestApp, org: &str, token: &str, body: Value) -> (Value, Vec<u8>) {
    let bucket = Bucket::create(Store::Moto, app, org).await;
    let mut exports = bucket.integration().unwrap();
    exports["name"] = serde_json::json!("exports");
    crate::uploads::create_integration(app, org, exports).await;
    let (_, run) = export(app, org, token, body).await;
    let mut bytes = Vec::new();
    for file in run["files"].as_array().into_iter().flatten() {
        bytes.extend(bucket.read(file["key"].as_str().unwrap_or_default()).await);
    }
    (run, bytes)
}

/// What the independent readers make of files: `format` is `csv`, `jsonl` or `parquet`. CSV gives rows of
/// strings; JSON Lines the objects; Parquet `{"schema": [type names], "rows": [[str(value) or null]]}`.
pub fn read_with_python(format: &str, files: &[std::path::PathBuf]) -> Value {
    const SCRIPT: &str = r#"
import csv, json, sys
fmt, paths = sys.argv[1], sys.argv[2:]
if fmt == "csv":
    rows = []
    for p in paths:
        with open(p, newline="", encoding="utf-8") as f:
            rows.extend(list(csv.reader(f)))
    print(json.dumps(rows))
elif fmt == "jsonl":
    rows = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f)
    print(json.dumps(rows))
else:
    import pyarrow.parquet as pq
    out = {"schema": None, "rows": []}
    for p in paths:
        t = pq.read_table(p)
        out["schema"] = [f"{f.name}:{f.type}" for f in t.schema]
        for row in t.to_pylist():
            out["rows"].append([None if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v)) for v in row.values()])
    print(json.dumps(out))
"#;
    let python = server_env("BYOB_TEST_PYTHON");
    let out =
        std::process::Command::new(python).arg("-c").arg(SCRIPT).arg(format).args(files).output().expect("python runs");
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Multipart uploads still open in a moto bucket (started, neither completed nor aborted).
pub async fn open_multipart_uploads(bucket: &str) -> usize {
    let s3 = crate::buckets::s3_admin(&server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1");
    let listed = s3.list_multipart_uploads().bucket(bucket).send().await.expect("moto lists uploads");
    listed.uploads().len()
}
