//! What the API takes and shows of connections: the request creating one, its view (never its password), a
//! test's outcome, tables, and an admin's change.

use byob_core::{
    ConnectionId, Sensitive,
    connection::{Connection, LOCAL_CONNECTION, MemberAccess, Platform, TlsMode},
    network::Network,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConnection {
    /// Unique in the org; letters, digits, `-` and `_`, 1-63 characters; `local` is taken.
    pub name: String,
    /// `postgres`, `mysql` (MySQL 8 and MariaDB; `mariadb` is accepted as another name), `snowflake`,
    /// `redshift`, `databricks`, `trino` (Starburst too), `bigquery` or `sqlserver` (SQL Server and Azure SQL; `mssql`
    /// and `azure-sql` are other names). The embedded SQLite warehouse is always there as `local`.
    pub platform: String,
    /// The server's host; Snowflake: `{account}.snowflakecomputing.com` unless given (a private-link host).
    pub host: Option<String>,
    /// Default 5432 (PostgreSQL), 3306 (MySQL), 443 (Snowflake, Databricks, Trino, BigQuery), 5439 (Redshift),
    /// 1433 (SQL Server).
    pub port: Option<u16>,
    /// The database (Databricks: leave out, and name the catalog in `catalog`).
    pub database: Option<String>,
    /// The user byob signs in as (Databricks: leave out; the access token says who byob is).
    pub user: Option<String>,
    /// Write-only: encrypted at rest, never returned. Databricks: the access token.
    #[schema(value_type = Option<String>)]
    pub password: Option<Sensitive<String>>,
    /// `disable`, `prefer` (default), `require`, `verify-ca`, `verify-full` (SQL Server: not `verify-ca`).
    pub tls: Option<TlsMode>,
    /// PostgreSQL and Redshift: where unqualified table names go, default `public`; Snowflake: default `PUBLIC`; SQL
    /// Server: default `dbo`. MySQL has
    /// none (its schemas are its databases: unqualified names go to `database`).
    pub schema: Option<String>,
    /// Snowflake: the account identifier (`myorg-myaccount`, or `xy12345.us-east-1`).
    pub account: Option<String>,
    /// Snowflake: the virtual warehouse statements run on (the user's default when unset).
    pub warehouse: Option<String>,
    /// Snowflake: the role byob's session uses (the user's default when unset).
    pub role: Option<String>,
    /// Snowflake: the customer's storage integration Snowflake reads their bucket through, for loads it pulls.
    pub storage_integration: Option<String>,
    /// Snowflake: key-pair authentication instead of a password — the unencrypted RSA private key (PEM, PKCS#8
    /// or PKCS#1) whose public key is set on the user. Write-only: encrypted at rest, never returned.
    #[schema(value_type = Option<String>)]
    pub private_key: Option<Sensitive<String>>,
    /// Redshift: the customer's IAM role attached to the cluster (`arn:aws:iam::123456789012:role/…`) that
    /// Redshift reads their bucket through, for loads it pulls; unset: byob vends credentials per object.
    pub iam_role: Option<String>,
    /// Databricks: the Unity Catalog catalog tables are in (`main`); Trino: the catalog tables are loaded into.
    pub catalog: Option<String>,
    /// Databricks: the SQL warehouse's HTTP path, `/sql/1.0/warehouses/{id}` (its Connection details).
    pub http_path: Option<String>,
    /// Trino: the customer's Hive catalog whose external tables read their bucket, for loads Trino pulls.
    pub external_catalog: Option<String>,
    /// BigQuery: the project, the dataset tables are loaded into, and where jobs run (`US`, `EU`, a region).
    pub project: Option<String>,
    pub dataset: Option<String>,
    pub location: Option<String>,
    /// BigQuery: the service account key file (JSON). Write-only: encrypted at rest, never returned.
    #[schema(value_type = Option<String>)]
    pub service_account_key: Option<Sensitive<String>>,
    /// What members may do through it (admins may do everything). Default: create tables, append to and replace
    /// the tables byob created, export tables; not run their own SQL.
    pub member_access: Option<MemberAccess>,
    /// How byob reaches the platform: `{"mode": "public"}` (default), `private_link` (with `region`,
    /// `endpoint_service`, `availability_zones`), `ssh_tunnel` (`host`, `port`, `user`: byob makes the key pair)
    /// or `proxy` (`kind`: `http_connect` or `socks5`, `host`, `port`, `username`, `password`).
    pub network: Option<byob_core::network::NetworkRequest>,
}

/// A connection as the API shows it (never its password).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectionView {
    /// `null` for the embedded warehouse.
    pub id: Option<ConnectionId>,
    pub name: String,
    /// `sqlite` (the embedded warehouse), `postgres`, `mysql`, `snowflake`, `redshift`, `databricks`, `trino`,
    /// `bigquery` or `sqlserver`.
    pub platform: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub database: Option<String>,
    pub user: Option<String>,
    pub tls: Option<TlsMode>,
    pub schema: Option<String>,
    pub has_password: bool,
    /// Snowflake: the account, warehouse, role and storage integration (`null` elsewhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warehouse: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_integration: Option<String>,
    /// Snowflake with key-pair authentication: the public key's fingerprint, to compare with `DESC USER`'s
    /// `RSA_PUBLIC_KEY_FP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key_fingerprint: Option<String>,
    /// Redshift: the IAM role Redshift reads the bucket through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam_role: Option<String>,
    /// Databricks and Trino: the catalog; Databricks: the SQL warehouse's HTTP path; Trino: the Hive catalog
    /// of pulled loads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_catalog: Option<String>,
    /// BigQuery: the project (also as `database`), dataset (also as `schema`), location and the key's service
    /// account (also as `user`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// What members may do through it; `null` for the embedded warehouse, where members may do everything.
    pub member_access: Option<MemberAccess>,
    /// How byob reaches the platform (without its secrets); `null` for the embedded warehouse.
    pub network: Option<Network>,
    /// `ssh_tunnel`: the line to add to the bastion's `authorized_keys`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorized_keys: Option<String>,
}

impl ConnectionView {
    pub(super) fn local() -> Self {
        Self {
            id: None,
            name: LOCAL_CONNECTION.into(),
            platform: "sqlite".into(),
            host: None,
            port: None,
            database: None,
            user: None,
            tls: None,
            schema: None,
            has_password: false,
            account: None,
            warehouse: None,
            role: None,
            storage_integration: None,
            public_key_fingerprint: None,
            iam_role: None,
            catalog: None,
            http_path: None,
            external_catalog: None,
            project: None,
            dataset: None,
            location: None,
            member_access: None,
            network: None,
            authorized_keys: None,
        }
    }

    pub(super) fn of(c: &Connection) -> Self {
        let e = c.platform.endpoint();
        let snowflake = match &c.platform {
            Platform::Snowflake(s) => Some(s),
            _ => None,
        };
        let databricks = match &c.platform {
            Platform::Databricks(d) => Some(d),
            _ => None,
        };
        let bigquery = match &c.platform {
            Platform::Bigquery(b) => Some(b),
            _ => None,
        };
        Self {
            id: Some(c.id),
            name: c.name.clone(),
            platform: c.platform.name().into(),
            host: Some(e.host.into()),
            port: Some(e.port),
            database: Some(e.database.into()),
            user: Some(e.user.into()),
            tls: Some(e.tls),
            schema: Some(e.default_schema.into()),
            has_password: c.platform.password().is_some(),
            account: snowflake.map(|s| s.account.clone()),
            warehouse: snowflake.and_then(|s| s.warehouse.clone()),
            role: snowflake.and_then(|s| s.role.clone()),
            storage_integration: snowflake.and_then(|s| s.storage_integration.clone()),
            public_key_fingerprint: snowflake.and_then(|s| s.public_key_fingerprint.clone()),
            iam_role: match &c.platform {
                Platform::Redshift(r) => r.iam_role.clone(),
                _ => None,
            },
            catalog: match &c.platform {
                Platform::Databricks(d) => Some(d.catalog.clone()),
                Platform::Trino(t) => Some(t.catalog.clone()),
                _ => None,
            },
            http_path: databricks.map(|d| d.http_path.clone()),
            external_catalog: match &c.platform {
                Platform::Trino(t) => t.external_catalog.clone(),
                _ => None,
            },
            project: bigquery.map(|b| b.project.clone()),
            dataset: bigquery.map(|b| b.dataset.clone()),
            location: bigquery.and_then(|b| b.location.clone()),
            member_access: Some(c.platform.member_access().clone()),
            network: Some(shown(&c.network)),
            authorized_keys: match &c.network {
                Network::SshTunnel(t) => Some(super::network::authorized_keys_line(t, &c.platform, &c.name)),
                _ => None,
            },
        }
    }
}

/// The network settings without the ids of their secrets.
fn shown(network: &Network) -> Network {
    let mut shown = network.clone();
    match &mut shown {
        Network::SshTunnel(t) => t.private_key = None,
        Network::Proxy(p) => p.password = None,
        Network::Public | Network::PrivateLink(_) => {}
    }
    shown
}

/// An admin's confirmation of the SSH bastion's host key.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustHostKey {
    /// The host key's fingerprint as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it on the bastion
    /// (`SHA256:…`); byob pins it only when the bastion offers exactly that key now.
    pub fingerprint: String,
}

/// The outcome of a connection test.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectionTest {
    pub ok: bool,
    pub platform: String,
    pub duration_ms: u64,
    /// Why it failed, in the platform's words.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TableView {
    pub schema: Option<String>,
    pub name: String,
}

/// An admin's change to a connection: what members may do through it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConnection {
    pub member_access: MemberAccess,
}
