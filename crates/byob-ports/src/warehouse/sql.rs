//! SQL text both platforms share: quoting and the `CREATE TABLE` of a load.

use byob_core::table::{Column, ColumnType, TableName};

/// `"name"` with inner quotes doubled; identifiers are always quoted, so any name is stored as written.
pub(super) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub(super) fn qualified(table: &TableName, default_schema: Option<&str>) -> String {
    match table.schema.as_deref().or(default_schema) {
        Some(schema) => format!("{}.{}", quote(schema), quote(&table.name)),
        None => quote(&table.name),
    }
}

/// What the name of every table a load builds (before it takes the table's place) holds; `…/tables` lists none.
pub(super) const BUILD_MARK: &str = "__byob_";

/// The start of the names of `table`'s build tables: the table's name, shortened.
pub(super) fn build_prefix(table: &str) -> String {
    let short: String = table.chars().take(40).collect();
    format!("{short}{BUILD_MARK}")
}

/// A name for a table a load builds: [`build_prefix`] and a random tail, so two loads of one table never share
/// one (platforms whose DDL commits by itself: MySQL, Snowflake).
pub(super) fn build_name(table: &str) -> String {
    let mut tail = [0u8; 4];
    getrandom::fill(&mut tail).ok();
    format!("{}{}", build_prefix(table), hex::encode(tail))
}

/// The name a replacement table is built under before it takes the table's place.
pub(super) fn staging_name(table: &TableName) -> String {
    let short: String = table.name.chars().take(40).collect();
    format!("{short}__byob_replace")
}

pub(super) fn create_table(name: &str, columns: &[Column], type_name: fn(ColumnType) -> &'static str) -> String {
    let defs: Vec<String> = columns
        .iter()
        .map(|c| {
            format!("{} {}{}", quote(&c.name), type_name(c.column_type), if c.nullable { "" } else { " NOT NULL" })
        })
        .collect();
    format!("CREATE TABLE {name} ({})", defs.join(", "))
}

pub(super) fn column_list(columns: &[Column]) -> String {
    columns.iter().map(|c| quote(&c.name)).collect::<Vec<_>>().join(", ")
}

/// `text` as a standard SQL string literal: quotes doubled, backslashes as written (Trino, PostgreSQL).
pub(super) fn string_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
