//! byob's HTTP application in-process, on a fresh SQLite catalog (or PostgreSQL), with helpers to call it.

use byob_service::jobs::JobSettings;
use std::{sync::Arc, time::Duration};

use axum::{Router, body::Body, http::Request};
use byob_api::{AppState, HttpLimits, Metrics};
use byob_core::location::HttpPolicy;
use byob_core::{Role, Sensitive};
use byob_ports::{
    catalog::{self, SqlCatalog},
    clock::{Clock, ManualClock},
    secretbox::{KeySource, XChaChaBox},
};
use byob_service::{Deps, IntegrationPolicy, OperatorToken, setup::ByobIdentity};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const OPERATOR_TOKEN: &str = "byob_test-operator-token-0123456789";
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// byob's AWS principal in tests: a user in moto's default account, which the assume-role test creates.
pub const BYOB_AWS_PRINCIPAL: &str = "arn:aws:iam::123456789012:user/byob-service";

/// The embedded warehouse in the test's directory, and upload settings whose relay URLs point nowhere (an
/// in-process app has no listener; relay uploads are tested against a `byob serve` process).
async fn data_settings(
    dir: &tempfile::TempDir,
    jobs: byob_service::jobs::JobSettings,
    relay_min_rate: byob_service::data::RelayRate,
    attachments: byob_service::data::AttachmentSettings,
) -> byob_service::DataSettings {
    byob_service::DataSettings {
        local_warehouses: Arc::new(byob_ports::warehouse::LocalWarehouses::new(&dir.path().join("warehouse"))),
        uploads: byob_service::data::UploadSettings {
            max_size_bytes: 1 << 40,
            allowed_content_types: byob_core::config::UploadsConfig::default().allowed_content_types,
            public_url: url::Url::parse("http://127.0.0.1:9").expect("url"),
            relay_min_rate,
        },
        jobs,
        attachments,
        assets: byob_service::data::AssetOperatorSettings::default(),
        migrations: byob_service::data::MigrationSettings::default(),
        abort_incomplete_after_hours: 24,
    }
}

pub struct TestApp {
    pub router: Router,
    /// The use cases behind the router, for tests of services no route exposes yet.
    pub services: byob_service::Services,
    pub catalog: Arc<SqlCatalog>,
    pub clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

/// A status and a parsed JSON body (Null when empty), plus the content type.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
    /// Every response header (a redirect's `Location`, a download's `Content-Disposition`).
    pub headers: axum::http::HeaderMap,
}

impl Reply {
    #[must_use]
    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap_or_else(|| panic!("no id in {:?}", self.body)).to_string()
    }
}

/// What a test app differs in from the defaults: byob's AWS principal, the network policy (loopback allowed),
/// job settings and per-org quotas.
#[derive(Debug, Clone)]
pub struct TestOptions {
    pub sts: Option<byob_ports::storage::StsSettings>,
    pub network: byob_ports::net::NetworkPolicy,
    pub jobs: JobSettings,
    pub quotas: byob_service::quota::Quotas,
    /// The slowest a relay part may arrive (1 byte in 10 s unless a test asks for more).
    pub relay_min_rate: byob_service::data::RelayRate,
    /// byob's own Google identity, for impersonation integrations.
    pub gcp_identity: Option<byob_service::GcpIdentity>,
    /// The Entra ID authority (a stand-in) for Azure service principals and byob's broker applications.
    pub azure_authority_host: Option<String>,
    /// The attachments' scanner, download lifetime and thumbnail limits.
    pub attachments: byob_service::data::AttachmentSettings,
    /// Requests per second per token and per org (0: no limit, the tests' default).
    pub rates: (u32, u32),
    /// How storage requests that fail are retried (`storage.retries`, `storage.retry_timeout_secs`).
    pub storage_retry: byob_ports::storage::RetryPolicy,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            sts: None,
            network: crate::loopback_network(),
            jobs: JobSettings::default(),
            quotas: byob_service::quota::Quotas::default(),
            relay_min_rate: byob_service::data::RelayRate { bytes: 1, window: std::time::Duration::from_secs(10) },
            gcp_identity: None,
            azure_authority_host: None,
            attachments: byob_service::data::AttachmentSettings::default(),
            rates: (0, 0),
            storage_retry: byob_ports::storage::RetryPolicy::default(),
        }
    }
}

impl TestApp {
    /// On SQLite in a temporary directory.
    pub async fn sqlite() -> Self {
        Self::sqlite_with(TestOptions::default()).await
    }

    /// On SQLite, with byob's own AWS principal for assume-role integrations.
    pub async fn sqlite_with_sts(sts: Option<byob_ports::storage::StsSettings>) -> Self {
        Self::sqlite_with(TestOptions { sts, ..TestOptions::default() }).await
    }

    /// On SQLite, with the given network policy (the default in production allows public addresses only).
    pub async fn sqlite_with_network(network: byob_ports::net::NetworkPolicy) -> Self {
        Self::sqlite_with(TestOptions { network, ..TestOptions::default() }).await
    }

    /// On SQLite, with the given job settings.
    pub async fn sqlite_with_jobs(jobs: JobSettings) -> Self {
        Self::sqlite_with(TestOptions { jobs, ..TestOptions::default() }).await
    }

    /// On SQLite, with the given options.
    pub async fn sqlite_with(options: TestOptions) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("catalog.db").display());
        Self::with_catalog_url(&url, dir, options).await
    }

    /// On a fresh PostgreSQL database.
    pub async fn postgres() -> Self {
        Self::postgres_with_jobs(JobSettings::default()).await
    }

    /// On a fresh PostgreSQL database, with the given job settings (deadlines, stop grace, per-org share).
    pub async fn postgres_with_jobs(jobs: JobSettings) -> Self {
        let url = crate::fresh_postgres_database().await;
        let options = TestOptions { jobs, ..TestOptions::default() };
        Self::with_catalog_url(&url, tempfile::tempdir().expect("tempdir"), options).await
    }

    async fn with_catalog_url(url: &str, dir: tempfile::TempDir, options: TestOptions) -> Self {
        let TestOptions {
            sts,
            network,
            jobs,
            quotas,
            relay_min_rate,
            gcp_identity,
            azure_authority_host,
            attachments,
            rates,
            storage_retry,
        } = options;
        let catalog = Arc::new(catalog::connect(url, 5).await.expect("catalog"));
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let secret_box = XChaChaBox::new(KeySource::File(dir.path().join("master-keys"))).expect("secret box");
        let deps = Deps {
            catalog: catalog.clone(),
            secret_box: Arc::new(secret_box),
            clock: clock.clone() as Arc<dyn Clock>,
            network,
            quotas,
            integrations: IntegrationPolicy {
                http_endpoints: HttpPolicy::AllowLoopbackHttp,
                allow_local: true,
                identity: ByobIdentity {
                    aws_principal_arn: Some(BYOB_AWS_PRINCIPAL.into()),
                    gcp_service_account: Some("byob@byob-platform.iam.gserviceaccount.com".into()),
                    egress_cidrs: vec!["203.0.113.0/24".into()],
                    azure_broker_app: None,
                },
                gcp_org_accounts: (1..=8)
                    .map(|n| format!("byob-org-{n}@byob-platform.iam.gserviceaccount.com"))
                    .collect(),
                gcp_token_endpoints: std::env::var("BYOB_TEST_GCS_ENDPOINT").into_iter().collect(),
                azure_broker_apps: (1..=8)
                    .map(|n| byob_core::config::AzureBrokerApp {
                        client_id: format!("00000000-0000-4000-8000-00000000000{n}"),
                        client_secret: Sensitive::new(format!("broker-secret-{n}")),
                    })
                    .collect(),
            },
        };
        let storage = byob_service::StorageSettings {
            presign: byob_ports::storage::ClientPolicy { retry: storage_retry, ..Default::default() },
            sts,
            default_storage: byob_ports::storage::local_storage_client(&dir.path().join("storage"))
                .expect("default storage"),
            default_ttl_hours: 24,
            azure_authority_host,
            gcp_identity,
        };
        let services = byob_service::Services::new(
            &deps,
            OperatorToken::new(&Sensitive::new(OPERATOR_TOKEN.into())),
            storage,
            byob_service::health::MonitorSettings::default(),
            data_settings(&dir, jobs, relay_min_rate, attachments).await,
        );
        let state = AppState::new(
            services.clone(),
            catalog.clone(),
            Arc::new(Metrics::default()),
            HttpLimits {
                max_body_bytes: MAX_BODY_BYTES,
                request_timeout: Duration::from_secs(30),
                token_requests_per_second: rates.0,
                org_requests_per_second: rates.1,
            },
        );
        Self { router: byob_api::app(state), services, catalog, clock, _dir: dir }
    }

    /// The default storage's directory (each org's files are under `orgs/{org}`).
    #[must_use]
    pub fn default_storage_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("storage")
    }

    /// The file of `org`'s embedded warehouse (its connection `local`).
    #[must_use]
    pub fn warehouse_path(&self, org: &str) -> std::path::PathBuf {
        self._dir.path().join("warehouse").join(format!("{org}.db"))
    }

    #[must_use]
    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request.header("content-type", "application/json").body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .expect("request");
        self.send(request).await
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply { status, content_type, body, headers }
    }

    pub async fn create_org(&self, name: &str) -> String {
        let reply = self.call("POST", "/v1/orgs", Some(OPERATOR_TOKEN), Some(json!({ "name": name }))).await;
        assert_eq!(reply.status, 201, "{reply:?}");
        reply.id()
    }

    /// Adds a member with a fresh token; returns (member id, token).
    pub async fn member_with_token(&self, org: &str, role: Role) -> (String, String) {
        let reply = self
            .call(
                "POST",
                &format!("/v1/orgs/{org}/members"),
                Some(OPERATOR_TOKEN),
                Some(json!({ "name": "M", "role": role })),
            )
            .await;
        assert_eq!(reply.status, 201, "{reply:?}");
        let member = reply.id();
        let reply = self
            .call(
                "POST",
                &format!("/v1/orgs/{org}/members/{member}/tokens"),
                Some(OPERATOR_TOKEN),
                Some(json!({ "name": "t" })),
            )
            .await;
        assert_eq!(reply.status, 201, "{reply:?}");
        (member, reply.body["token"].as_str().expect("token").to_string())
    }
}
