//! Where byob may connect on a tenant's behalf. Every host a tenant names (an integration endpoint, a webhook URL,
//! a PostgreSQL host, a redirect, an upload-session location) is resolved by byob itself and refused when any of
//! its addresses is loopback, private, link-local (cloud metadata), shared or otherwise not public — unless the
//! operator allowed that range (`network.allowed_private_ranges`). The check runs when the connection is made,
//! on the addresses the connection then uses, so a name that resolves elsewhere later (DNS rebinding) gains
//! nothing.

mod address;
mod body;
mod http;
mod resolver;
pub mod route;
mod smithy;
pub mod tls_names;

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

pub use address::not_public;
pub use body::{logged_body, remote_body};
pub(crate) use body::{remote_text, vendor_code};
pub use http::{GuardedConnector, guarded_http_client};
pub use ipnet::IpNet;
pub use resolver::Resolver;
pub use smithy::guarded_smithy_client;

/// Why byob will not connect somewhere.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error(
        "byob does not connect to `{host}` on a tenant's behalf: it resolves to {address}, a {kind} address \
         (the operator may allow that range in network.allowed_private_ranges)"
    )]
    Refused { host: String, address: IpAddr, kind: &'static str },
    #[error("cannot resolve `{host}`: {reason}")]
    Unresolvable { host: String, reason: String },
}

/// The network policy's refusal somewhere in an error's chain (a client's resolver error is wrapped by the
/// client), as its message.
#[must_use]
pub fn refusal_in(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(refused) = e.downcast_ref::<NetError>() {
            return Some(refused.to_string());
        }
        current = e.source();
    }
    None
}

/// The operator's rule for tenant-named destinations: public addresses, plus the ranges it allows.
#[derive(Debug, Clone, Default)]
pub struct NetworkPolicy {
    allowed: Arc<[IpNet]>,
    resolver: Resolver,
}

impl NetworkPolicy {
    /// Public addresses only (the default).
    #[must_use]
    pub fn public_only() -> Self {
        Self::default()
    }

    /// Every address: for the operator's own destinations (the default storage), never for a tenant's.
    #[must_use]
    pub fn any() -> Self {
        Self::allowing(vec![IpNet::V4(ipnet::Ipv4Net::default()), IpNet::V6(ipnet::Ipv6Net::default())])
    }

    /// Public addresses and the given ranges (emulators on loopback, a private network the operator trusts).
    #[must_use]
    pub fn allowing(ranges: Vec<IpNet>) -> Self {
        Self { allowed: ranges.into(), resolver: Resolver::System }
    }

    /// The same policy, looking names up with `resolver` (`network.dns_servers`).
    #[must_use]
    pub fn with_resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = resolver;
        self
    }

    /// Whether `address` is one byob may reach (public, or in a range the operator allowed).
    #[must_use]
    pub fn permits(&self, address: IpAddr) -> bool {
        self.check("", address).is_ok()
    }

    /// The addresses of a host (a name or an address literal), unchecked: for reports that judge them. Anything
    /// that connects uses [`Self::resolve`].
    ///
    /// # Errors
    /// [`NetError::Unresolvable`].
    pub async fn lookup(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, NetError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addresses: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => self
                .resolver
                .lookup(bare, port)
                .await
                .map_err(|reason| NetError::Unresolvable { host: host.to_string(), reason })?,
        };
        if addresses.is_empty() {
            return Err(NetError::Unresolvable { host: host.to_string(), reason: "no addresses".into() });
        }
        Ok(addresses)
    }

    /// Parses the operator's CIDR list.
    ///
    /// # Errors
    /// The first entry that is not a CIDR (`10.0.0.0/8`, `fd00::/8`) or a single address.
    pub fn parse_ranges(ranges: &[String]) -> Result<Vec<IpNet>, String> {
        ranges
            .iter()
            .map(|r| {
                r.parse::<IpNet>()
                    .or_else(|_| r.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{r}` is not a CIDR range such as 10.0.0.0/8 or fd00::/8"))
            })
            .collect()
    }

    /// Refuses an address that is not public, unless the operator allowed its range.
    ///
    /// # Errors
    /// [`NetError::Refused`].
    pub fn check(&self, host: &str, address: IpAddr) -> Result<(), NetError> {
        let Some(kind) = not_public(address) else { return Ok(()) };
        if self.allowed.iter().any(|range| range.contains(&address)) {
            return Ok(());
        }
        Err(NetError::Refused { host: host.to_string(), address, kind })
    }

    /// Resolves a host (a name or an address literal) and checks every address it has: a name with one private
    /// address among public ones is refused whole, since the connection could use any of them.
    ///
    /// # Errors
    /// [`NetError`] when the host does not resolve or any address is refused.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, NetError> {
        let addresses = self.lookup(host, port).await?;
        for a in &addresses {
            self.check(host, a.ip())?;
        }
        Ok(addresses)
    }

    /// Checks a URL's host when it is an address literal. Names are checked when they are resolved (clients
    /// built by [`guarded_http_client`] resolve through the policy), so this is the check names do not need.
    ///
    /// # Errors
    /// [`NetError::Refused`].
    pub fn check_literal(&self, url: &url::Url) -> Result<(), NetError> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check(&ip.to_string(), IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check(&ip.to_string(), IpAddr::V6(ip)),
            _ => Ok(()),
        }
    }
}
