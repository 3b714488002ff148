//! Where a network platform is and how byob signs in: the same fields for every server byob connects to.

use byob_core::{Sensitive, connection::TlsMode};

use crate::net::{
    NetworkPolicy,
    route::{LocalForward, Route},
};

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: Option<Sensitive<String>>,
    pub tls: TlsMode,
    /// Where unqualified table names go (MySQL: the database).
    pub schema: String,
    /// Which addresses the host (or the bastion or proxy) may resolve to.
    pub network: NetworkPolicy,
    /// Directly, or through the customer's SSH bastion or proxy.
    pub route: Route,
    /// The longest any statement runs (the server stops it), and the reason byob's abandoned statements end.
    pub statement_timeout: std::time::Duration,
}

/// How long byob waits for a server to accept a connection and sign in.
pub(super) const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Where a driver connects: the platform's checked address, or a local forward along the route (held until the
/// driver's connection is made; the connection then keeps going without it).
pub(super) struct DriverAddress {
    pub host: String,
    pub port: u16,
    /// Held until the driver's connection is made.
    pub _forward: Option<LocalForward>,
}

impl ServerSettings {
    /// The address a driver opens its own TCP connection to.
    pub(super) async fn driver_address(&self) -> Result<DriverAddress, super::WarehouseError> {
        if self.route.is_direct() {
            // byob resolves the host itself and refuses private addresses; the driver then connects to the
            // address checked, so a name that resolves elsewhere a moment later (DNS rebinding) gains nothing.
            let addresses = self.network.resolve(&self.host, self.port).await?;
            let host = addresses.first().map_or_else(|| self.host.clone(), |a| a.ip().to_string());
            return Ok(DriverAddress { host, port: self.port, _forward: None });
        }
        let forward = LocalForward::open(self.route.clone(), self.network.clone(), &self.host, self.port).await?;
        let port = forward.addr().port();
        Ok(DriverAddress { host: "127.0.0.1".into(), port, _forward: Some(forward) })
    }

    /// A client for a platform spoken over HTTPS (plain HTTP with `tls: disable`, for a local stand-in) and its
    /// base URL; the host is checked against the network policy, and every address it resolves to as well.
    pub(super) async fn http_client(&self) -> Result<HttpEndpoint, super::WarehouseError> {
        use super::WarehouseError;
        let scheme = if self.tls == TlsMode::Disable { "http" } else { "https" };
        let base = url::Url::parse(&format!("{scheme}://{}:{}/", self.host, self.port))
            .map_err(|e| WarehouseError::Connect(format!("`{}` is not a host: {e}", self.host)))?;
        let mut builder = crate::net::guarded_http_client(&self.network)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(std::time::Duration::from_secs(300));
        let forward = if self.route.is_direct() {
            self.network.check_literal(&base)?;
            None
        } else {
            // The client sends CONNECT (or absolute-form http) to a local proxy that carries exactly this
            // destination along the route; TLS and the Host header stay the platform's own.
            let forward =
                LocalForward::http_proxy(self.route.clone(), self.network.clone(), &self.host, self.port).await?;
            let proxy = reqwest::Proxy::all(format!("http://{}", forward.addr()))
                .map_err(|e| WarehouseError::Connect(e.to_string()))?;
            builder = builder.proxy(proxy);
            Some(std::sync::Arc::new(forward))
        };
        let http = builder.build().map_err(|e| WarehouseError::Connect(e.to_string()))?;
        Ok(HttpEndpoint { http, base, _forward: forward })
    }
}

/// An HTTP platform's client and base URL, and the forward its requests take (kept as long as the client).
#[derive(Debug, Clone)]
pub(super) struct HttpEndpoint {
    pub http: reqwest::Client,
    pub base: url::Url,
    pub _forward: Option<std::sync::Arc<LocalForward>>,
}
