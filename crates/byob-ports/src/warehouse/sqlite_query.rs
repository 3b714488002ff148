//! Exports from the embedded warehouse: a read-only connection on a blocking thread, one statement that must
//! not write, values typed by the column's declared type (what byob's loads write) or, for computed columns,
//! by the first row's values.

use std::{
    path::Path,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rusqlite::{
    Connection, OpenFlags,
    hooks::{AuthAction, AuthContext, Authorization},
    limits::Limit,
    types::ValueRef,
};
use tokio::sync::mpsc;

use super::{
    Batch, Cell, ExportQuery, Field, FieldKind, QUERY_BATCH_ROWS, QUERY_BATCH_TEXT, QueryItem, WarehouseError,
    postgres_query::statement, push_span, sql::quote,
};

/// byob's kind for a declared SQLite type (the names byob's loads declare, and SQLite's affinity rules).
fn declared_kind(declared: &str) -> FieldKind {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        FieldKind::Int64
    } else if t.contains("DECIMAL") || t.contains("NUMERIC") {
        FieldKind::Decimal { precision: None, scale: None }
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        FieldKind::Float64
    } else if t.contains("BOOL") {
        FieldKind::Boolean
    } else if t.contains("TIMESTAMPTZ") {
        FieldKind::TimestampTz
    } else if t.contains("TIMESTAMP") || t.contains("DATETIME") {
        FieldKind::Timestamp
    } else if t.contains("DATE") {
        FieldKind::Date
    } else {
        FieldKind::Text
    }
}

/// A computed column's kind, from its first value.
fn value_kind(value: ValueRef<'_>) -> FieldKind {
    match value {
        ValueRef::Integer(_) => FieldKind::Int64,
        ValueRef::Real(_) => FieldKind::Float64,
        ValueRef::Null | ValueRef::Text(_) | ValueRef::Blob(_) => FieldKind::Text,
    }
}

fn unreadable(column: &str, row: u64, kind: FieldKind, found: &str) -> WarehouseError {
    WarehouseError::Unsupported(format!(
        "row {row}, column `{column}`: the value `{}` is not a {kind:?} as the column declares; cast it in the query",
        found.chars().take(60).collect::<String>()
    ))
}

fn parse_timestamp(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim_end_matches('Z');
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()
}

fn parse_timestamp_tz(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| text.ends_with('Z').then(|| parse_timestamp(text)).flatten().map(|t| t.and_utc()))
}

fn cell(value: ValueRef<'_>, kind: FieldKind, text: &mut String, name: &str, row: u64) -> Result<Cell, WarehouseError> {
    let as_text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    Ok(match (kind, value) {
        (_, ValueRef::Null) => Cell::Null,
        (FieldKind::Int16 | FieldKind::Int32 | FieldKind::Int64, ValueRef::Integer(v)) => Cell::Integer(v),
        (FieldKind::Float32 | FieldKind::Float64, ValueRef::Real(v)) => Cell::Float(v),
        #[allow(clippy::cast_precision_loss)]
        (FieldKind::Float32 | FieldKind::Float64, ValueRef::Integer(v)) => Cell::Float(v as f64),
        (FieldKind::Boolean, ValueRef::Integer(v)) => Cell::Boolean(v != 0),
        (FieldKind::Decimal { .. }, ValueRef::Text(t)) => Cell::Decimal(push_span(text, &as_text(t))),
        (FieldKind::Decimal { .. }, ValueRef::Integer(v)) => Cell::Decimal(push_span(text, &v.to_string())),
        (FieldKind::Date, ValueRef::Text(t)) => {
            let s = as_text(t);
            Cell::Date(NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| unreadable(name, row, kind, &s))?)
        }
        (FieldKind::Timestamp, ValueRef::Text(t)) => {
            let s = as_text(t);
            Cell::Timestamp(parse_timestamp(&s).ok_or_else(|| unreadable(name, row, kind, &s))?)
        }
        (FieldKind::TimestampTz, ValueRef::Text(t)) => {
            let s = as_text(t);
            Cell::TimestampTz(parse_timestamp_tz(&s).ok_or_else(|| unreadable(name, row, kind, &s))?)
        }
        (FieldKind::Text, ValueRef::Text(t)) => match std::str::from_utf8(t) {
            Ok(s) => Cell::Text(push_span(text, s)),
            Err(_) => Cell::Text(push_span(text, &as_text(t))),
        },
        (FieldKind::Text, ValueRef::Integer(v)) => Cell::Text(push_span(text, &v.to_string())),
        (FieldKind::Text, ValueRef::Real(v)) => Cell::Text(push_span(text, &v.to_string())),
        (_, ValueRef::Blob(_)) => {
            return Err(WarehouseError::Unsupported(format!(
                "row {row}, column `{name}` holds binary data, which exports do not carry; leave it out or encode it \
                 in the query (hex(…))"
            )));
        }
        (kind, ValueRef::Integer(v)) => return Err(unreadable(name, row, kind, &v.to_string())),
        (kind, ValueRef::Real(v)) => return Err(unreadable(name, row, kind, &v.to_string())),
        (kind, ValueRef::Text(t)) => return Err(unreadable(name, row, kind, &as_text(t))),
    })
}

/// Lets the connection's statements only read: SELECT, reading tables, recursive queries and functions. A PRAGMA
/// (which may change a process-wide setting while the statement is only being prepared, e.g. `hard_heap_limit`),
/// ATTACH, DETACH, extension loading and every write are refused by rule, and no database may be attached.
/// Returns what was refused, for the message.
fn reading_only(conn: &Connection) -> Result<Arc<Mutex<Option<String>>>, WarehouseError> {
    conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)?;
    let refused = Arc::new(Mutex::new(None));
    let seen = refused.clone();
    conn.authorizer(Some(move |ctx: AuthContext<'_>| {
        let denied = match ctx.action {
            AuthAction::Select | AuthAction::Read { .. } | AuthAction::Recursive => return Authorization::Allow,
            AuthAction::Function { function_name } if !function_name.eq_ignore_ascii_case("load_extension") => {
                return Authorization::Allow;
            }
            AuthAction::Function { function_name } => format!("the function `{function_name}`"),
            AuthAction::Pragma { pragma_name, .. } => format!("`PRAGMA {pragma_name}`"),
            AuthAction::Attach { .. } => "`ATTACH`".to_string(),
            AuthAction::Detach { .. } => "`DETACH`".to_string(),
            _ => "a statement that changes the database".to_string(),
        };
        if let Ok(mut slot) = seen.lock() {
            slot.get_or_insert(denied);
        }
        Authorization::Deny
    }))?;
    Ok(refused)
}

/// Raised when the future waiting for a query is dropped (its job was stopped and abandoned).
#[derive(Debug, Default)]
pub(super) struct Abandoned(Arc<std::sync::atomic::AtomicBool>);

impl Abandoned {
    pub(super) fn flag(&self) -> Arc<std::sync::atomic::AtomicBool> {
        self.0.clone()
    }
}

impl Drop for Abandoned {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Runs the query on a read-only connection and sends its schema and rows.
pub(super) fn export_rows(
    path: &Path,
    query: &ExportQuery,
    rows: &mpsc::Sender<QueryItem>,
    abandoned: &Arc<std::sync::atomic::AtomicBool>,
) -> Result<u64, WarehouseError> {
    let sql = statement(query, |t| quote(&t.name));
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| WarehouseError::Connect(e.to_string()))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    let refused = reading_only(&conn)?;
    // A query that runs without producing rows (a huge join, an endless recursion) still ends when its reader
    // has gone or its job abandoned it: SQLite checks every few thousand steps.
    let reader = rows.clone();
    let abandoned = abandoned.clone();
    conn.progress_handler(
        10_000,
        Some(move || reader.is_closed() || abandoned.load(std::sync::atomic::Ordering::Relaxed)),
    )?;
    let mut stmt = match conn.prepare(&sql) {
        Ok(stmt) => stmt,
        Err(e) => {
            let what = refused.lock().map(|r| r.clone()).unwrap_or_default();
            return Err(match what {
                Some(what) => WarehouseError::Unsupported(format!("exports only read: {what} is not allowed")),
                None => e.into(),
            });
        }
    };
    if !stmt.readonly() {
        return Err(WarehouseError::Unsupported("an export runs one read-only statement (a SELECT)".into()));
    }
    let names: Vec<String> = stmt.column_names().into_iter().map(str::to_string).collect();
    if names.is_empty() {
        return Err(WarehouseError::Unsupported("the statement returns no columns".into()));
    }
    let declared: Vec<Option<FieldKind>> = stmt.columns().iter().map(|c| c.decl_type().map(declared_kind)).collect();
    let width = names.len();
    let mut result = stmt.query([])?;
    let mut kinds: Option<Vec<FieldKind>> = None;
    let mut batch = Batch { width, ..Batch::default() };
    let mut total = 0u64;
    let send = |batch: &mut Batch| -> Result<(), WarehouseError> {
        if batch.cells.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(batch, Batch { width, ..Batch::default() });
        rows.blocking_send(QueryItem::Batch(full)).map_err(|_| WarehouseError::Aborted)
    };
    while let Some(row) = result.next()? {
        let kinds = match &kinds {
            Some(k) => k,
            None => {
                let k: Vec<FieldKind> = (0..width)
                    .map(|i| declared[i].unwrap_or_else(|| row.get_ref(i).map_or(FieldKind::Text, value_kind)))
                    .collect();
                let fields =
                    names.iter().zip(&k).map(|(name, kind)| Field { name: name.clone(), kind: *kind }).collect();
                rows.blocking_send(QueryItem::Schema(fields)).map_err(|_| WarehouseError::Aborted)?;
                kinds.insert(k)
            }
        };
        total += 1;
        for (i, kind) in kinds.iter().enumerate() {
            let value = row.get_ref(i)?;
            let c = cell(value, *kind, &mut batch.text, &names[i], total)?;
            batch.cells.push(c);
        }
        if batch.cells.len() / width >= QUERY_BATCH_ROWS || batch.text.len() >= QUERY_BATCH_TEXT {
            send(&mut batch)?;
        }
    }
    if kinds.is_none() {
        let fields = names
            .iter()
            .zip(&declared)
            .map(|(name, kind)| Field { name: name.clone(), kind: kind.unwrap_or(FieldKind::Text) })
            .collect();
        rows.blocking_send(QueryItem::Schema(fields)).map_err(|_| WarehouseError::Aborted)?;
    }
    send(&mut batch)?;
    Ok(total)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(path: &Path, sql: &str) -> Result<u64, WarehouseError> {
        let (tx, mut rx) = mpsc::channel(64);
        let drain = std::thread::spawn(move || while rx.blocking_recv().is_some() {});
        let result = export_rows(path, &ExportQuery::Sql(sql.into()), &tx, &Arc::default());
        drop(tx);
        drain.join().unwrap();
        result
    }

    /// What a member's export query must not do to the process or reach beyond its org's file, refused by rule.
    #[test]
    fn an_export_query_may_only_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("org.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (id INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
        let other = dir.path().join("other.db");
        Connection::open(&other).unwrap().execute_batch("CREATE TABLE secret (x TEXT);").unwrap();
        for (sql, named) in [
            ("PRAGMA hard_heap_limit=4096", "PRAGMA hard_heap_limit"),
            ("PRAGMA soft_heap_limit=1", "PRAGMA soft_heap_limit"),
            (&format!("ATTACH DATABASE '{}' AS o", other.display()) as &str, "ATTACH"),
            ("SELECT load_extension('x')", "load_extension"),
        ] {
            let message = match run(&path, sql) {
                Err(WarehouseError::Unsupported(m)) => m,
                other => panic!("{sql}: {other:?}"),
            };
            assert!(message.contains("exports only read") && message.contains(named), "{sql}: {message}");
        }
        // Nothing was changed for the process: a heap limit would make this fail.
        let big = run(
            &path,
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) SELECT i, printf('%0100d', i) FROM n",
        );
        assert_eq!(big.unwrap(), 50_000);
        assert_eq!(run(&path, "SELECT * FROM t").unwrap(), 1);
    }
}
