//! Through the customer's proxy: SOCKS5 (tokio-socks, the target's name resolved by the proxy) or HTTP CONNECT.
//! CONNECT is one request line and one status line; no maintained crate does only that over an existing
//! stream, so it is written here.

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{BoxedStream, HOP_TIMEOUT, ProxyKind, ProxyRoute, RouteError, tcp};
use crate::net::NetworkPolicy;

/// The longest proxy answer byob reads before the tunnel starts.
const MAX_ANSWER: usize = 8 * 1024;

pub(super) async fn dial(
    policy: &NetworkPolicy,
    route: &ProxyRoute,
    host: &str,
    port: u16,
) -> Result<BoxedStream, RouteError> {
    let stream = tcp(policy, &route.host, route.port).await?;
    let proxy = format!("{}:{}", route.host, route.port);
    let target = format!("{host}:{port}");
    let refused = |reason: String| RouteError::ProxyRefused { proxy: proxy.clone(), target: target.clone(), reason };
    let opened = async {
        match route.kind {
            ProxyKind::Socks5 => {
                let socks = match (&route.username, &route.password) {
                    (Some(user), Some(password)) => {
                        tokio_socks::tcp::Socks5Stream::connect_with_password_and_socket(
                            stream,
                            (host, port),
                            user,
                            password.expose(),
                        )
                        .await
                    }
                    _ => tokio_socks::tcp::Socks5Stream::connect_with_socket(stream, (host, port)).await,
                };
                socks.map(|s| Box::new(s) as BoxedStream).map_err(|e| refused(e.to_string()))
            }
            ProxyKind::HttpConnect => connect(stream, route, &target).await.map_err(refused),
        }
    };
    tokio::time::timeout(HOP_TIMEOUT, opened)
        .await
        .map_err(|_| RouteError::Timeout { what: format!("the proxy {proxy}") })?
}

/// `CONNECT target HTTP/1.1`, then the tunnel once the proxy answers 2xx.
async fn connect(mut stream: tokio::net::TcpStream, route: &ProxyRoute, target: &str) -> Result<BoxedStream, String> {
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let (Some(user), Some(password)) = (&route.username, &route.password) {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", password.expose()));
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
    // Byte by byte up to the blank line, so nothing of the tunnel's first bytes is consumed.
    let mut answer = Vec::with_capacity(256);
    while !answer.ends_with(b"\r\n\r\n") {
        if answer.len() >= MAX_ANSWER {
            return Err("the proxy's answer has no end".into());
        }
        let byte = stream.read_u8().await.map_err(|e| format!("the proxy closed the connection ({e})"))?;
        answer.push(byte);
    }
    let text = String::from_utf8_lossy(&answer);
    let status_line = text.lines().next().unwrap_or_default().to_string();
    let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse::<u16>().ok());
    match status {
        Some(200..=299) => Ok(Box::new(stream)),
        _ => Err(format!("it answered `{status_line}`")),
    }
}
