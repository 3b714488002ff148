//! The one place that maps a data platform to its module: which platforms a connection may name, the record
//! each keeps, and the [`Warehouse`] that serves it. Adding a platform means a module in
//! `byob_ports::warehouse`, a variant of [`Platform`] and an arm here.

use std::sync::Arc;

use byob_core::{
    SecretId,
    connection::{MemberAccess, MysqlTarget, Platform, PostgresTarget, TlsMode},
    location::FieldError,
};
use byob_ports::warehouse::{MysqlWarehouse, PostgresWarehouse, ServerSettings, Warehouse};

/// The platforms a connection may name, as the API spells them (`mariadb` is another name for `mysql`).
pub const PLATFORMS: [&str; 3] = ["postgres", "mysql", "mariadb"];

/// A new connection's fields, checked by the caller, before its platform is chosen.
pub(crate) struct Fields {
    pub host: String,
    pub port: Option<u16>,
    pub database: String,
    pub user: String,
    pub password: Option<SecretId>,
    pub tls: Option<TlsMode>,
    pub schema: Option<String>,
    pub member_access: MemberAccess,
}

/// The platform `name` stands for, or why it is not one byob connects to.
pub(crate) fn check_platform(name: &str) -> Result<&'static str, FieldError> {
    match name {
        "postgres" => Ok("postgres"),
        "mysql" | "mariadb" => Ok("mysql"),
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
    if platform == "mysql" { 3306 } else { 5432 }
}

/// The record a connection keeps for `platform` (one of [`check_platform`]'s answers).
pub(crate) fn target(platform: &str, f: Fields) -> Result<Platform, FieldError> {
    let port = f.port.unwrap_or_else(|| default_port(platform));
    let tls = f.tls.unwrap_or_default();
    if platform == "mysql" {
        if f.schema.is_some() {
            return Err(FieldError::new(
                "schema",
                byob_core::rules::CONNECTION_FIELD_NOT_FOR_PLATFORM,
                "MySQL's schemas are its databases: leave `schema` out and name the database in `database` (tables \
                 may still be written as DATABASE.TABLE)",
            ));
        }
        return Ok(Platform::Mysql(MysqlTarget {
            host: f.host,
            port,
            database: f.database,
            user: f.user,
            password: f.password,
            tls,
            member_access: f.member_access,
        }));
    }
    Ok(Platform::Postgres(PostgresTarget {
        host: f.host,
        port,
        database: f.database,
        user: f.user,
        password: f.password,
        tls,
        schema: f.schema.unwrap_or_else(|| "public".into()),
        member_access: f.member_access,
    }))
}

/// The warehouse that serves a stored connection.
pub(crate) fn warehouse(platform: &Platform, settings: ServerSettings) -> Arc<dyn Warehouse> {
    match platform {
        Platform::Postgres(_) => Arc::new(PostgresWarehouse::new(settings)),
        Platform::Mysql(_) => Arc::new(MysqlWarehouse::new(settings)),
    }
}
