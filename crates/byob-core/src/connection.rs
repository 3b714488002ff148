//! Connections: the data platforms an org loads files into. The embedded SQLite warehouse, named `local`, is
//! always there and not stored; PostgreSQL and MySQL/MariaDB connections are created by admins.

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

/// Which tables members may write to through a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TableScope {
    /// None.
    None,
    /// Tables byob created through this connection (a load in mode `create`).
    #[default]
    Byob,
    /// Any table the connection's user may write.
    Any,
}

/// What members (not admins) may do through a connection; admins may do everything. The default lets members
/// create tables and append to or replace the tables byob created, and export whole tables — not run their own
/// SQL through the admin's credentials, nor overwrite tables byob did not make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MemberAccess {
    /// Members may create tables (loads in mode `create`). Default true.
    pub create_tables: bool,
    /// Tables members may append to: `none`, `byob` (default) or `any`.
    pub append: TableScope,
    /// Tables members may replace: `none`, `byob` (default) or `any`.
    pub replace: TableScope,
    /// Members may export whole tables. Default true.
    pub export_tables: bool,
    /// Members may export the result of their own SQL. Default false.
    pub run_queries: bool,
    /// The only schema members' loads may write to; unset: any schema.
    pub schema: Option<String>,
}

impl Default for MemberAccess {
    fn default() -> Self {
        Self {
            create_tables: true,
            append: TableScope::Byob,
            replace: TableScope::Byob,
            export_tables: true,
            run_queries: false,
            schema: None,
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
    /// What members may do through the connection (admins may do everything).
    #[serde(default)]
    pub member_access: MemberAccess,
}

/// Where a MySQL or MariaDB connection goes. The password is a secret the connection owns; unqualified table
/// names go to `database` (MySQL's schemas are its databases).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MysqlTarget {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretId>,
    pub tls: TlsMode,
    /// What members may do through the connection (admins may do everything).
    #[serde(default)]
    pub member_access: MemberAccess,
}

/// Where a Snowflake connection goes. The password is a secret the connection owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SnowflakeTarget {
    /// The account identifier: `xy12345.us-east-1` (account locator and region) or `myorg-myaccount`.
    pub account: String,
    /// `{account}.snowflakecomputing.com` unless given (a private-link host).
    pub host: String,
    pub port: u16,
    pub database: String,
    /// Where unqualified table names go. Default `PUBLIC`.
    pub schema: String,
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretId>,
    /// The virtual warehouse statements run on; the user's default when unset.
    pub warehouse: Option<String>,
    /// The role byob's session uses; the user's default when unset.
    pub role: Option<String>,
    pub tls: TlsMode,
    /// The customer's storage integration (`CREATE STORAGE INTEGRATION`) through which Snowflake reads the
    /// customer's bucket for loads it pulls; when unset, byob vends credentials for exactly the staged object.
    pub storage_integration: Option<String>,
    /// Key-pair authentication: the fingerprint (`SHA256:…`) of the public key set on the user, as `DESC USER`
    /// shows it in `RSA_PUBLIC_KEY_FP`; the connection's secret is then the private key. `None`: a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_fingerprint: Option<String>,
    #[serde(default)]
    pub member_access: MemberAccess,
}

/// Where an Amazon Redshift connection goes (a provisioned cluster or a serverless workgroup endpoint). The
/// password is a secret the connection owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RedshiftTarget {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretId>,
    pub tls: TlsMode,
    /// The schema unqualified table names go to. Default `public`.
    pub schema: String,
    /// The customer's IAM role attached to the cluster (`arn:aws:iam::123456789012:role/…`), through which
    /// Redshift reads their bucket for loads it pulls; when unset, byob vends credentials for exactly the staged
    /// object.
    pub iam_role: Option<String>,
    #[serde(default)]
    pub member_access: MemberAccess,
}

/// Where a Databricks SQL connection goes: a workspace, one of its SQL warehouses, a Unity Catalog catalog. The
/// password is the access token (a personal access token or a service principal's), a secret the connection
/// owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DatabricksTarget {
    /// The workspace host: `dbc-a1b2c3d4-e5f6.cloud.databricks.com`, `adb-1234567890123456.7.azuredatabricks.net`.
    pub host: String,
    pub port: u16,
    /// The SQL warehouse's HTTP path, `/sql/1.0/warehouses/{id}`.
    pub http_path: String,
    pub catalog: String,
    /// Where unqualified table names go. Default `default`.
    pub schema: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretId>,
    pub tls: TlsMode,
    #[serde(default)]
    pub member_access: MemberAccess,
}

impl DatabricksTarget {
    /// The SQL warehouse id, the last part of `http_path`.
    #[must_use]
    pub fn warehouse_id(&self) -> &str {
        self.http_path.rsplit('/').next().unwrap_or_default()
    }
}

/// Where a Starburst / Trino connection goes: the coordinator, the catalog and schema tables are loaded into,
/// the user byob runs as. The password (HTTP basic authentication, over TLS only) is a secret the connection
/// owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrinoTarget {
    pub host: String,
    pub port: u16,
    pub catalog: String,
    /// Where unqualified table names go. Default `default`.
    pub schema: String,
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretId>,
    pub tls: TlsMode,
    /// The customer's Hive catalog whose external tables read their bucket, for loads Trino pulls (with that
    /// catalog's own credentials); unset: loads are streamed.
    pub external_catalog: Option<String>,
    #[serde(default)]
    pub member_access: MemberAccess,
}

/// Where a Google BigQuery connection goes: a project, the dataset tables are loaded into, the service account
/// key byob signs its requests with (a secret the connection owns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BigQueryTarget {
    /// `bigquery.googleapis.com` unless given (a private endpoint, or a stand-in).
    pub host: String,
    pub port: u16,
    pub project: String,
    pub dataset: String,
    /// Where jobs run (`US`, `EU`, `europe-west1`); BigQuery's default when unset.
    pub location: Option<String>,
    /// The service account the key belongs to (shown; the key is not).
    pub client_email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_key: Option<SecretId>,
    pub tls: TlsMode,
    #[serde(default)]
    pub member_access: MemberAccess,
}

/// Where a Microsoft SQL Server connection goes (SQL Server 2016 and later, Azure SQL Database, Azure SQL
/// Managed Instance), signed in with SQL authentication. The password is a secret the connection owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SqlServerTarget {
    pub host: String,
    /// The instance's TCP port (named instances: their fixed port; byob does not ask SQL Browser).
    pub port: u16,
    pub database: String,
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretId>,
    pub tls: TlsMode,
    /// The schema unqualified table names go to. Default `dbo`.
    pub schema: String,
    #[serde(default)]
    pub member_access: MemberAccess,
}

/// Databricks has no user name: the token says who byob is.
const TOKEN_USER: &str = "token";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "platform", rename_all = "snake_case")]
pub enum Platform {
    Postgres(PostgresTarget),
    /// MySQL 8 and MariaDB 10.6 and later (one wire protocol).
    Mysql(MysqlTarget),
    Snowflake(SnowflakeTarget),
    Redshift(RedshiftTarget),
    Databricks(DatabricksTarget),
    /// Starburst and Trino.
    Trino(TrinoTarget),
    Bigquery(BigQueryTarget),
    /// Microsoft SQL Server and Azure SQL.
    Sqlserver(SqlServerTarget),
}

/// The fields every network platform has, borrowed from its target.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    pub host: &'a str,
    pub port: u16,
    pub database: &'a str,
    pub user: &'a str,
    pub tls: TlsMode,
    /// Where unqualified table names go.
    pub default_schema: &'a str,
}

impl Platform {
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Mysql(_) => "mysql",
            Self::Snowflake(_) => "snowflake",
            Self::Redshift(_) => "redshift",
            Self::Databricks(_) => "databricks",
            Self::Trino(_) => "trino",
            Self::Bigquery(_) => "bigquery",
            Self::Sqlserver(_) => "sqlserver",
        }
    }

    #[must_use]
    pub fn secret_ids(&self) -> Vec<SecretId> {
        self.password().into_iter().collect()
    }

    /// The password secret, when the connection has one.
    #[must_use]
    pub fn password(&self) -> Option<SecretId> {
        match self {
            Self::Postgres(p) => p.password,
            Self::Mysql(m) => m.password,
            Self::Snowflake(s) => s.password,
            Self::Redshift(r) => r.password,
            Self::Databricks(d) => d.password,
            Self::Trino(t) => t.password,
            Self::Bigquery(b) => b.service_account_key,
            Self::Sqlserver(m) => m.password,
        }
    }

    #[must_use]
    pub fn endpoint(&self) -> Endpoint<'_> {
        match self {
            Self::Postgres(p) => Endpoint {
                host: &p.host,
                port: p.port,
                database: &p.database,
                user: &p.user,
                tls: p.tls,
                default_schema: &p.schema,
            },
            Self::Mysql(m) => Endpoint {
                host: &m.host,
                port: m.port,
                database: &m.database,
                user: &m.user,
                tls: m.tls,
                default_schema: &m.database,
            },
            Self::Snowflake(s) => Endpoint {
                host: &s.host,
                port: s.port,
                database: &s.database,
                user: &s.user,
                tls: s.tls,
                default_schema: &s.schema,
            },
            Self::Redshift(r) => Endpoint {
                host: &r.host,
                port: r.port,
                database: &r.database,
                user: &r.user,
                tls: r.tls,
                default_schema: &r.schema,
            },
            Self::Databricks(d) => Endpoint {
                host: &d.host,
                port: d.port,
                database: &d.catalog,
                user: TOKEN_USER,
                tls: d.tls,
                default_schema: &d.schema,
            },
            Self::Trino(t) => Endpoint {
                host: &t.host,
                port: t.port,
                database: &t.catalog,
                user: &t.user,
                tls: t.tls,
                default_schema: &t.schema,
            },
            Self::Bigquery(b) => Endpoint {
                host: &b.host,
                port: b.port,
                database: &b.project,
                user: &b.client_email,
                tls: b.tls,
                default_schema: &b.dataset,
            },
            Self::Sqlserver(m) => Endpoint {
                host: &m.host,
                port: m.port,
                database: &m.database,
                user: &m.user,
                tls: m.tls,
                default_schema: &m.schema,
            },
        }
    }

    #[must_use]
    pub fn member_access(&self) -> &MemberAccess {
        match self {
            Self::Postgres(p) => &p.member_access,
            Self::Mysql(m) => &m.member_access,
            Self::Snowflake(s) => &s.member_access,
            Self::Redshift(r) => &r.member_access,
            Self::Databricks(d) => &d.member_access,
            Self::Trino(t) => &t.member_access,
            Self::Bigquery(b) => &b.member_access,
            Self::Sqlserver(m) => &m.member_access,
        }
    }

    pub fn member_access_mut(&mut self) -> &mut MemberAccess {
        match self {
            Self::Postgres(p) => &mut p.member_access,
            Self::Mysql(m) => &mut m.member_access,
            Self::Snowflake(s) => &mut s.member_access,
            Self::Redshift(r) => &mut r.member_access,
            Self::Databricks(d) => &mut d.member_access,
            Self::Trino(t) => &mut t.member_access,
            Self::Bigquery(b) => &mut b.member_access,
            Self::Sqlserver(m) => &mut m.member_access,
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
    /// How byob reaches the platform (default `public`).
    #[serde(default)]
    pub network: crate::network::Network,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
