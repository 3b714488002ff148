//! Bulk loads into the embedded warehouse, on a blocking thread with a direct connection: the statements and
//! the transaction of [`super::sqlite`]'s contract (all or nothing; `replace` swaps at commit), with values
//! bound by reference so a row costs no allocation.

use std::path::Path;

use rusqlite::{
    Connection, TransactionBehavior,
    types::{ToSqlOutput, ValueRef},
};
use tokio::sync::mpsc;

use super::{
    Cell, LoadItem, LoadMode, LoadTarget, WarehouseError,
    sql::{column_list, create_table, qualified, quote, staging_name},
    sqlite::type_name,
    text::{push_date, push_datetime},
};

impl From<rusqlite::Error> for WarehouseError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(_, Some(message)) => Self::Rejected(message),
            other => Self::Database(other.to_string()),
        }
    }
}

fn table_exists(conn: &Connection, name: &str) -> Result<bool, WarehouseError> {
    let n: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| r.get(0))?;
    Ok(n > 0)
}

pub(super) fn load(
    path: &Path,
    target: &LoadTarget,
    mut rows: mpsc::Receiver<LoadItem>,
) -> Result<u64, WarehouseError> {
    let mut conn = Connection::open(path).map_err(|e| WarehouseError::Connect(e.to_string()))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let final_name = qualified(&target.table, None);
    let exists = table_exists(&tx, &target.table.name)?;
    let into = match target.mode {
        LoadMode::Create if exists => return Err(WarehouseError::TableExists(target.table.to_string())),
        LoadMode::Append if !exists => return Err(WarehouseError::TableMissing(target.table.to_string())),
        LoadMode::Create => {
            tx.execute_batch(&create_table(&final_name, &target.columns, type_name))?;
            final_name.clone()
        }
        LoadMode::Append => final_name.clone(),
        LoadMode::Replace => {
            let staging = quote(&staging_name(&target.table));
            tx.execute_batch(&format!("DROP TABLE IF EXISTS {staging}"))?;
            tx.execute_batch(&create_table(&staging, &target.columns, type_name))?;
            staging
        }
    };
    let width = target.columns.len().max(1);
    let placeholders = vec!["?"; width].join(", ");
    let mut written = 0u64;
    let mut finished = false;
    {
        let mut insert =
            tx.prepare(&format!("INSERT INTO {into} ({}) VALUES ({placeholders})", column_list(&target.columns)))?;
        let mut scratch = String::with_capacity(32);
        while let Some(item) = rows.blocking_recv() {
            let batch = match item {
                LoadItem::Batch(batch) => batch,
                LoadItem::End => {
                    finished = true;
                    break;
                }
            };
            for row in batch.cells.chunks(width) {
                for (i, cell) in row.iter().enumerate() {
                    scratch.clear();
                    let value = match cell {
                        Cell::Null => ValueRef::Null,
                        Cell::Integer(v) => ValueRef::Integer(*v),
                        Cell::Boolean(v) => ValueRef::Integer(i64::from(*v)),
                        Cell::Decimal(v) | Cell::Text(v) => ValueRef::Text(batch.str(*v).as_bytes()),
                        Cell::Date(d) => {
                            push_date(&mut scratch, *d);
                            ValueRef::Text(scratch.as_bytes())
                        }
                        Cell::Timestamp(t) => {
                            push_datetime(&mut scratch, *t, ' ');
                            ValueRef::Text(scratch.as_bytes())
                        }
                        Cell::TimestampTz(t) => {
                            push_datetime(&mut scratch, t.naive_utc(), 'T');
                            scratch.push('Z');
                            ValueRef::Text(scratch.as_bytes())
                        }
                    };
                    insert.raw_bind_parameter(i + 1, ToSqlOutput::Borrowed(value))?;
                }
                insert.raw_execute()?;
                written += 1;
            }
        }
    }
    if !finished {
        // Dropping the transaction rolls it back.
        return Err(WarehouseError::Aborted);
    }
    if target.mode == LoadMode::Replace {
        tx.execute_batch(&format!("DROP TABLE IF EXISTS {final_name}; ALTER TABLE {into} RENAME TO {final_name}"))?;
    }
    tx.commit()?;
    Ok(written)
}
