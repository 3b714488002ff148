//! MySQL and MariaDB (one wire protocol): rows stream in through `LOAD DATA LOCAL INFILE` fed from byob's own
//! stream (no file, no disk), and exports read one prepared statement's rows in the binary protocol.
//!
//! MySQL's DDL commits by itself, so `create` and `replace` build the table under a name of their own and
//! rename it into place only when every row is in: a failed load leaves no table and no half of one.

use async_trait::async_trait;
use byob_core::{
    connection::TlsMode,
    table::{Column, ColumnType, TableName},
};
use mysql_async::{Conn, OptsBuilder, SslOpts, prelude::Queryable as _};
use tokio::sync::mpsc;

use super::{
    ExportQuery, LoadItem, LoadTarget, QueryItem, ServerSettings, Warehouse, WarehouseError, server::CONNECT_TIMEOUT,
};

/// The column comment that marks a `DATETIME` holding UTC instants (byob's `timestamptz`): MySQL's own
/// `TIMESTAMP` ends in 2038 and converts by the session's zone, so byob stores UTC in `DATETIME(6)` and says so.
pub(super) const UTC_COMMENT: &str = "byob:utc";

/// The session byob works in: strict about every value, no silent conversion, and (MariaDB) no statement longer
/// than the job's deadline.
const SQL_MODE: &str =
    "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION";

#[derive(Debug, Clone)]
pub struct MysqlWarehouse {
    pub(super) settings: ServerSettings,
}

/// `` `name` `` with inner backticks doubled: any name is stored as written.
pub(super) fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A string literal (the session never sets `NO_BACKSLASH_ESCAPES`, so backslashes are escaped too).
pub(super) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// The column type byob declares for each of its types; decimals are narrowed to their data after a load
/// ([`super::mysql_load`]).
pub(super) fn type_name(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Integer => "BIGINT",
        ColumnType::Decimal => "DECIMAL(65,30)",
        ColumnType::Boolean => "BOOLEAN",
        ColumnType::Date => "DATE",
        ColumnType::Timestamp | ColumnType::TimestampTz => "DATETIME(6)",
        ColumnType::Text => "LONGTEXT",
    }
}

/// A column's definition in `CREATE TABLE` / `MODIFY`, with `sql_type` in place of byob's default for it.
pub(super) fn column_definition(c: &Column, sql_type: &str) -> String {
    let comment = if c.column_type == ColumnType::TimestampTz {
        format!(" COMMENT {}", literal(UTC_COMMENT))
    } else {
        String::new()
    };
    format!("{} {sql_type}{}{comment}", quote(&c.name), if c.nullable { " NULL" } else { " NOT NULL" })
}

/// byob's type for a column of `information_schema.columns`.
fn column_type(data_type: &str, column_type: &str, comment: &str) -> ColumnType {
    match data_type {
        "tinyint" if column_type.starts_with("tinyint(1)") => ColumnType::Boolean,
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint" | "year" => ColumnType::Integer,
        "decimal" | "float" | "double" => ColumnType::Decimal,
        "date" => ColumnType::Date,
        "datetime" | "timestamp" if comment == UTC_COMMENT => ColumnType::TimestampTz,
        "datetime" => ColumnType::Timestamp,
        "timestamp" => ColumnType::TimestampTz,
        _ => ColumnType::Text,
    }
}

impl From<mysql_async::Error> for WarehouseError {
    fn from(e: mysql_async::Error) -> Self {
        match e {
            mysql_async::Error::Server(server) => Self::Rejected(server.message),
            mysql_async::Error::Io(_) => Self::Connect(e.to_string()),
            other => Self::Database(other.to_string()),
        }
    }
}

impl MysqlWarehouse {
    #[must_use]
    pub fn new(settings: ServerSettings) -> Self {
        Self { settings }
    }

    fn options(&self, address: &super::server::DriverAddress, tls: Option<SslOpts>) -> OptsBuilder {
        let s = &self.settings;
        let seconds = s.statement_timeout.as_secs_f64().max(1.0);
        OptsBuilder::default()
            // The address byob resolved and checked, never a second lookup (DNS rebinding), or the route's
            // forward; the certificate's name is checked against the host (`verify-full`) either way.
            .ip_or_hostname(address.host.clone())
            .tcp_port(address.port)
            .user(Some(s.user.clone()))
            .pass(s.password.as_ref().map(|p| p.expose().clone()))
            .db_name(Some(s.database.clone()))
            // Never the server's own `@@socket`: a tenant's server must not make byob open a local socket.
            .prefer_socket(false)
            .ssl_opts(tls)
            // `/*M! … */` runs on MariaDB only (MySQL's `max_execution_time` bounds SELECTs alone).
            .setup(vec![format!(
                "SET SESSION sql_mode = {}, time_zone = '+00:00' /*M!100100 , max_statement_time = {seconds:.0} */",
                literal(SQL_MODE)
            )])
    }

    /// TLS as libpq's modes mean it: `prefer` and `require` encrypt without checking the certificate, `verify-ca`
    /// checks its chain, `verify-full` its chain and the host's name.
    fn tls(&self) -> Option<SslOpts> {
        let base = SslOpts::default();
        match self.settings.tls {
            TlsMode::Disable => None,
            TlsMode::Prefer | TlsMode::Require => {
                Some(base.with_danger_accept_invalid_certs(true).with_danger_skip_domain_validation(true))
            }
            TlsMode::VerifyCa => Some(base.with_danger_skip_domain_validation(true)),
            TlsMode::VerifyFull => Some(base.with_danger_tls_hostname_override(Some(self.settings.host.clone()))),
        }
    }

    pub(super) async fn connect(&self) -> Result<Conn, WarehouseError> {
        let s = &self.settings;
        let address = s.driver_address().await?;
        let address = &address;
        let attempt = |tls| async move {
            match tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(self.options(address, tls))).await {
                Ok(outcome) => outcome,
                Err(_) => Err(mysql_async::Error::Other(
                    format!("{}:{} did not answer within {} s", s.host, s.port, CONNECT_TIMEOUT.as_secs()).into(),
                )),
            }
        };
        let outcome = match attempt(self.tls()).await {
            // `prefer`: plain when the server offers no TLS at all.
            Err(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer))
                if s.tls == TlsMode::Prefer =>
            {
                attempt(None).await
            }
            other => other,
        };
        outcome.map_err(|e| match e {
            mysql_async::Error::Server(server) => WarehouseError::Connect(server.message),
            other => WarehouseError::Connect(other.to_string()),
        })
    }

    pub(super) fn schema_of<'a>(&'a self, table: &'a TableName) -> &'a str {
        table.schema.as_deref().unwrap_or(&self.settings.schema)
    }

    pub(super) fn qualified(&self, table: &TableName) -> String {
        format!("{}.{}", quote(self.schema_of(table)), quote(&table.name))
    }
}

pub(super) async fn table_exists(conn: &mut Conn, schema: &str, name: &str) -> Result<bool, WarehouseError> {
    let n: Option<i64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            (schema, name),
        )
        .await?;
    Ok(n.unwrap_or(0) > 0)
}

#[async_trait]
impl Warehouse for MysqlWarehouse {
    fn platform(&self) -> &'static str {
        "mysql"
    }

    async fn ping(&self) -> Result<(), WarehouseError> {
        let mut conn = self.connect().await?;
        conn.query_drop("SELECT 1").await?;
        conn.disconnect().await.ok();
        Ok(())
    }

    async fn tables(&self) -> Result<Vec<TableName>, WarehouseError> {
        let mut conn = self.connect().await?;
        let rows: Vec<(String, String)> = conn
            .query(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN \
                 ('mysql', 'information_schema', 'performance_schema', 'sys') AND table_type = 'BASE TABLE' \
                 ORDER BY 1, 2",
            )
            .await?;
        let rows = rows.into_iter().filter(|(_, name)| !name.contains(super::sql::BUILD_MARK));
        conn.disconnect().await.ok();
        Ok(rows.map(|(schema, name)| TableName { schema: Some(schema), name }).collect())
    }

    async fn columns(&self, table: &TableName) -> Result<Option<Vec<Column>>, WarehouseError> {
        let mut conn = self.connect().await?;
        let rows: Vec<(String, String, String, String, String)> = conn
            .exec(
                "SELECT column_name, data_type, column_type, is_nullable, column_comment FROM \
                 information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                (self.schema_of(table), &table.name),
            )
            .await?;
        conn.disconnect().await.ok();
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            rows.into_iter()
                .map(|(name, data_type, full_type, nullable, comment)| Column {
                    name,
                    column_type: column_type(&data_type, &full_type, &comment),
                    nullable: nullable == "YES",
                })
                .collect(),
        ))
    }

    async fn load(&self, target: &LoadTarget, rows: mpsc::Receiver<LoadItem>) -> Result<u64, WarehouseError> {
        self.load_rows(target, rows).await
    }

    async fn query(&self, query: &ExportQuery, rows: mpsc::Sender<QueryItem>) -> Result<u64, WarehouseError> {
        self.export_rows(query, rows).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_literals_are_quoted_whatever_they_hold() {
        assert_eq!(quote("a`b"), "`a``b`");
        assert_eq!(literal(r"it's \ here"), r"'it''s \\ here'");
    }

    #[test]
    fn information_schema_types_map_to_byobs() {
        assert_eq!(column_type("tinyint", "tinyint(1)", ""), ColumnType::Boolean);
        assert_eq!(column_type("tinyint", "tinyint(4)", ""), ColumnType::Integer);
        assert_eq!(column_type("decimal", "decimal(10,2)", ""), ColumnType::Decimal);
        assert_eq!(column_type("datetime", "datetime(6)", UTC_COMMENT), ColumnType::TimestampTz);
        assert_eq!(column_type("datetime", "datetime(6)", ""), ColumnType::Timestamp);
        assert_eq!(column_type("longtext", "longtext", ""), ColumnType::Text);
    }

    #[test]
    fn a_utc_column_says_so_in_its_comment() {
        let c = Column { name: "at".into(), column_type: ColumnType::TimestampTz, nullable: false };
        assert_eq!(column_definition(&c, "DATETIME(6)"), "`at` DATETIME(6) NOT NULL COMMENT 'byob:utc'");
    }
}
