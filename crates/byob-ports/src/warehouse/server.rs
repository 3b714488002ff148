//! Where a network platform is and how byob signs in: the same fields for every server byob connects to.

use byob_core::{Sensitive, connection::TlsMode};

use crate::net::NetworkPolicy;

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
    /// Which addresses the host may resolve to.
    pub network: NetworkPolicy,
    /// The longest any statement runs (the server stops it), and the reason byob's abandoned statements end.
    pub statement_timeout: std::time::Duration,
}

/// How long byob waits for a server to accept a connection and sign in.
pub(super) const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

impl ServerSettings {
    /// A client for a platform spoken over HTTPS (plain HTTP with `tls: disable`, for a local stand-in) and its
    /// base URL; the host is checked against the network policy, and every address it resolves to as well.
    pub(super) fn http_client(&self) -> Result<(reqwest::Client, url::Url), super::WarehouseError> {
        use super::WarehouseError;
        let scheme = if self.tls == TlsMode::Disable { "http" } else { "https" };
        let base = url::Url::parse(&format!("{scheme}://{}:{}/", self.host, self.port))
            .map_err(|e| WarehouseError::Connect(format!("`{}` is not a host: {e}", self.host)))?;
        self.network.check_literal(&base)?;
        let http = crate::net::guarded_http_client(&self.network)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(std::time::Duration::from_secs(300))
            .build()
            .map_err(|e| WarehouseError::Connect(e.to_string()))?;
        Ok((http, base))
    }
}
