//! A load's commit token, on the platforms that give one (`warehouse/commit.rs`): handed to the ledger before the
//! commit, and afterwards the platform says the commit happened; a transaction that rolled back, or a token never
//! committed, is "not committed". On real PostgreSQL (`txid_status`) and the embedded warehouse (SQLite, whose
//! bookkeeping table is not listed among the tables).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use byob_core::table::{Column, ColumnType, TableName};
use byob_ports::warehouse::{
    Batch, Cell, CommitLedger, CommitState, LoadItem, LoadMode, LoadTarget, PostgresWarehouse, SqliteWarehouse,
    Warehouse, WarehouseError,
};
use byob_testkit::{fresh_postgres_database, loopback_network, server_settings};

#[derive(Debug, Default)]
struct Recorded(Mutex<Vec<(String, u64)>>);

#[async_trait]
impl CommitLedger for Recorded {
    async fn committing(&self, token: &str, rows: u64) -> Result<(), WarehouseError> {
        self.0.lock().unwrap().push((token.to_string(), rows));
        Ok(())
    }
}

/// A ledger that refuses: the load must not commit.
#[derive(Debug)]
struct Refusing;

#[async_trait]
impl CommitLedger for Refusing {
    async fn committing(&self, _token: &str, _rows: u64) -> Result<(), WarehouseError> {
        Err(WarehouseError::Database("the catalog is unreachable".into()))
    }
}

fn target(name: &str, mode: LoadMode, ledger: Arc<dyn CommitLedger>) -> LoadTarget {
    LoadTarget {
        table: TableName { schema: None, name: name.into() },
        mode,
        columns: vec![Column { name: "n".into(), column_type: ColumnType::Integer, nullable: true }],
        ledger: Some(ledger),
    }
}

/// Loads the integers 1..=rows into `target`.
async fn load(w: &dyn Warehouse, target: &LoadTarget, rows: i64) -> Result<u64, WarehouseError> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let send = async move {
        let cells = (1..=rows).map(Cell::Integer).collect();
        tx.send(LoadItem::Batch(Batch { width: 1, cells, text: String::new(), recycle: None })).await.unwrap();
        tx.send(LoadItem::End).await.unwrap();
    };
    let (loaded, ()) = tokio::join!(w.load(target, rx), send);
    loaded
}

async fn tokens_say_what_committed(w: &dyn Warehouse) {
    let recorded = Arc::new(Recorded::default());
    for (table, mode) in [("created", LoadMode::Create), ("created", LoadMode::Append), ("replaced", LoadMode::Replace)]
    {
        assert_eq!(load(w, &target(table, mode, recorded.clone()), 3).await.unwrap(), 3, "{table} {mode:?}");
    }
    let tokens = recorded.0.lock().unwrap().clone();
    assert_eq!(tokens.len(), 3, "one token per load, just before its commit");
    for (token, rows) in &tokens {
        assert_eq!(*rows, 3);
        assert_eq!(w.commit_state(token).await.unwrap(), CommitState::Committed, "{token}");
    }

    // A ledger that cannot record stops the commit: the table is not there, and the token it was offered is not
    // committed.
    let err = load(w, &target("never", LoadMode::Create, Arc::new(Refusing)), 3).await.unwrap_err();
    assert!(err.to_string().contains("unreachable"), "{err}");
    assert!(w.columns(&TableName { schema: None, name: "never".into() }).await.unwrap().is_none());

    let names: Vec<String> = w.tables().await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["created", "replaced"], "byob's bookkeeping is not a table of the customer's");
}

#[tokio::test]
async fn postgres_tells_whether_a_load_committed() {
    let url = url::Url::parse(&fresh_postgres_database().await).unwrap();
    let w = PostgresWarehouse::new(server_settings(&url, url.host_str().unwrap(), loopback_network()));
    tokens_say_what_committed(&w).await;

    // A transaction that rolled back is not committed; one still open is pending.
    use sqlx::Connection as _;
    let mut pg = sqlx::PgConnection::connect(url.as_str()).await.unwrap();
    let mut open = pg.begin().await.unwrap();
    let txid: i64 = sqlx::query_scalar("SELECT txid_current()").fetch_one(&mut *open).await.unwrap();
    let token = format!("postgres-xact:{txid}");
    assert_eq!(w.commit_state(&token).await.unwrap(), CommitState::Pending);
    open.rollback().await.unwrap();
    assert_eq!(w.commit_state(&token).await.unwrap(), CommitState::NotCommitted);
    assert!(w.commit_state("sqlite-commit:x").await.is_err(), "another platform's token is refused");
}

#[tokio::test]
async fn the_embedded_warehouse_tells_whether_a_load_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warehouse.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let w = SqliteWarehouse::new(pool, &path);
    tokens_say_what_committed(&w).await;
    assert_eq!(w.commit_state("sqlite-commit:never-given").await.unwrap(), CommitState::NotCommitted);
}
