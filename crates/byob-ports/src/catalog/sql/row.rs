//! Reading typed values out of portable rows: times are Unix milliseconds, ids are prefixed text.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::{Row, any::AnyRow};

use crate::catalog::CatalogError;

pub(super) fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(super) fn opt_ms(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(ms)
}

pub(super) fn time(row: &AnyRow, column: &str) -> Result<DateTime<Utc>, CatalogError> {
    let value: i64 = row.try_get(column)?;
    DateTime::from_timestamp_millis(value).ok_or_else(|| CatalogError::Corrupt(format!("{column} = {value}")))
}

pub(super) fn opt_time(row: &AnyRow, column: &str) -> Result<Option<DateTime<Utc>>, CatalogError> {
    let value: Option<i64> = row.try_get(column)?;
    value
        .map(|v| DateTime::from_timestamp_millis(v).ok_or_else(|| CatalogError::Corrupt(format!("{column} = {v}"))))
        .transpose()
}

pub(super) fn text(row: &AnyRow, column: &str) -> Result<String, CatalogError> {
    Ok(row.try_get(column)?)
}

pub(super) fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>, CatalogError> {
    Ok(row.try_get(column)?)
}

pub(super) fn parsed<T: FromStr>(row: &AnyRow, column: &str) -> Result<T, CatalogError> {
    let value = text(row, column)?;
    value.parse().map_err(|_| CatalogError::Corrupt(format!("{column} = {value}")))
}

pub(super) fn opt_parsed<T: FromStr>(row: &AnyRow, column: &str) -> Result<Option<T>, CatalogError> {
    opt_text(row, column)?
        .map(|value| value.parse().map_err(|_| CatalogError::Corrupt(format!("{column} = {value}"))))
        .transpose()
}

/// A JSON column.
pub(super) fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T, CatalogError> {
    let value = text(row, column)?;
    serde_json::from_str(&value).map_err(|e| CatalogError::Corrupt(format!("{column}: {e}")))
}

/// A value for a JSON column.
pub(super) fn to_json(value: &impl serde::Serialize) -> String {
    // Serializing plain data types cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// Page size clamped to what one response may carry.
pub(super) fn limit(requested: u32) -> i64 {
    i64::from(requested.clamp(1, 1000))
}

/// A statement assembled from constant fragments (column lists, a backend's locking clause) and `$n`
/// parameters, never from input.
macro_rules! sql {
    ($($arg:tt)*) => {
        sqlx::AssertSqlSafe(format!($($arg)*))
    };
}
pub(super) use sql;
