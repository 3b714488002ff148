//! An Azurite of a test's own over https with `--oauth basic` (the only way Azurite accepts Entra ID tokens and
//! issues user-delegation keys), and a minimal token endpoint standing in for Entra ID, which has no emulator.
//! Azurite checks the token's issuer, audience and lifetime and validates the delegation SAS.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{buckets::create_azure_container_at, server_env};

/// The tenant the stand-in issues tokens for.
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

use crate::network::free_port;

/// A throwaway CA and a server certificate for 127.0.0.1 signed by it; returns (CA, server cert, server key).
fn certificates(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let path = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=byob test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(path("ext.cnf"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.pem",
    ]);
    (path("ca.pem"), path("server.pem"), path("server.key"))
}

/// An access token shaped like Entra ID's (Azurite's basic OAuth mode checks claims, not signatures).
fn token() -> String {
    let now = chrono::Utc::now().timestamp();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "aud": "https://storage.azure.com", "iss": format!("https://sts.windows.net/{TENANT}/"),
        "iat": now - 60, "nbf": now - 60, "exp": now + 3600,
        "oid": "0b6f1c2e-8c1a-4a54-9f0c-111111111111", "tid": TENANT, "appid": "byob",
    });
    format!("{header}.{}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()), URL_SAFE_NO_PAD.encode(b"unsigned"))
}

pub async fn token_endpoint() -> String {
    let app = axum::Router::new().route(
        "/{tenant}/oauth2/v2.0/token",
        axum::routing::post(|| async {
            axum::Json(serde_json::json!({ "token_type": "Bearer", "expires_in": 3600, "access_token": token() }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// A running Azurite with OAuth over https; stops when dropped.
pub struct OAuthAzurite {
    /// `https://127.0.0.1:PORT/devstoreaccount1`.
    pub endpoint: String,
    /// A client trusting the test CA.
    pub http: reqwest::Client,
    /// The test CA, for clients built elsewhere.
    pub ca_pem: Vec<u8>,
    _dir: tempfile::TempDir,
    _azurite: tokio::process::Child,
}

impl OAuthAzurite {
    /// Starts it and creates `container`.
    pub async fn start(container: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = certificates(dir.path());
        let port = free_port();
        let azurite = tokio::process::Command::new(server_env("BYOB_TEST_AZURITE_SERVER"))
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &port.to_string(),
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
            ])
            .args(["--loose", "--disableTelemetry", "--oauth", "basic"])
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pem = std::fs::read(&ca).unwrap();
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .build()
            .unwrap();
        let endpoint = format!("https://127.0.0.1:{port}/devstoreaccount1");
        for _ in 0..100 {
            if http.get(format!("{endpoint}?comp=list")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        create_azure_container_at(&http, &endpoint, container).await;

        Self { endpoint, http, ca_pem: pem, _dir: dir, _azurite: azurite }
    }
}
