//! Runs the real `byob` binary as a child process and talks to it over HTTP.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, BufReader},
    process::{Child, Command},
};

pub const BIN: &str = env!("CARGO_BIN_EXE_byob");

/// A `byob` command with no `BYOB_*` variables inherited from the developer's shell or the test harness.
pub fn byob(cwd: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd).kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("BYOB_") {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("RUST_LOG");
    // The operator's PostgreSQL settings, which `byob serve` refuses to run with.
    for key in ["PGPASSWORD", "PGSSLCERT", "PGSSLKEY", "PGSSLROOTCERT", "PGOPTIONS", "PGAPPNAME"] {
        cmd.env_remove(key);
    }
    cmd
}

pub struct Server {
    pub child: Child,
    pub url: String,
    pub stdout: Arc<Mutex<String>>,
    pub stderr: Arc<Mutex<String>>,
    pub dir: PathBuf,
    http: reqwest::Client,
}

fn collect(stream: impl AsyncRead + Unpin + Send + 'static, sink: Arc<Mutex<String>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut all = sink.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
}

impl Server {
    /// Starts `byob serve --listen 127.0.0.1:0` in `dir` with extra arguments and environment.
    pub async fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = byob(dir);
        cmd.arg("serve").arg("--listen").arg("127.0.0.1:0").args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn byob");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        collect(child.stdout.take().unwrap(), stdout.clone());
        collect(child.stderr.take().unwrap(), stderr.clone());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let url = loop {
            if let Some(url) =
                stdout.lock().unwrap().lines().find_map(|l| l.strip_prefix("byob listening on ").map(str::to_string))
            {
                break url;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("byob exited with {status}: {}", stderr.lock().unwrap());
            }
            assert!(tokio::time::Instant::now() < deadline, "byob did not start: {}", stderr.lock().unwrap());
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        Self { child, url, stdout, stderr, dir: dir.to_path_buf(), http: reqwest::Client::new() }
    }

    pub fn operator_token(&self) -> String {
        std::fs::read_to_string(self.dir.join("byob-data/operator-token")).unwrap().trim().to_string()
    }

    /// Sends a request and returns (status, body text).
    pub async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, String) {
        let mut request = self.http.request(method.parse().unwrap(), format!("{}{path}", self.url)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        (response.status().as_u16(), response.text().await.unwrap())
    }

    pub async fn json(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
        let (status, text) = self.call(method, path, token, body).await;
        assert!((200..300).contains(&status), "{method} {path}: {status} {text}");
        if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() }
    }

    /// Polls `path` until its JSON satisfies `done` (three minutes at most); returns it.
    pub async fn wait_for(&self, token: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
        loop {
            let (status, text) = self.call("GET", path, token, None).await;
            if status == 200 {
                let value: Value = serde_json::from_str(&text).unwrap();
                if done(&value) {
                    return value;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "{path} did not get there: {text}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub async fn stop(mut self) -> (String, String) {
        let pid = self.child.id().expect("running").to_string();
        std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await.expect("exits").unwrap();
        assert!(status.success(), "byob exited with {status}: {}", self.stderr.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let out = self.stdout.lock().unwrap().clone();
        let err = self.stderr.lock().unwrap().clone();
        (out, err)
    }
}

/// Every byte of every file under `dir` (the catalog, its WAL, keys …).
pub fn all_file_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Runs `byob ARGS` as a client of `server` with `token`: whether it succeeded, its stdout and stderr.
pub async fn byob_cli(server: &Server, token: &str, args: &[&str]) -> (bool, String, String) {
    let out =
        byob(&server.dir).args(args).env("BYOB_URL", &server.url).env("BYOB_TOKEN", token).output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An org `acme` and one of its members' API tokens.
pub async fn org_and_member(server: &Server, operator: &str) -> (String, String) {
    let org = server.json("POST", "/v1/orgs", operator, Some(serde_json::json!({ "name": "acme" }))).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = serde_json::json!({ "name": "Ada", "role": "member" });
    let mem = server.json("POST", &format!("/v1/orgs/{org}/members"), operator, Some(body)).await;
    let mem = mem["id"].as_str().unwrap();
    let token = server
        .json(
            "POST",
            &format!("/v1/orgs/{org}/members/{mem}/tokens"),
            operator,
            Some(serde_json::json!({ "name": "cli" })),
        )
        .await;
    (org, token["token"].as_str().unwrap().to_string())
}
