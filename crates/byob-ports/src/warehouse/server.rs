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
