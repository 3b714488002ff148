//! Connections: the data platforms an org loads files into. The embedded SQLite warehouse, named `local`, is
//! always there and not stored; PostgreSQL connections are created by admins.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ConnectionId, OrgId, SecretId};

/// The name of the embedded warehouse every org sees.
pub const LOCAL_CONNECTION: &str = "local";

/// How byob secures its connection to PostgreSQL (libpq's `sslmode` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    Disable,
    /// TLS when the server offers it (libpq's default).
    #[default]
    Prefer,
    Require,
    /// TLS, and the server certificate must chain to a trusted root.
    VerifyCa,
    /// As `verify-ca`, and the certificate must name the host.
    VerifyFull,
}

impl TlsMode {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// Where a PostgreSQL connection goes. The password is a secret the connection owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PostgresTarget {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretId>,
    pub tls: TlsMode,
    /// The schema unqualified table names go to. Default `public`.
    pub schema: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "platform", rename_all = "snake_case")]
pub enum Platform {
    Postgres(PostgresTarget),
}

impl Platform {
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
        }
    }

    #[must_use]
    pub fn secret_ids(&self) -> Vec<SecretId> {
        match self {
            Self::Postgres(p) => p.password.into_iter().collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub id: ConnectionId,
    pub org_id: OrgId,
    /// Unique in the org; how members name the connection (`byob upload … --load-into NAME.TABLE`).
    pub name: String,
    pub platform: Platform,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
