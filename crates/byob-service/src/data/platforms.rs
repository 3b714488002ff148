//! The one place that maps a data platform to its module: which platforms a connection may name, the record
//! each keeps, and the [`Warehouse`] that serves it. Adding a platform means a module in
//! `byob_ports::warehouse`, a variant of [`Platform`] and an arm here.

use std::sync::Arc;

use super::connections::CreateConnection;
use byob_core::{
    SecretId,
    connection::{MemberAccess, MysqlTarget, Platform, PostgresTarget, RedshiftTarget, SnowflakeTarget},
    location::{FieldError, RoleArn},
    table::check_identifier,
};
use byob_ports::warehouse::{
    MysqlWarehouse, PostgresWarehouse, RedshiftWarehouse, ServerSettings, SnowflakeSettings, SnowflakeWarehouse,
    Warehouse,
};

/// The platforms a connection may name, as the API spells them (`mariadb` is another name for `mysql`).
pub const PLATFORMS: [&str; 5] = ["postgres", "mysql", "mariadb", "snowflake", "redshift"];

impl CreateConnection {
    /// Refuses the fields named here, which `platform` has no use for.
    fn refuse(&self, platform: &str, fields: &[&'static str]) -> Result<(), FieldError> {
        for field in fields {
            let given = match *field {
                "schema" => self.schema.is_some(),
                "account" => self.account.is_some(),
                "warehouse" => self.warehouse.is_some(),
                "role" => self.role.is_some(),
                "storage_integration" => self.storage_integration.is_some(),
                "iam_role" => self.iam_role.is_some(),
                _ => false,
            };
            if given {
                return Err(FieldError::new(
                    field,
                    byob_core::rules::CONNECTION_FIELD_NOT_FOR_PLATFORM,
                    format!("{platform} connections have no `{field}`; leave it out (docs/connections.md)"),
                ));
            }
        }
        Ok(())
    }

    fn host(&mut self) -> Result<String, FieldError> {
        self.host.take().ok_or_else(|| {
            FieldError::new("host", byob_core::rules::CONNECTION_HOST, "give the server's host name or IP address")
        })
    }
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

/// The platform `name` stands for, or why it is not one byob connects to.
pub(crate) fn check_platform(name: &str) -> Result<&'static str, FieldError> {
    match name {
        "postgres" => Ok("postgres"),
        "mysql" | "mariadb" => Ok("mysql"),
        "snowflake" => Ok("snowflake"),
        "redshift" => Ok("redshift"),
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
        "snowflake" => 443,
        "redshift" => 5439,
        _ => 5432,
    }
}

/// The record a connection keeps for `platform` (one of [`check_platform`]'s answers), from the request whose
/// name, host, database and user the caller checked, with its password sealed as `password`.
pub(crate) fn target(
    platform: &str,
    mut f: CreateConnection,
    password: Option<SecretId>,
    member_access: MemberAccess,
) -> Result<Platform, FieldError> {
    let port = f.port.unwrap_or_else(|| default_port(platform));
    let tls = f.tls.unwrap_or_default();
    if platform == "snowflake" {
        f.refuse("Snowflake", &["iam_role"])?;
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
        return Ok(Platform::Snowflake(SnowflakeTarget {
            host: f.host.take().unwrap_or_else(|| format!("{account}.snowflakecomputing.com")),
            account,
            port,
            database: f.database,
            schema: f.schema.unwrap_or_else(|| "PUBLIC".into()),
            user: f.user,
            password,
            warehouse: f.warehouse,
            role: f.role,
            tls,
            storage_integration: f.storage_integration,
            member_access,
        }));
    }
    if platform == "redshift" {
        f.refuse("Redshift", &["account", "warehouse", "role", "storage_integration"])?;
        let iam_role = match f.iam_role.take() {
            Some(arn) => Some(RoleArn::parse("iam_role", &arn)?.as_str().to_string()),
            None => None,
        };
        return Ok(Platform::Redshift(RedshiftTarget {
            host: f.host()?,
            port,
            database: f.database,
            user: f.user,
            password,
            tls,
            schema: f.schema.unwrap_or_else(|| "public".into()),
            iam_role,
            member_access,
        }));
    }
    let server_only = ["account", "warehouse", "role", "storage_integration", "iam_role"];
    if platform == "mysql" {
        if f.schema.is_some() {
            return Err(FieldError::new(
                "schema",
                byob_core::rules::CONNECTION_FIELD_NOT_FOR_PLATFORM,
                "MySQL's schemas are its databases: leave `schema` out and name the database in `database` (tables \
                 may still be written as DATABASE.TABLE)",
            ));
        }
        f.refuse("MySQL", &server_only)?;
        return Ok(Platform::Mysql(MysqlTarget {
            host: f.host()?,
            port,
            database: f.database,
            user: f.user,
            password,
            tls,
            member_access,
        }));
    }
    f.refuse("PostgreSQL", &server_only)?;
    Ok(Platform::Postgres(PostgresTarget {
        host: f.host()?,
        port,
        database: f.database,
        user: f.user,
        password,
        tls,
        schema: f.schema.unwrap_or_else(|| "public".into()),
        member_access,
    }))
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
        })),
        Platform::Redshift(r) => Arc::new(RedshiftWarehouse::new(settings, r.iam_role.clone())),
    }
}
