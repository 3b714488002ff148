//! The one place that maps a data platform to its module: which platforms a connection may name, the record
//! each keeps, and the [`Warehouse`] that serves it. Adding a platform means a module in
//! `byob_ports::warehouse`, a variant of [`Platform`] and an arm here.

use std::sync::Arc;

use super::connections::CreateConnection;
use byob_core::{
    SecretId,
    connection::{
        BigQueryTarget, DatabricksTarget, MemberAccess, MysqlTarget, Platform, PostgresTarget, RedshiftTarget,
        SnowflakeTarget, SqlServerTarget, TlsMode, TrinoTarget,
    },
    location::{FieldError, RoleArn, ServiceAccountKey},
    table::check_identifier,
};
use byob_ports::warehouse::{
    BigQuerySettings, BigQueryWarehouse, DatabricksSettings, DatabricksWarehouse, MysqlWarehouse, PostgresWarehouse,
    RedshiftWarehouse, ServerSettings, SnowflakeKeyPair, SnowflakeSettings, SnowflakeWarehouse, SqlServerWarehouse,
    TrinoSettings, TrinoWarehouse, Warehouse,
};

/// The platforms a connection may name, as the API spells them (`mariadb` is another name for `mysql`,
/// `starburst` for `trino`, `mssql` and `azure-sql` for `sqlserver`).
pub const PLATFORMS: [&str; 12] = [
    "postgres",
    "mysql",
    "mariadb",
    "snowflake",
    "redshift",
    "databricks",
    "trino",
    "starburst",
    "bigquery",
    "sqlserver",
    "mssql",
    "azure-sql",
];

impl CreateConnection {
    /// The optional fields given in the request.
    fn given(&self) -> Vec<&'static str> {
        [
            ("database", self.database.is_some()),
            ("user", self.user.is_some()),
            ("schema", self.schema.is_some()),
            ("account", self.account.is_some()),
            ("warehouse", self.warehouse.is_some()),
            ("role", self.role.is_some()),
            ("storage_integration", self.storage_integration.is_some()),
            ("iam_role", self.iam_role.is_some()),
            ("catalog", self.catalog.is_some()),
            ("http_path", self.http_path.is_some()),
            ("external_catalog", self.external_catalog.is_some()),
            ("project", self.project.is_some()),
            ("dataset", self.dataset.is_some()),
            ("location", self.location.is_some()),
            ("service_account_key", self.service_account_key.is_some()),
            ("private_key", self.private_key.is_some()),
            ("password", self.password.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, given)| given.then_some(field))
        .collect()
    }

    /// Refuses every optional field `platform` has no use for (those not in `takes`).
    fn only(&self, platform: &str, takes: &[&str]) -> Result<(), FieldError> {
        let Some(field) = self.given().into_iter().find(|f| !takes.contains(f)) else { return Ok(()) };
        let hint = match (platform, field) {
            ("MySQL", "schema") => {
                "MySQL's schemas are its databases: leave `schema` out and name the database in `database` (tables \
                 may still be written as DATABASE.TABLE)"
                    .to_string()
            }
            ("Databricks", "database") => "Databricks names its catalog in `catalog`: leave `database` out".into(),
            ("Databricks", "user") => {
                "the access token (`password`) says who byob is on Databricks: leave `user` out".into()
            }
            _ => format!("{platform} connections have no `{field}`; leave it out (docs/connections.md)"),
        };
        Err(FieldError::new(field, byob_core::rules::CONNECTION_FIELD_NOT_FOR_PLATFORM, hint))
    }

    fn host(&mut self) -> Result<String, FieldError> {
        self.host.take().ok_or_else(|| {
            FieldError::new("host", byob_core::rules::CONNECTION_HOST, "give the server's host name or IP address")
        })
    }
}

/// A field the platform needs, or what to give.
fn required(field: &'static str, value: Option<String>, what: &str) -> Result<String, FieldError> {
    value.ok_or_else(|| FieldError::new(field, byob_core::rules::CONNECTION_FIELD_REQUIRED, format!("give {what}")))
}

/// A Databricks SQL warehouse's HTTP path: `/sql/1.0/warehouses/{id}` (or the older `/sql/1.0/endpoints/{id}`),
/// the id being letters and digits.
fn check_http_path(path: &str) -> Result<(), FieldError> {
    let id = path.strip_prefix("/sql/1.0/warehouses/").or_else(|| path.strip_prefix("/sql/1.0/endpoints/"));
    if id.is_some_and(|id| (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return Ok(());
    }
    Err(FieldError::new(
        "http_path",
        byob_core::rules::DATABRICKS_HTTP_PATH,
        format!(
            "`{path}` is not a SQL warehouse's HTTP path: copy it from the warehouse's Connection details, e.g. \
             `/sql/1.0/warehouses/1234567890abcdef` (clusters' paths are not SQL warehouses)"
        ),
    ))
}

/// A Snowflake account identifier: `xy12345`, `xy12345.us-east-1`, `xy12345.us-east-2.aws`, or
/// `myorg-myaccount` — letters, digits, `_` and `-`, in one to three dot-separated parts.
fn check_account(account: &str) -> Result<(), FieldError> {
    let parts: Vec<&str> = account.split('.').collect();
    let ok = (1..=3).contains(&parts.len())
        && account.len() <= 255
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
    if ok {
        return Ok(());
    }
    Err(FieldError::new(
        "account",
        byob_core::rules::SNOWFLAKE_ACCOUNT,
        format!(
            "`{account}` is not a Snowflake account identifier: give `orgname-accountname` or the account locator              with its region (`xy12345.us-east-1`), without `https://` or `.snowflakecomputing.com`"
        ),
    ))
}

/// A Google Cloud project id: 6-30 lower-case letters, digits and hyphens, starting with a letter (an older
/// domain-scoped id, `example.com:project`, too).
fn check_project(project: &str) -> Result<(), FieldError> {
    let id = project.rsplit(':').next().unwrap_or_default();
    let ok = (6..=30).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        return Ok(());
    }
    Err(FieldError::new(
        "project",
        byob_core::rules::BIGQUERY_PROJECT,
        format!(
            "`{project}` is not a Google Cloud project id: 6-30 lower-case letters, digits and hyphens, starting \
             with a letter (the id, not the project's name or number)"
        ),
    ))
}

/// A BigQuery dataset name: letters, digits and underscores, at most 1,024.
fn check_dataset(dataset: &str) -> Result<(), FieldError> {
    if (1..=1024).contains(&dataset.len()) && dataset.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Ok(());
    }
    Err(FieldError::new(
        "dataset",
        byob_core::rules::BIGQUERY_DATASET,
        format!("`{dataset}` is not a BigQuery dataset name: letters, digits and underscores only"),
    ))
}

/// The platform `name` stands for, or why it is not one byob connects to.
pub(crate) fn check_platform(name: &str) -> Result<&'static str, FieldError> {
    match name {
        "postgres" => Ok("postgres"),
        "mysql" | "mariadb" => Ok("mysql"),
        "snowflake" => Ok("snowflake"),
        "redshift" => Ok("redshift"),
        "databricks" => Ok("databricks"),
        "trino" | "starburst" => Ok("trino"),
        "bigquery" => Ok("bigquery"),
        "sqlserver" | "mssql" | "azure-sql" => Ok("sqlserver"),
        other => Err(FieldError::new(
            "platform",
            byob_core::rules::PLATFORM_UNSUPPORTED,
            format!(
                "`{other}` is not a platform byob connects to yet; use one of {} (the embedded warehouse is always \
                 there as `local`)",
                PLATFORMS.map(|p| format!("`{p}`")).join(", ")
            ),
        )),
    }
}

/// The port a platform listens on unless told otherwise.
pub(crate) fn default_port(platform: &str) -> u16 {
    match platform {
        "mysql" => 3306,
        "snowflake" | "databricks" | "trino" | "bigquery" => 443,
        "redshift" => 5439,
        "sqlserver" => 1433,
        _ => 5432,
    }
}

/// The record a connection keeps for `platform` (one of [`check_platform`]'s answers), from the request whose
/// name, host and identifiers the caller checked, with its password sealed as `password`.
pub(crate) fn target(
    platform: &str,
    mut f: CreateConnection,
    password: Option<SecretId>,
    member_access: MemberAccess,
) -> Result<Platform, FieldError> {
    let port = f.port.unwrap_or_else(|| default_port(platform));
    let tls = f.tls.unwrap_or_default();
    match platform {
        "snowflake" => {
            f.only(
                "Snowflake",
                &[
                    "database",
                    "user",
                    "schema",
                    "account",
                    "warehouse",
                    "role",
                    "storage_integration",
                    "password",
                    "private_key",
                ],
            )?;
            let public_key_fingerprint = match (&f.private_key, &f.password) {
                (Some(_), Some(_)) => {
                    return Err(FieldError::new(
                        "private_key",
                        byob_core::rules::SNOWFLAKE_PRIVATE_KEY,
                        "give either `password` or `private_key` (key-pair authentication), not both",
                    ));
                }
                (Some(key), None) => Some(
                    SnowflakeKeyPair::parse(key.expose())
                        .map_err(|why| FieldError::new("private_key", byob_core::rules::SNOWFLAKE_PRIVATE_KEY, why))?
                        .fingerprint()
                        .to_string(),
                ),
                (None, _) => None,
            };
            let account = f.account.take().ok_or_else(|| {
                FieldError::new("account", byob_core::rules::SNOWFLAKE_ACCOUNT, "give the Snowflake account identifier")
            })?;
            check_account(&account)?;
            for (field, value) in
                [("warehouse", &f.warehouse), ("role", &f.role), ("storage_integration", &f.storage_integration)]
            {
                if let Some(value) = value {
                    check_identifier(field, value)?;
                }
            }
            Ok(Platform::Snowflake(SnowflakeTarget {
                host: f.host.take().unwrap_or_else(|| format!("{account}.snowflakecomputing.com")),
                account,
                port,
                database: required("database", f.database, "the database")?,
                schema: f.schema.unwrap_or_else(|| "PUBLIC".into()),
                user: required("user", f.user, "the user byob signs in as")?,
                password,
                warehouse: f.warehouse,
                role: f.role,
                tls,
                storage_integration: f.storage_integration,
                public_key_fingerprint,
                member_access,
            }))
        }
        "mysql" => {
            f.only("MySQL", &["database", "user", "password"])?;
            Ok(Platform::Mysql(MysqlTarget {
                host: f.host()?,
                port,
                database: required("database", f.database, "the database")?,
                user: required("user", f.user, "the user byob signs in as")?,
                password,
                tls,
                member_access,
            }))
        }
        "redshift" => {
            f.only("Redshift", &["database", "user", "schema", "iam_role", "password"])?;
            let iam_role = match f.iam_role.take() {
                Some(arn) => Some(RoleArn::parse("iam_role", &arn)?.as_str().to_string()),
                None => None,
            };
            Ok(Platform::Redshift(RedshiftTarget {
                host: f.host()?,
                port,
                database: required("database", f.database, "the database")?,
                user: required("user", f.user, "the user byob signs in as")?,
                password,
                tls,
                schema: f.schema.unwrap_or_else(|| "public".into()),
                iam_role,
                member_access,
            }))
        }
        "databricks" => {
            f.only("Databricks", &["schema", "catalog", "http_path", "password"])?;
            let http_path = required("http_path", f.http_path.take(), "the SQL warehouse's HTTP path")?;
            check_http_path(&http_path)?;
            if password.is_none() {
                return Err(FieldError::new(
                    "password",
                    byob_core::rules::CONNECTION_FIELD_REQUIRED,
                    "give the access token (a personal access token or a service principal's) as `password`",
                ));
            }
            Ok(Platform::Databricks(DatabricksTarget {
                host: f.host()?,
                port,
                http_path,
                catalog: required("catalog", f.catalog, "the Unity Catalog catalog (e.g. `main`)")?,
                schema: f.schema.unwrap_or_else(|| "default".into()),
                password,
                tls,
                member_access,
            }))
        }
        "trino" => {
            f.only("Trino", &["user", "schema", "catalog", "external_catalog", "password"])?;
            if password.is_some() && tls == TlsMode::Disable {
                return Err(FieldError::new(
                    "password",
                    byob_core::rules::CONNECTION_PASSWORD_NEEDS_TLS,
                    "Trino takes a password over TLS only: set `tls` to `require` or `verify-full`, or leave the \
                     password out",
                ));
            }
            if let Some(catalog) = &f.external_catalog {
                check_identifier("external_catalog", catalog)?;
            }
            Ok(Platform::Trino(TrinoTarget {
                host: f.host()?,
                port,
                catalog: required("catalog", f.catalog, "the catalog tables are loaded into")?,
                schema: f.schema.unwrap_or_else(|| "default".into()),
                user: required("user", f.user, "the user byob runs queries as")?,
                password,
                tls,
                external_catalog: f.external_catalog,
                member_access,
            }))
        }
        "bigquery" => {
            f.only("BigQuery", &["project", "dataset", "location", "service_account_key"])?;
            let key = f.service_account_key.take().ok_or_else(|| {
                FieldError::new(
                    "service_account_key",
                    byob_core::rules::CONNECTION_FIELD_REQUIRED,
                    "give the service account's key file (JSON) as `service_account_key`",
                )
            })?;
            let key = ServiceAccountKey::parse("service_account_key", key.expose())?;
            let project = required("project", f.project, "the Google Cloud project")?;
            check_project(&project)?;
            let dataset = required("dataset", f.dataset, "the dataset tables are loaded into")?;
            check_dataset(&dataset)?;
            if let Some(location) = &f.location {
                check_identifier("location", location)?;
            }
            Ok(Platform::Bigquery(BigQueryTarget {
                host: f.host.take().unwrap_or_else(|| "bigquery.googleapis.com".into()),
                port,
                project,
                dataset,
                location: f.location,
                client_email: key.client_email,
                service_account_key: password,
                tls,
                member_access,
            }))
        }
        "sqlserver" => {
            f.only("SQL Server", &["database", "user", "schema", "password"])?;
            if tls == TlsMode::VerifyCa {
                return Err(FieldError::new(
                    "tls",
                    byob_core::rules::CONNECTION_TLS_MODE,
                    "SQL Server's drivers check the certificate's chain and its name together: use `verify-full` \
                     (with `host` as the certificate names it), or `require` to encrypt without checking",
                ));
            }
            Ok(Platform::Sqlserver(SqlServerTarget {
                host: f.host()?,
                port,
                database: required("database", f.database, "the database")?,
                user: required("user", f.user, "the SQL login byob signs in as")?,
                password,
                tls,
                schema: f.schema.unwrap_or_else(|| "dbo".into()),
                member_access,
            }))
        }
        _ => {
            f.only("PostgreSQL", &["database", "user", "schema", "password"])?;
            Ok(Platform::Postgres(PostgresTarget {
                host: f.host()?,
                port,
                database: required("database", f.database, "the database")?,
                user: required("user", f.user, "the user byob signs in as")?,
                password,
                tls,
                schema: f.schema.unwrap_or_else(|| "public".into()),
                member_access,
            }))
        }
    }
}

/// The warehouse that serves a stored connection.
pub(crate) fn warehouse(platform: &Platform, settings: ServerSettings) -> Arc<dyn Warehouse> {
    match platform {
        Platform::Postgres(_) => Arc::new(PostgresWarehouse::new(settings)),
        Platform::Mysql(_) => Arc::new(MysqlWarehouse::new(settings)),
        Platform::Snowflake(s) => Arc::new(SnowflakeWarehouse::new(SnowflakeSettings {
            server: settings,
            account: s.account.clone(),
            warehouse: s.warehouse.clone(),
            role: s.role.clone(),
            storage_integration: s.storage_integration.clone(),
            key_pair: s.public_key_fingerprint.is_some(),
        })),
        Platform::Redshift(r) => Arc::new(RedshiftWarehouse::new(settings, r.iam_role.clone())),
        Platform::Databricks(d) => Arc::new(DatabricksWarehouse::new(DatabricksSettings {
            server: settings,
            warehouse_id: d.warehouse_id().to_string(),
        })),
        Platform::Trino(t) => Arc::new(TrinoWarehouse::new(TrinoSettings {
            server: settings,
            external_catalog: t.external_catalog.clone(),
        })),
        Platform::Bigquery(b) => {
            Arc::new(BigQueryWarehouse::new(BigQuerySettings { server: settings, location: b.location.clone() }))
        }
        Platform::Sqlserver(_) => Arc::new(SqlServerWarehouse::new(settings)),
    }
}
