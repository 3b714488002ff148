//! The real binary: zero-configuration start, the operator token, graceful shutdown, JSON logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn serves_with_no_configuration_and_keeps_the_operator_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]).await;
    let data = dir.path().join("byob-data");
    for file in ["catalog.db", "operator-token", "master-keys", "warehouse", "storage"] {
        assert!(data.join(file).exists(), "{file} missing");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["operator-token", "master-keys"] {
            assert_eq!(std::fs::metadata(data.join(file)).unwrap().permissions().mode() & 0o777, 0o600, "{file}");
        }
        assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
    }
    let token = server.operator_token();
    assert_eq!(server.json("GET", "/readyz", "", None).await["status"], "ready");
    let org = server.json("POST", "/v1/orgs", &token, Some(json!({ "name": "Acme" }))).await;
    let (stdout, _) = server.stop().await;
    assert!(stdout.contains(&token), "the generated token is printed once");

    let again = Server::start(dir.path(), &[], &[]).await;
    assert_eq!(again.operator_token(), token);
    let fetched = again.json("GET", &format!("/v1/orgs/{}", org["id"].as_str().unwrap()), &token, None).await;
    assert_eq!(fetched["name"], "Acme");
    let (stdout, _) = again.stop().await;
    assert!(!stdout.contains(&token), "an existing token is never printed again");
}

#[tokio::test]
async fn the_operator_token_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let token = "byob_operator-from-env-0123456789";
    let server = Server::start(dir.path(), &[], &[("BYOB_OPERATOR_TOKEN", token)]).await;
    assert!(!dir.path().join("byob-data/operator-token").exists());
    server.json("POST", "/v1/orgs", token, Some(json!({ "name": "Env" }))).await;
    let (stdout, _) = server.stop().await;
    assert!(!stdout.contains(token));
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]).await;
    let token = server.operator_token();
    let address = server.url.trim_start_matches("http://").to_string();
    let body = json!({ "name": "slow" }).to_string();
    let (head, tail) = body.split_at(5);
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    // `Expect: 100-continue` makes the server say when the handler starts reading the body: from then on the
    // request is in flight, whatever the machine's load (a fixed wait could still find it unread).
    let request = format!(
        "POST /v1/orgs HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n{head}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut interim = Vec::new();
    while !interim.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        tokio::time::timeout(Duration::from_secs(30), stream.read_exact(&mut byte)).await.unwrap().unwrap();
        interim.push(byte[0]);
    }
    assert!(interim.starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&interim));

    let pid = server.child.id().unwrap().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !server.stderr.lock().unwrap().contains("shutdown requested") {
        assert!(tokio::time::Instant::now() < deadline, "no shutdown: {}", server.stderr.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stream.write_all(tail.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut response)).await.unwrap().unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");

    let (_, stderr) = server.stop().await;
    assert!(stderr.contains("shutdown requested"), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
}

#[tokio::test]
async fn json_logs_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--log-format", "json"], &[]).await;
    let (status, _) = server.call("GET", "/v1/orgs/org_bad", &server.operator_token(), None).await;
    assert_eq!(status, 400);
    let (_, stderr) = server.stop().await;
    let lines: Vec<serde_json::Value> =
        stderr.lines().map(|l| serde_json::from_str(l).expect("every line is JSON")).collect();
    let request_line = lines
        .iter()
        .find(|l| l["span"]["path"] == "/v1/orgs/org_bad")
        .unwrap_or_else(|| panic!("no log line for the request: {stderr}"));
    assert!(request_line["span"]["request_id"].as_str().unwrap().starts_with("req_"));
}

#[tokio::test]
async fn bad_configuration_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("byob.toml");
    std::fs::write(&config, "[http]\nmax_body_byts = 5\n").unwrap();
    let output = support::byob(dir.path()).args(["serve", "--config"]).arg(&config).output().await.unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("max_body_byts"), "{stderr}");
    let output = support::byob(dir.path()).args(["serve", "--config", "missing.toml"]).output().await.unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("does not exist"));
}

/// The PostgreSQL driver reads PGPASSWORD, client certificates and server options from the environment into every
/// connection without its own: a tenant's host would receive the operator's. byob refuses to run with them.
#[tokio::test]
async fn the_operators_postgres_settings_are_never_lent_to_a_tenants_host() {
    let dir = tempfile::tempdir().unwrap();
    for (key, value) in [("PGPASSWORD", "operator-pg-password"), ("PGSSLKEY", "/etc/operator.key")] {
        let output = support::byob(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env(key, value)
            .output()
            .await
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(key) && stderr.contains("unset it"), "{stderr}");
        assert!(!stderr.contains(value), "{stderr}");
    }
}

#[tokio::test]
async fn the_default_storage_can_be_a_bucket_and_only_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("byob.toml");
    let s3 = "[storage.s3]\nbucket = \"platform-staging\"\nendpoint = \"http://127.0.0.1:9\"\naccess_key_id = \"k\"\nsecret_access_key = \"default-storage-secret\"\n";
    std::fs::write(&config, s3).unwrap();
    let server = Server::start(dir.path(), &["--config", config.to_str().unwrap()], &[]).await;
    let (_, stderr) = server.stop().await;
    assert!(stderr.contains("s3://platform-staging"), "{stderr}");
    assert!(!stderr.contains("default-storage-secret"));
    let printed = support::byob(dir.path()).args(["config", "print", "--config"]).arg(&config).output().await.unwrap();
    assert!(!String::from_utf8_lossy(&printed.stdout).contains("default-storage-secret"));

    let azure = "[storage.azure]\naccount = \"acme\"\ncontainer = \"c1\"\naccount_key = \"a2V5\"\n";
    std::fs::write(&config, format!("{s3}{azure}")).unwrap();
    let output = support::byob(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("at most one of storage.s3, storage.gcs and storage.azure")
    );
}

/// Half-open connections cannot hold the server: past `http.max_connections` new ones wait, and a connection
/// that sends nothing is closed after `http.idle_timeout_secs`, which lets the waiting request through.
#[tokio::test]
async fn idle_connections_are_capped_and_closed() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("BYOB_HTTP__MAX_CONNECTIONS", "2"), ("BYOB_HTTP__IDLE_TIMEOUT_SECS", "1")];
    let server = Server::start(dir.path(), &[], &env).await;
    let address = server.url.trim_start_matches("http://").to_string();
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    let url = format!("{}/healthz", server.url);
    let waiting = tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status().as_u16()) });
    // Each idle connection is closed by the server: its read ends.
    for mut stream in idle {
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buf)).await.expect("closed by byob");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    }
    assert_eq!(waiting.await.unwrap().unwrap(), 200);
    server.stop().await;
}

/// A slowloris — headers sent a byte at a time, never finished — is cut off after
/// `http.header_read_timeout_secs`, although the connection is never idle long enough for the idle timeout.
#[tokio::test]
async fn headers_must_arrive_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("BYOB_HTTP__HEADER_READ_TIMEOUT_SECS", "1"), ("BYOB_HTTP__IDLE_TIMEOUT_SECS", "30")];
    let server = Server::start(dir.path(), &[], &env).await;
    let address = server.url.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: byob\r\n").await.unwrap();
    // Keep trickling a header until byob closes the connection (bounded, should it never do so).
    let mut answer = Vec::new();
    let mut closed = false;
    for _ in 0..300 {
        if stream.write_all(b"X").await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    assert!(closed, "the slow client is still connected");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    server.stop().await;
}
