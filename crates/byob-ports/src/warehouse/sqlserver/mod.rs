//! Microsoft SQL Server 2022 (and 2016 onwards, Azure SQL Database, Azure SQL Managed Instance) over TDS, with
//! tiberius: signed in with SQL authentication, TLS as the connection's mode asks ([`client`]).
//!
//! SQL Server's DDL is transactional, so a whole load runs in one transaction: rows go by TDS bulk load
//! (`INSERT BULK`) into a build table, then one `INSERT … SELECT` puts them in place ([`load`]). Exports read one
//! statement's rows in a transaction that is always rolled back ([`query`]).
//!
//! No SQL Server runs where byob is tested: what is checked, and what is not, is in docs/testing.md.

mod client;
mod load;
mod query;

use async_trait::async_trait;
use byob_core::table::{Column, ColumnType, TableName};
use tokio::sync::mpsc;

use super::{ExportQuery, LoadItem, LoadTarget, QueryItem, ServerSettings, Warehouse, WarehouseError, sql::BUILD_MARK};

#[derive(Debug, Clone)]
pub struct SqlServerWarehouse {
    settings: ServerSettings,
}

/// `[name]` with inner `]` doubled: identifiers are always bracketed, so any name is stored as written.
pub(super) fn quote(name: &str) -> String {
    format!("[{}]", name.replace(']', "]]"))
}

/// A Unicode string literal, `N'…'`, quotes doubled (T-SQL has no backslash escapes).
pub(super) fn literal(text: &str) -> String {
    format!("N'{}'", text.replace('\'', "''"))
}

/// The type a table byob creates gives a column (decimals get theirs from the rows).
pub(super) fn type_name(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Integer => "BIGINT",
        // Built as text: the precision and scale come from the rows (`DecimalShape::sql_type`).
        ColumnType::Decimal => "NVARCHAR(48)",
        ColumnType::Boolean => "BIT",
        ColumnType::Date => "DATE",
        // byob's timestamps have microseconds; `DATETIME` would round them to 1/300 s.
        ColumnType::Timestamp => "DATETIME2(6)",
        // Instants are written at offset +00:00.
        ColumnType::TimestampTz => "DATETIMEOFFSET(6)",
        ColumnType::Text => "NVARCHAR(MAX)",
    }
}

/// byob's type for a column of `INFORMATION_SCHEMA.COLUMNS` (`DATA_TYPE`).
fn column_type(data_type: &str) -> ColumnType {
    match data_type.to_ascii_lowercase().as_str() {
        "bit" => ColumnType::Boolean,
        "tinyint" | "smallint" | "int" | "bigint" => ColumnType::Integer,
        "decimal" | "numeric" | "money" | "smallmoney" | "float" | "real" => ColumnType::Decimal,
        "date" => ColumnType::Date,
        "datetime" | "datetime2" | "smalldatetime" => ColumnType::Timestamp,
        "datetimeoffset" => ColumnType::TimestampTz,
        _ => ColumnType::Text,
    }
}

impl SqlServerWarehouse {
    #[must_use]
    pub fn new(settings: ServerSettings) -> Self {
        Self { settings }
    }

    pub(super) fn schema_of<'a>(&'a self, table: &'a TableName) -> &'a str {
        table.schema.as_deref().unwrap_or(&self.settings.schema)
    }

    pub(super) fn qualified(&self, table: &TableName) -> String {
        format!("{}.{}", quote(self.schema_of(table)), quote(&table.name))
    }
}

/// Reads every row of a small query as text (`NULL` as `None`).
pub(super) async fn text_rows(
    client: &mut client::Session,
    sql: &str,
    params: &[&str],
) -> Result<Vec<Vec<Option<String>>>, WarehouseError> {
    let params: Vec<&dyn tiberius::ToSql> = params.iter().map(|p| p as &dyn tiberius::ToSql).collect();
    let rows = client.query(sql, &params).await.map_err(client::error)?.into_first_result().await;
    let rows = rows.map_err(client::error)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            row.cells()
                .map(|(_, value)| match value {
                    tiberius::ColumnData::String(s) => s.as_ref().map(ToString::to_string),
                    tiberius::ColumnData::I32(n) => n.map(|n| n.to_string()),
                    tiberius::ColumnData::U8(n) => n.map(|n| n.to_string()),
                    tiberius::ColumnData::I16(n) => n.map(|n| n.to_string()),
                    tiberius::ColumnData::I64(n) => n.map(|n| n.to_string()),
                    _ => None,
                })
                .collect()
        })
        .collect())
}

#[async_trait]
impl Warehouse for SqlServerWarehouse {
    fn platform(&self) -> &'static str {
        "sqlserver"
    }

    async fn ping(&self) -> Result<(), WarehouseError> {
        let mut session = client::connect(&self.settings).await?;
        text_rows(&mut session, "SELECT 1", &[]).await?;
        Ok(())
    }

    async fn tables(&self) -> Result<Vec<TableName>, WarehouseError> {
        let mut session = client::connect(&self.settings).await?;
        let rows = text_rows(
            &mut session,
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_TYPE = 'BASE TABLE' \
             ORDER BY TABLE_SCHEMA, TABLE_NAME",
            &[],
        )
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| match row.as_slice() {
                [Some(schema), Some(name)] if !name.contains(BUILD_MARK) => {
                    Some(TableName { schema: Some(schema.clone()), name: name.clone() })
                }
                _ => None,
            })
            .collect())
    }

    async fn columns(&self, table: &TableName) -> Result<Option<Vec<Column>>, WarehouseError> {
        let mut session = client::connect(&self.settings).await?;
        let rows = text_rows(
            &mut session,
            "SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = @P1 \
             AND TABLE_NAME = @P2 ORDER BY ORDINAL_POSITION",
            &[self.schema_of(table), &table.name],
        )
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            rows.into_iter()
                .filter_map(|row| match row.as_slice() {
                    [Some(name), Some(data_type), Some(nullable)] => Some(Column {
                        name: name.clone(),
                        column_type: column_type(data_type),
                        nullable: nullable == "YES",
                    }),
                    _ => None,
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
        assert_eq!(quote("a]b[c"), "[a]]b[c]");
        assert_eq!(quote("Robert'); DROP TABLE x;--"), "[Robert'); DROP TABLE x;--]");
        assert_eq!(literal("it's \\ here"), "N'it''s \\ here'");
    }

    #[test]
    fn information_schema_types_map_to_byobs() {
        for (data_type, expected) in [
            ("bit", ColumnType::Boolean),
            ("INT", ColumnType::Integer),
            ("tinyint", ColumnType::Integer),
            ("numeric", ColumnType::Decimal),
            ("money", ColumnType::Decimal),
            ("date", ColumnType::Date),
            ("datetime2", ColumnType::Timestamp),
            ("smalldatetime", ColumnType::Timestamp),
            ("datetimeoffset", ColumnType::TimestampTz),
            ("nvarchar", ColumnType::Text),
            ("uniqueidentifier", ColumnType::Text),
        ] {
            assert_eq!(column_type(data_type), expected, "{data_type}");
        }
    }

    #[test]
    fn tables_byob_creates_keep_microseconds_and_instants() {
        assert_eq!(type_name(ColumnType::Timestamp), "DATETIME2(6)");
        assert_eq!(type_name(ColumnType::TimestampTz), "DATETIMEOFFSET(6)");
        assert_eq!(type_name(ColumnType::Text), "NVARCHAR(MAX)");
    }
}
