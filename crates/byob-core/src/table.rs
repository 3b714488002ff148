//! Tables in a data platform as byob sees them: a schema-qualified name and columns of a small set of types
//! that every platform can store exactly.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::location::FieldError;

/// The column types byob infers, converts to and creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// 64-bit signed integer.
    Integer,
    /// Exact decimal number, kept as written (no binary floating point).
    Decimal,
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    /// Date and time without a zone.
    Timestamp,
    /// Date and time with a zone or offset, stored in UTC.
    TimestampTz,
    Text,
}

impl ColumnType {
    pub const ALL: [Self; 7] =
        [Self::Integer, Self::Decimal, Self::Boolean, Self::Date, Self::Timestamp, Self::TimestampTz, Self::Text];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Integer => "integer",
            Self::Decimal => "decimal",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::Timestamp => "timestamp",
            Self::TimestampTz => "timestamptz",
            Self::Text => "text",
        }
    }

    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A column of a table or of a file being loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    #[serde(default = "yes")]
    pub nullable: bool,
}

fn yes() -> bool {
    true
}

/// Longest identifier byob accepts (PostgreSQL's limit).
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// Checks a table or column name: 1-63 bytes, no control characters, no NUL. Names are always quoted in SQL,
/// so any other character (spaces, quotes, unicode) is stored as written.
///
/// # Errors
/// [`FieldError`] with rule `identifier-empty`, `identifier-too-long` or `identifier-control-character`.
pub fn check_identifier(field: &str, name: &str) -> Result<(), FieldError> {
    if name.trim().is_empty() {
        return Err(FieldError::new(field, crate::rules::IDENTIFIER_EMPTY, "a name must not be empty or blank"));
    }
    if name.len() > MAX_IDENTIFIER_BYTES {
        return Err(FieldError::new(
            field,
            crate::rules::IDENTIFIER_TOO_LONG,
            format!("`{}…` is {} bytes; names are at most {MAX_IDENTIFIER_BYTES}", prefix(name), name.len()),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            crate::rules::IDENTIFIER_CONTROL_CHARACTER,
            "names must not contain control characters (tabs, newlines, NUL)",
        ));
    }
    Ok(())
}

fn prefix(name: &str) -> String {
    name.chars().take(20).collect()
}

/// A table, optionally in a schema: `orders` or `sales.orders` (quote a name containing a dot: `"a.b"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    /// Parses `table`, `schema.table`, or either part in double quotes (`"my.schema"."my table"`).
    ///
    /// # Errors
    /// [`FieldError`] with rule `table-name-syntax` or an identifier rule.
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        let parts = split_qualified(text).ok_or_else(|| {
            FieldError::new(
                field,
                crate::rules::TABLE_NAME_SYNTAX,
                format!(
                    "`{}` is not `table` or `schema.table`; put a name containing dots or quotes in double quotes",
                    text.chars().take(80).collect::<String>()
                ),
            )
        })?;
        for part in &parts {
            check_identifier(field, part)?;
        }
        let mut parts = parts.into_iter();
        match (parts.next(), parts.next()) {
            (Some(name), None) => Ok(Self { schema: None, name }),
            (Some(schema), Some(name)) => Ok(Self { schema: Some(schema), name }),
            _ => Err(FieldError::new(field, crate::rules::TABLE_NAME_SYNTAX, "a table name is required")),
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |part: &str| {
            if part.contains('.') || part.contains('"') {
                format!("\"{}\"", part.replace('"', "\"\""))
            } else {
                part.to_string()
            }
        };
        match &self.schema {
            Some(schema) => write!(f, "{}.{}", show(schema), show(&self.name)),
            None => f.write_str(&show(&self.name)),
        }
    }
}

/// Splits on dots outside double quotes; `""` inside quotes is a quote. At most two parts.
fn split_qualified(text: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted_part = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if current.is_empty() && !quoted_part => {
                quoted_part = true;
                loop {
                    match chars.next()? {
                        '"' if chars.peek() == Some(&'"') => {
                            chars.next();
                            current.push('"');
                        }
                        '"' => break,
                        other => current.push(other),
                    }
                }
                if !matches!(chars.peek(), None | Some('.')) {
                    return None;
                }
            }
            '.' => {
                parts.push(std::mem::take(&mut current));
                quoted_part = false;
            }
            '"' => return None,
            other => current.push(other),
        }
    }
    parts.push(current);
    (parts.len() <= 2).then_some(parts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        assert_eq!(TableName::parse("t", "orders").unwrap(), TableName { schema: None, name: "orders".into() });
        let q = TableName::parse("t", "sales.orders").unwrap();
        assert_eq!((q.schema.as_deref(), q.name.as_str()), (Some("sales"), "orders"));
        let quoted = TableName::parse("t", r#""my.schema"."a ""b""""#).unwrap();
        assert_eq!((quoted.schema.as_deref(), quoted.name.as_str()), (Some("my.schema"), r#"a "b""#));
        assert_eq!(quoted.to_string(), r#""my.schema"."a ""b""""#);
        for bad in ["", "a.b.c", ".x", "x.", r#""open"#, "a\"b", &"x".repeat(64)] {
            assert!(TableName::parse("t", bad).is_err(), "{bad:?}");
        }
    }
}
