//! A private moto server (for tests that switch its auth mode, which is global to the server), and IAM calls.

use std::time::Duration;

use crate::server_env;

/// A moto server of one test's own, stopped when dropped.
pub struct Moto {
    _process: tokio::process::Child,
    pub url: String,
}

/// Starts a moto server on a free port.
pub async fn start_moto() -> Moto {
    spawn_moto(tokio::process::Command::new(server_env("BYOB_TEST_MOTO_SERVER"))).await
}

/// Starts a moto server that also evaluates AssumeRole session policies, as AWS does
/// (`scripts/moto_session_policies.py`: moto's own policy evaluator, applied to the session policy too).
pub async fn start_moto_with_session_policies() -> Moto {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/moto_session_policies.py");
    let mut command = tokio::process::Command::new(server_env("BYOB_TEST_MOTO_PYTHON"));
    command.arg(script);
    spawn_moto(command).await
}

async fn spawn_moto(mut command: tokio::process::Command) -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let process = command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_DISABLE_GLOBAL_CORS", "true")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/moto-api/")).await.is_ok_and(|r| r.status().is_success()) {
            return Moto { _process: process, url };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto did not start");
}

/// An IAM Query API call. Before auth mode moto checks no signature; the credential scope names the service.
pub async fn iam(moto: &Moto, params: &[(&str, &str)]) -> String {
    let scope = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0";
    let mut form = vec![("Version", "2010-05-08")];
    form.extend_from_slice(params);
    let response = reqwest::Client::new()
        .post(format!("{}/", moto.url))
        .header("authorization", scope)
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(status.is_success(), "{params:?}: {status} {body}");
    body
}

/// The text of the first `<tag>` in an XML body.
#[must_use]
pub fn xml_value(body: &str, tag: &str) -> String {
    let start = body.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
    let end = body[start..].find(&format!("</{tag}>")).unwrap() + start;
    body[start..end].to_string()
}

/// moto's auth mode: `0` checks every request from now on, `inf` checks none.
pub async fn set_auth(moto: &Moto, value: &str) {
    let response = reqwest::Client::new()
        .post(format!("{}/moto-api/reset-auth", moto.url))
        .header("content-type", "text/plain")
        .body(value.to_string())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}
