//! Bulk loads into the embedded warehouse, on a blocking thread with a direct connection, values bound by
//! reference so a row costs no allocation.
//!
//! All or nothing, two ways:
//! - `create` and `replace` fill a staging table (`{table}__byob_replace`) in transactions of
//!   [`CHUNK_ROWS`] rows, and one last transaction renames it into place: the table appears (or is replaced)
//!   only then, and a failed load drops the staging table. Between chunks a second connection checkpoints the
//!   WAL on another thread, so copying pages into the database overlaps with inserting instead of following it.
//! - `append` writes into the existing table in a single transaction.

use std::{path::Path, sync::mpsc as sync_mpsc, thread::JoinHandle};

use rusqlite::{
    Connection, Statement, TransactionBehavior,
    types::{ToSqlOutput, ValueRef},
};
use tokio::sync::mpsc;

use super::{
    Cell, LoadItem, LoadMode, LoadTarget, WarehouseError,
    sql::{column_list, create_table, qualified, quote, staging_name},
    sqlite::type_name,
    text::{push_date, push_datetime},
};

/// byob's own table in the warehouse naming each load that committed (see `commit.rs`); not listed as a table.
pub(super) const COMMITS_TABLE: &str = "__byob_commits";
/// How a load's commit token names a row of [`COMMITS_TABLE`].
pub(super) const SQLITE_COMMIT_TOKEN: &str = "sqlite-commit:";

/// Rows per transaction when filling a staging table.
const CHUNK_ROWS: u64 = 250_000;

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

fn open(path: &Path) -> Result<Connection, WarehouseError> {
    let conn = Connection::open(path).map_err(|e| WarehouseError::Connect(e.to_string()))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Checkpoints the WAL on its own thread each time it is asked, and once more when the asking ends.
struct Checkpointer {
    ask: Option<sync_mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Self, WarehouseError> {
        let conn = open(path)?;
        let (ask, asked) = sync_mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let checkpoint = || {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "checkpoint of the embedded warehouse failed");
                }
            };
            while asked.recv().is_ok() {
                // Requests that piled up during a checkpoint are served by one.
                while asked.try_recv().is_ok() {}
                checkpoint();
            }
            checkpoint();
        });
        Ok(Self { ask: Some(ask), thread: Some(thread) })
    }

    fn request(&self) {
        if let Some(ask) = &self.ask {
            let _ = ask.send(());
        }
    }

    /// Runs the last checkpoint and waits for it.
    fn finish(mut self) {
        self.ask.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Binds and inserts the rows of batches until `End` (true), the channel closing (false), or `limit` rows.
struct Inserter<'c> {
    insert: Statement<'c>,
    width: usize,
    scratch: String,
}

impl Inserter<'_> {
    fn row(&mut self, row: &[Cell], batch: &super::Batch) -> Result<(), WarehouseError> {
        for (i, cell) in row.iter().enumerate() {
            self.scratch.clear();
            let value = match cell {
                Cell::Null => ValueRef::Null,
                Cell::Integer(v) => ValueRef::Integer(*v),
                Cell::Float(v) => ValueRef::Real(*v),
                Cell::Boolean(v) => ValueRef::Integer(i64::from(*v)),
                Cell::Decimal(v) | Cell::Text(v) => ValueRef::Text(batch.str(*v).as_bytes()),
                Cell::Date(d) => {
                    push_date(&mut self.scratch, *d);
                    ValueRef::Text(self.scratch.as_bytes())
                }
                Cell::Timestamp(t) => {
                    push_datetime(&mut self.scratch, *t, ' ');
                    ValueRef::Text(self.scratch.as_bytes())
                }
                Cell::TimestampTz(t) => {
                    push_datetime(&mut self.scratch, t.naive_utc(), 'T');
                    self.scratch.push('Z');
                    ValueRef::Text(self.scratch.as_bytes())
                }
            };
            self.insert.raw_bind_parameter(i + 1, ToSqlOutput::Borrowed(value))?;
        }
        self.insert.raw_execute()?;
        Ok(())
    }
}

fn insert_statement(into: &str, target: &LoadTarget) -> String {
    let placeholders = vec!["?"; target.columns.len().max(1)].join(", ");
    format!("INSERT INTO {into} ({}) VALUES ({placeholders})", column_list(&target.columns))
}

pub(super) fn load(path: &Path, target: &LoadTarget, rows: mpsc::Receiver<LoadItem>) -> Result<u64, WarehouseError> {
    let mut conn = open(path)?;
    // A bigger page cache than the default 2 MiB: interior pages stay in memory instead of being written to the
    // WAL again and again during a long insert.
    conn.pragma_update(None, "cache_size", -16_384)?;
    match target.mode {
        LoadMode::Append => append(&mut conn, target, rows),
        LoadMode::Create | LoadMode::Replace => staged(&mut conn, path, target, rows),
    }
}

fn append(
    conn: &mut Connection,
    target: &LoadTarget,
    mut rows: mpsc::Receiver<LoadItem>,
) -> Result<u64, WarehouseError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let name = qualified(&target.table, None);
    if !table_exists(&tx, &target.table.name)? {
        return Err(WarehouseError::TableMissing(target.table.to_string()));
    }
    let mut written = 0;
    {
        let mut inserter = Inserter {
            insert: tx.prepare(&insert_statement(&name, target))?,
            width: target.columns.len().max(1),
            scratch: String::new(),
        };
        let (n, finished) = fill(&mut inserter, &mut rows, u64::MAX)?;
        written += n;
        if !finished {
            // Dropping the transaction rolls it back.
            return Err(WarehouseError::Aborted);
        }
    }
    record_commit(&tx, target, written)?;
    tx.commit()?;
    Ok(written)
}

/// Inserts rows until `End` (true), the channel closing (false), or `limit` rows written (false, more to come).
fn fill(
    inserter: &mut Inserter<'_>,
    rows: &mut mpsc::Receiver<LoadItem>,
    limit: u64,
) -> Result<(u64, bool), WarehouseError> {
    let mut written = 0;
    while written < limit {
        match rows.blocking_recv() {
            Some(LoadItem::Batch(batch)) => {
                for row in batch.cells.chunks(inserter.width) {
                    inserter.row(row, &batch)?;
                    written += 1;
                }
                batch.done();
            }
            Some(LoadItem::End) => return Ok((written, true)),
            None => return Err(WarehouseError::Aborted),
        }
    }
    Ok((written, false))
}

fn staged(
    conn: &mut Connection,
    path: &Path,
    target: &LoadTarget,
    mut rows: mpsc::Receiver<LoadItem>,
) -> Result<u64, WarehouseError> {
    let final_name = qualified(&target.table, None);
    let staging = quote(&staging_name(&target.table));
    {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if target.mode == LoadMode::Create && table_exists(&tx, &target.table.name)? {
            return Err(WarehouseError::TableExists(target.table.to_string()));
        }
        // A staging table left by a crashed load is dropped first.
        tx.execute_batch(&format!("DROP TABLE IF EXISTS {staging}"))?;
        tx.execute_batch(&create_table(&staging, &target.columns, type_name))?;
        tx.commit()?;
    }
    // Commits do not checkpoint inline; the checkpointer does, alongside.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    let checkpointer = Checkpointer::start(path)?;
    let outcome = fill_in_chunks(conn, &staging, target, &mut rows, &checkpointer);
    let result = outcome.and_then(|written| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        match target.mode {
            LoadMode::Create if table_exists(&tx, &target.table.name)? => {
                return Err(WarehouseError::TableExists(target.table.to_string()));
            }
            LoadMode::Create => {}
            _ => tx.execute_batch(&format!("DROP TABLE IF EXISTS {final_name}"))?,
        }
        tx.execute_batch(&format!("ALTER TABLE {staging} RENAME TO {final_name}"))?;
        record_commit(&tx, target, written)?;
        tx.commit()?;
        Ok(written)
    });
    if result.is_err() {
        let _ = conn.execute_batch(&format!("DROP TABLE IF EXISTS {staging}"));
    }
    checkpointer.finish();
    result
}

fn fill_in_chunks(
    conn: &mut Connection,
    staging: &str,
    target: &LoadTarget,
    rows: &mut mpsc::Receiver<LoadItem>,
    checkpointer: &Checkpointer,
) -> Result<u64, WarehouseError> {
    let statement = insert_statement(staging, target);
    let mut written = 0;
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (n, finished) = {
            let mut inserter = Inserter {
                insert: tx.prepare(&statement)?,
                width: target.columns.len().max(1),
                scratch: String::new(),
            };
            fill(&mut inserter, rows, CHUNK_ROWS)?
        };
        tx.commit()?;
        written += n;
        checkpointer.request();
        if finished {
            return Ok(written);
        }
    }
}

/// Writes the load's commit token into the committing transaction and hands it to the ledger first, so the token
/// is recorded before the rows can be in (see `commit.rs`). Runs on the load's blocking thread.
fn record_commit(tx: &Connection, target: &LoadTarget, rows: u64) -> Result<(), WarehouseError> {
    let Some(ledger) = &target.ledger else { return Ok(()) };
    tx.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {COMMITS_TABLE} (token TEXT PRIMARY KEY, at TEXT NOT NULL)"
    ))?;
    let token = format!("{SQLITE_COMMIT_TOKEN}{}", ulid::Ulid::new());
    tx.execute(&format!("INSERT INTO {COMMITS_TABLE} (token, at) VALUES (?1, datetime('now'))"), [&token])?;
    tokio::runtime::Handle::current().block_on(ledger.committing(&token, rows))
}

/// Whether the load that recorded `token` committed: its row is there or not (a dead process's open transaction
/// was rolled back when the database was next opened).
pub(super) fn commit_state(path: &Path, token: &str) -> Result<super::CommitState, WarehouseError> {
    let conn = open(path)?;
    if !table_exists(&conn, COMMITS_TABLE)? {
        return Ok(super::CommitState::NotCommitted);
    }
    let n: i64 =
        conn.query_row(&format!("SELECT count(*) FROM {COMMITS_TABLE} WHERE token = ?1"), [token], |r| r.get(0))?;
    Ok(if n > 0 { super::CommitState::Committed } else { super::CommitState::NotCommitted })
}
