//! Through the customer's SSH bastion: byob signs in with the connection's own Ed25519 key, only after the
//! server's host key matched the one an admin confirmed, and asks for a `direct-tcpip` channel to the platform
//! (what `ssh -L` does). The bastion's `authorized_keys` line limits the key to that one destination.

use std::sync::{Arc, Mutex};

use byob_core::Sensitive;
use russh::{
    ChannelStream,
    client::{self, Handle, Msg},
    keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, ssh_key::LineEnding},
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{BoxedStream, HOP_TIMEOUT, RouteError, SshRoute, tcp};
use crate::net::NetworkPolicy;

/// A connection's SSH key pair (Ed25519).
#[derive(Clone)]
pub struct SshKey(Arc<PrivateKey>);

impl SshKey {
    /// A new key pair from 32 random bytes.
    #[must_use]
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let pair = russh::keys::ssh_key::private::Ed25519Keypair::from_seed(seed);
        Self(Arc::new(PrivateKey::from(pair)))
    }

    /// A key in OpenSSH's private-key format (as sealed).
    ///
    /// # Errors
    /// When the text is not an unencrypted OpenSSH private key.
    pub fn from_openssh(text: &str) -> Result<Self, String> {
        let key = PrivateKey::from_openssh(text).map_err(|e| e.to_string())?;
        if key.is_encrypted() {
            return Err("the key is encrypted".into());
        }
        Ok(Self(Arc::new(key)))
    }

    /// OpenSSH's private-key format, to seal.
    ///
    /// # Errors
    /// When the key cannot be encoded.
    pub fn to_openssh(&self) -> Result<Sensitive<String>, String> {
        self.0.to_openssh(LineEnding::LF).map(|s| Sensitive::new(s.to_string())).map_err(|e| e.to_string())
    }

    /// The public key as an `authorized_keys` key (`ssh-ed25519 AAAA…`), without options or comment.
    ///
    /// # Errors
    /// When the key cannot be encoded.
    pub fn public_openssh(&self) -> Result<String, String> {
        let mut public = self.0.public_key().clone();
        public.set_comment("");
        public.to_openssh().map(|s| s.trim().to_string()).map_err(|e| e.to_string())
    }
}

/// Records the host key the server offers and accepts it only when it is the confirmed one.
struct HostKeyCheck {
    expected: Option<String>,
    offered: Arc<Mutex<Option<String>>>,
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(&mut self, key: &russh::keys::PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let fingerprint = match key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => key.fingerprint(HashAlg::Sha256).to_string(),
            russh::keys::PublicKeyOrCertificate::Certificate(cert) => {
                cert.public_key().fingerprint(HashAlg::Sha256).to_string()
            }
        };
        let matches = self.expected.as_deref() == Some(fingerprint.as_str());
        if let Ok(mut offered) = self.offered.lock() {
            *offered = Some(fingerprint);
        }
        Ok(matches)
    }
}

fn config() -> Arc<client::Config> {
    Arc::new(client::Config {
        inactivity_timeout: None,
        keepalive_interval: Some(std::time::Duration::from_secs(30)),
        nodelay: true,
        ..Default::default()
    })
}

/// The key exchange with the SSH server at `host:port`: the session (when the offered host key is `expected`),
/// the fingerprint it offered, and how a message names the server.
async fn exchange(
    policy: &NetworkPolicy,
    host: &str,
    port: u16,
    expected: Option<String>,
) -> Result<(Result<Handle<HostKeyCheck>, russh::Error>, Option<String>, String), RouteError> {
    let tcp = tcp(policy, host, port).await?;
    let offered = Arc::new(Mutex::new(None));
    let check = HostKeyCheck { expected, offered: offered.clone() };
    let what = format!("the SSH server {host}:{port}");
    let session = tokio::time::timeout(HOP_TIMEOUT, client::connect_stream(config(), tcp, check))
        .await
        .map_err(|_| RouteError::Timeout { what: what.clone() })?;
    let offered = offered.lock().ok().and_then(|o| o.clone());
    Ok((session, offered, what))
}

/// The SSH handshake up to the host key: a session when the key is the confirmed one.
async fn handshake(policy: &NetworkPolicy, route: &SshRoute) -> Result<Handle<HostKeyCheck>, RouteError> {
    let (session, offered, what) = exchange(policy, &route.host, route.port, route.host_key.clone()).await?;
    match (session, offered, &route.host_key) {
        (Ok(session), _, _) => Ok(session),
        (Err(russh::Error::UnknownKey), Some(offered), None) => Err(RouteError::HostKeyUnconfirmed { offered }),
        (Err(russh::Error::UnknownKey), Some(offered), Some(expected)) => {
            Err(RouteError::HostKeyChanged { expected: expected.clone(), offered })
        }
        (Err(e), _, _) => Err(RouteError::Connect { what, reason: e.to_string() }),
    }
}

/// The host key the SSH server offers (`SHA256:…`), without signing in: what an admin is asked to confirm.
///
/// # Errors
/// When the server cannot be reached or offers no key.
pub async fn host_key_offered(policy: &NetworkPolicy, host: &str, port: u16) -> Result<String, RouteError> {
    match exchange(policy, host, port, None).await? {
        (_, Some(offered), _) => Ok(offered),
        (Err(e), None, what) => Err(RouteError::Connect { what, reason: e.to_string() }),
        (Ok(_), None, _) => Err(RouteError::Ssh("the server offered no host key".into())),
    }
}

/// A `direct-tcpip` channel to `host:port` through the bastion, holding its session open.
pub(super) async fn dial(
    policy: &NetworkPolicy,
    route: &SshRoute,
    host: &str,
    port: u16,
) -> Result<BoxedStream, RouteError> {
    let mut session = handshake(policy, route).await?;
    let key = PrivateKeyWithHashAlg::new(route.key.0.clone(), None);
    let auth = tokio::time::timeout(HOP_TIMEOUT, session.authenticate_publickey(route.user.clone(), key))
        .await
        .map_err(|_| RouteError::Timeout { what: format!("the SSH server's sign-in of `{}`", route.user) })?
        .map_err(|e| RouteError::Ssh(e.to_string()))?;
    if !auth.success() {
        return Err(RouteError::SshLogin { user: route.user.clone() });
    }
    let target = format!("{host}:{port}");
    let channel = tokio::time::timeout(
        HOP_TIMEOUT,
        session.channel_open_direct_tcpip(host.to_string(), u32::from(port), "127.0.0.1".to_string(), 0),
    )
    .await
    .map_err(|_| RouteError::Timeout { what: format!("the SSH server's forward to {target}") })?
    .map_err(|e| match e {
        russh::Error::ChannelOpenFailure(why) => {
            RouteError::ForwardRefused { target: target.clone(), reason: why.description().to_string() }
        }
        other => RouteError::Ssh(other.to_string()),
    })?;
    Ok(Box::new(Tunnel { stream: channel.into_stream(), _session: session }))
}

/// A channel's stream and the session it lives in (dropping the session would close the channel).
struct Tunnel {
    stream: ChannelStream<Msg>,
    _session: Handle<HostKeyCheck>,
}

impl AsyncRead for Tunnel {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tunnel {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
