//! The web console at `/console`: static assets embedded in the binary (`crates/byob-api/console/`, plain ES
//! modules: no build step, no CDN, works offline), served with a strict Content-Security-Policy — scripts and
//! styles from byob only, no inline script, no framing, no form posts. The console signs in with an API token
//! kept in the tab's session storage (never in a URL) and calls the same `/v1` API as the CLI.
//!
//! Paths without a file extension are the console's own pages (its router uses the URL's fragment), so they all
//! get `index.html`.

use axum::{
    Router,
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use include_dir::{Dir, include_dir};

static ASSETS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/console");

/// What the console may load and reach: its own scripts, styles and images; the API (same origin) and the
/// buckets its uploads go to straight (any https origin; http only on loopback, for local stores).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' \
     data:; connect-src 'self' https: http://127.0.0.1:* http://localhost:*; form-action 'none'; frame-ancestors \
     'none'; base-uri 'none'";

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

fn asset(path: &str) -> Response {
    let path =
        if path.is_empty() || !path.rsplit('/').next().unwrap_or_default().contains('.') { "index.html" } else { path };
    let Some(file) = ASSETS.get_file(path) else { return StatusCode::NOT_FOUND.into_response() };
    let mut response = file.contents().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The assets change with the binary; a console always runs the one its server serves.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `/console` and everything under it.
pub(crate) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/console", get(|| async { asset("") }))
        .route("/console/", get(|| async { asset("") }))
        .route("/console/{*path}", get(|Path(path): Path<String>| async move { asset(&path) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_get_the_index_and_files_their_type() {
        assert_eq!(content_type("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(asset("integrations").status(), StatusCode::OK);
        assert_eq!(asset("nope.js").status(), StatusCode::NOT_FOUND);
        assert_eq!(asset("../Cargo.toml").status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn the_index_has_no_inline_script() {
        let index = ASSETS.get_file("index.html").and_then(|f| f.contents_utf8()).unwrap_or_default();
        for (at, _) in index.match_indices("<script") {
            let tag = &index[at..index[at..].find('>').map_or(index.len(), |end| at + end)];
            assert!(tag.contains(" src="), "every script is a file: {tag}");
        }
        for handler in ["onclick=", "onload=", "onsubmit=", "onerror=", "javascript:"] {
            assert!(!index.contains(handler), "no inline handler: {handler}");
        }
    }
}
