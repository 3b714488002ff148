//! A real browser for the console's tests: Debian's Chromium, headless, driven over WebDriver (fantoccini)
//! through Debian's chromedriver, which each test starts on a port of its own, with a profile of its own. byob
//! is served on a loopback port from the test's app. Nothing is downloaded: `scripts/servers.sh` installs both
//! packages and names them in `BYOB_TEST_CHROMIUM` and `BYOB_TEST_CHROMEDRIVER`.

use std::process::Stdio;

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::{Child, Command},
};

use crate::server_env;

/// How long a page may take to show what a test waits for (a condition polled, never a fixed sleep).
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

pub struct Browser {
    pub driver: Client,
    /// Where byob answers: `http://127.0.0.1:PORT`.
    pub base: String,
    _chromedriver: Child,
    _profile: tempfile::TempDir,
}

/// Serves `router` on a loopback port for as long as the test runs; returns its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    tokio::spawn(async move { axum::serve(listener, router).await.ok() });
    format!("http://127.0.0.1:{port}")
}

/// [`serve`], also counting the request body bytes byob received (from `Content-Length`), to show that a
/// browser's upload went straight to the bucket.
pub async fn serve_counting(router: axum::Router) -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use std::sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    };
    let received = Arc::new(AtomicU64::new(0));
    let count = received.clone();
    let router = router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let count = count.clone();
            async move {
                let length = request
                    .headers()
                    .get("content-length")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
                count.fetch_add(length, Ordering::Relaxed);
                next.run(request).await
            }
        },
    ));
    (serve(router).await, received)
}

/// Starts chromedriver on a port it picks and returns it with that port (read from what it prints). A
/// chromedriver that exits before saying its port is started again (twice at most), and what it said is kept
/// for the failure's message.
async fn chromedriver() -> (Child, u16) {
    let mut said = Vec::new();
    for _ in 0..3 {
        let mut child = Command::new(server_env("BYOB_TEST_CHROMEDRIVER"))
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let stdout = child.stdout.take().expect("its output");
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            // "ChromeDriver was started successfully on port 40123." (its first line says "on port 0")
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                let port = rest.trim_end_matches('.').trim().parse().expect("a port number");
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                if let Some(stderr) = child.stderr.take() {
                    let mut errors = BufReader::new(stderr).lines();
                    tokio::spawn(async move { while let Ok(Some(_)) = errors.next_line().await {} });
                }
                return (child, port);
            }
            said.push(line);
        }
        if let Some(stderr) = child.stderr.take() {
            let mut errors = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = errors.next_line().await {
                said.push(line);
            }
        }
        let status = child.wait().await;
        said.push(format!("(chromedriver ended: {status:?})"));
    }
    panic!("chromedriver said no port:\n{}", said.join("\n"));
}

impl Browser {
    /// A headless Chromium on byob served from `router`.
    pub async fn open(router: axum::Router) -> Self {
        Self::at(serve(router).await).await
    }

    /// A headless Chromium on byob already served at `base`.
    pub async fn at(base: String) -> Self {
        let (chromedriver, port) = chromedriver().await;
        let profile = tempfile::tempdir().expect("a profile directory");
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities
            .insert("goog:chromeOptions".into(), json!({ "binary": server_env("BYOB_TEST_CHROMIUM"), "args": args }));
        // A browser that fails to start is started once more, and the second failure is the test's.
        let url = format!("http://127.0.0.1:{port}");
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let driver = match builder.connect(&url).await {
            Ok(driver) => driver,
            Err(_) => builder.connect(&url).await.expect("a browser session"),
        };
        Self { driver, base, _chromedriver: chromedriver, _profile: profile }
    }

    /// Opens `path` of byob (`/console`, `/console#/members`).
    pub async fn open_page(&self, path: &str) {
        self.driver.goto(&format!("{}{path}", self.base)).await.expect("the page loads");
    }

    /// The element `css` selects, once the page shows it.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.driver
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("the page shows no `{css}`: {e}"))
    }

    /// Every element `css` selects now.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.driver.find_all(Locator::Css(css)).await.expect("a query")
    }

    /// Ends the browser session.
    pub async fn close(self) {
        self.driver.close().await.ok();
    }
}
