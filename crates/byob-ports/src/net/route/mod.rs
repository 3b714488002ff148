//! How byob reaches a data platform: directly, through the customer's SSH bastion, or through their proxy (HTTP
//! CONNECT or SOCKS5). Every hop byob itself connects to — the platform, the bastion, the proxy — passes the
//! [`NetworkPolicy`]; what lies behind a bastion or a proxy is the customer's network, reached and resolved
//! from there.

mod forward;
mod proxy;
mod ssh;

use std::{sync::Arc, time::Duration};

use byob_core::Sensitive;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
};

pub use forward::LocalForward;
pub use ssh::{SshKey, host_key_offered};

use super::{NetError, NetworkPolicy};

/// How long byob waits for one hop (TCP, the SSH handshake, the proxy's answer).
pub const HOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A byte stream to the platform, whatever carries it.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

pub type BoxedStream = Box<dyn Stream>;

/// The customer's SSH bastion and the key byob signs in with.
#[derive(Clone)]
pub struct SshRoute {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub key: SshKey,
    /// The host key the admin confirmed (`SHA256:…`); none: byob refuses to send anything.
    pub host_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    HttpConnect,
    Socks5,
}

/// The customer's proxy.
#[derive(Debug, Clone)]
pub struct ProxyRoute {
    pub kind: ProxyKind,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Sensitive<String>>,
}

#[derive(Clone, Default)]
pub enum Route {
    #[default]
    Direct,
    Ssh(Arc<SshRoute>),
    Proxy(Arc<ProxyRoute>),
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Direct => f.write_str("Direct"),
            Self::Ssh(s) => write!(f, "Ssh({}@{}:{})", s.user, s.host, s.port),
            Self::Proxy(p) => write!(f, "Proxy({:?} {}:{})", p.kind, p.host, p.port),
        }
    }
}

/// Why a route did not reach the platform; each says which hop and what to fix.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("cannot connect to {what}: {reason}")]
    Connect { what: String, reason: String },
    #[error("{what} did not answer within {} s", HOP_TIMEOUT.as_secs())]
    Timeout { what: String },
    #[error(
        "the SSH server's host key {offered} is not confirmed yet: byob sends nothing until an admin confirms it \
         (`byob connections trust-host-key NAME {offered}`)"
    )]
    HostKeyUnconfirmed { offered: String },
    #[error(
        "the SSH server's host key changed: it offered {offered}, the connection trusts {expected}; nothing was sent \
         (if the bastion's key was rotated on purpose, confirm the new one)"
    )]
    HostKeyChanged { expected: String, offered: String },
    #[error("the SSH server refused user `{user}` with byob's key: add the connection's authorized_keys line")]
    SshLogin { user: String },
    #[error(
        "the SSH server refused to forward to {target} ({reason}): its authorized_keys line must allow it \
         (permitopen=\"{target}\")"
    )]
    ForwardRefused { target: String, reason: String },
    #[error("the SSH session failed: {0}")]
    Ssh(String),
    #[error("the proxy {proxy} refused to connect to {target}: {reason}")]
    ProxyRefused { proxy: String, target: String, reason: String },
}

impl Route {
    /// Whether the platform is reached through a hop of the customer's (a bastion or a proxy).
    #[must_use]
    pub fn is_direct(&self) -> bool {
        matches!(self, Self::Direct)
    }

    /// A stream to `host:port` along the route.
    ///
    /// # Errors
    /// [`RouteError`], naming the hop that failed.
    pub async fn dial(&self, policy: &NetworkPolicy, host: &str, port: u16) -> Result<BoxedStream, RouteError> {
        match self {
            Self::Direct => Ok(Box::new(tcp(policy, host, port).await?)),
            Self::Ssh(ssh) => ssh::dial(policy, ssh, host, port).await,
            Self::Proxy(proxy) => proxy::dial(policy, proxy, host, port).await,
        }
    }

    /// The first hop byob itself connects to: the platform, the bastion or the proxy.
    #[must_use]
    pub fn first_hop<'a>(&'a self, host: &'a str, port: u16) -> (&'a str, u16) {
        match self {
            Self::Direct => (host, port),
            Self::Ssh(s) => (&s.host, s.port),
            Self::Proxy(p) => (&p.host, p.port),
        }
    }
}

/// A TCP connection to `host:port` at an address the policy allows.
pub(crate) async fn tcp(policy: &NetworkPolicy, host: &str, port: u16) -> Result<TcpStream, RouteError> {
    let addresses = policy.resolve(host, port).await?;
    let what = format!("{host}:{port}");
    let mut last = None;
    for address in addresses {
        match tokio::time::timeout(HOP_TIMEOUT, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => {
                stream.set_nodelay(true).ok();
                return Ok(stream);
            }
            Ok(Err(e)) => last = Some(RouteError::Connect { what: what.clone(), reason: e.to_string() }),
            Err(_) => last = Some(RouteError::Timeout { what: what.clone() }),
        }
    }
    Err(last.unwrap_or(RouteError::Connect { what, reason: "no address".into() }))
}
