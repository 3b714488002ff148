//! Where byob looks names up: the system's resolver, or the DNS servers the operator named
//! (`network.dns_servers`) — a private zone the host's own resolver does not serve, or a test's local server.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use hickory_resolver::{
    TokioResolver,
    config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts},
    net::runtime::TokioRuntimeProvider,
};

#[derive(Clone, Default)]
pub enum Resolver {
    /// The host's resolver (tokio's `lookup_host`, i.e. getaddrinfo).
    #[default]
    System,
    /// Only these servers, over UDP and then TCP.
    Servers(Arc<TokioResolver>),
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::System => f.write_str("System"),
            Self::Servers(_) => f.write_str("Servers"),
        }
    }
}

impl Resolver {
    /// A resolver asking only `servers` (no cache: a changed private zone shows at the next check).
    ///
    /// # Errors
    /// When the resolver cannot be built.
    pub fn servers(servers: &[SocketAddr]) -> Result<Self, String> {
        let name_servers = servers
            .iter()
            .map(|server| {
                let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()]
                    .into_iter()
                    .map(|mut c| {
                        c.port = server.port();
                        c
                    })
                    .collect();
                NameServerConfig::new(server.ip(), true, connections)
            })
            .collect();
        let config = ResolverConfig::from_parts(None, vec![], name_servers);
        let mut options = ResolverOpts::default();
        options.timeout = Duration::from_secs(3);
        options.attempts = 2;
        options.cache_size = 0;
        let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        *builder.options_mut() = options;
        builder.build().map(|r| Self::Servers(Arc::new(r))).map_err(|e| e.to_string())
    }

    /// The addresses of a name (not an address literal: callers parse those first).
    ///
    /// # Errors
    /// The resolver's reason, as text.
    pub async fn lookup(&self, name: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        match self {
            Self::System => {
                tokio::net::lookup_host((name, port)).await.map(Iterator::collect).map_err(|e| e.to_string())
            }
            Self::Servers(resolver) => {
                let fqdn = if name.ends_with('.') { name.to_string() } else { format!("{name}.") };
                let found = resolver.lookup_ip(fqdn.as_str()).await.map_err(|e| e.to_string())?;
                Ok(found.iter().map(|ip| SocketAddr::new(ip, port)).collect())
            }
        }
    }
}
