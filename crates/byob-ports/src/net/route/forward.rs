//! A loopback listener that carries each connection accepted along a route, for drivers that open their own
//! TCP connections (sqlx, mysql_async, tiberius, reqwest): they connect to the forward, the forward to the
//! platform. It lives while its owner holds it (one operation), and the first stream is dialed before it opens,
//! so a refused route is reported as itself rather than as a driver's broken connection.
//!
//! The HTTP variant is a proxy for exactly one destination, for HTTP clients: they send `CONNECT host:port`
//! (https) or absolute-form requests (http) and keep their own TLS name and Host header.

use std::net::SocketAddr;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use super::{BoxedStream, Route, RouteError};
use crate::net::NetworkPolicy;

#[derive(Debug)]
pub struct LocalForward {
    addr: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for LocalForward {
    fn drop(&mut self) {
        // Connections already carried keep going; no new one is accepted.
        self.accept.abort();
    }
}

#[derive(Clone)]
struct Destination {
    route: Route,
    policy: NetworkPolicy,
    host: String,
    port: u16,
}

impl Destination {
    async fn dial(&self) -> Result<BoxedStream, RouteError> {
        self.route.dial(&self.policy, &self.host, self.port).await
    }
}

impl LocalForward {
    /// A forward whose every connection is carried to `host:port` as bytes.
    ///
    /// # Errors
    /// The route's error for the first connection.
    pub async fn open(route: Route, policy: NetworkPolicy, host: &str, port: u16) -> Result<Self, RouteError> {
        Self::start(Destination { route, policy, host: host.to_string(), port }, false).await
    }

    /// A local HTTP proxy to exactly `host:port`.
    ///
    /// # Errors
    /// The route's error for the first connection.
    pub async fn http_proxy(route: Route, policy: NetworkPolicy, host: &str, port: u16) -> Result<Self, RouteError> {
        Self::start(Destination { route, policy, host: host.to_string(), port }, true).await
    }

    /// Where the driver connects.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    async fn start(to: Destination, http: bool) -> Result<Self, RouteError> {
        let first = to.dial().await?;
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| RouteError::Connect { what: "a loopback port".into(), reason: e.to_string() })?;
        let addr = listener
            .local_addr()
            .map_err(|e| RouteError::Connect { what: "a loopback port".into(), reason: e.to_string() })?;
        let accept = tokio::spawn(async move {
            let mut first = Some(first);
            while let Ok((local, _)) = listener.accept().await {
                local.set_nodelay(true).ok();
                let to = to.clone();
                let ready = first.take();
                tokio::spawn(async move {
                    if let Err(e) = carry(local, ready, &to, http).await {
                        tracing::info!(host = %to.host, port = to.port, error = %e, "a forwarded connection ended");
                    }
                });
            }
        });
        Ok(Self { addr, accept })
    }
}

async fn carry(
    mut local: TcpStream,
    ready: Option<BoxedStream>,
    to: &Destination,
    http: bool,
) -> Result<(), RouteError> {
    let io = |e: std::io::Error| RouteError::Connect { what: "the local forward".into(), reason: e.to_string() };
    let head = if http { Some(read_head(&mut local).await.map_err(io)?) } else { None };
    let connect = head.as_ref().is_some_and(|h| h.starts_with(b"CONNECT "));
    if let Some(head) = &head {
        let authority = format!("{}:{}", to.host, to.port);
        let line = String::from_utf8_lossy(head.split(|b| *b == b'\r').next().unwrap_or_default()).to_string();
        let target = line.split_whitespace().nth(1).unwrap_or_default();
        let allowed = if connect { target == authority } else { url_authority(target) == Some(authority.clone()) };
        if !allowed {
            local.write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n").await.map_err(io)?;
            return Ok(());
        }
    }
    let mut remote = match ready {
        Some(stream) => stream,
        None => match to.dial().await {
            Ok(stream) => stream,
            Err(e) => {
                if http {
                    let _ = local.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n").await;
                }
                return Err(e);
            }
        },
    };
    match head {
        Some(_) if connect => local.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.map_err(io)?,
        Some(head) => remote.write_all(&head).await.map_err(io)?,
        None => {}
    }
    tokio::io::copy_bidirectional(&mut local, &mut remote).await.map_err(io)?;
    Ok(())
}

/// `host:port` of an absolute-form request target (`http://host:port/path`).
fn url_authority(target: &str) -> Option<String> {
    let url = url::Url::parse(target).ok()?;
    Some(format!("{}:{}", url.host_str()?, url.port_or_known_default()?))
}

/// The request head, up to and including its blank line (at most 16 KiB).
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(512);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(std::io::Error::other("request head too long"));
        }
        head.push(stream.read_u8().await?);
    }
    Ok(head)
}
