//! Knowing, after a crash, whether a load committed.
//!
//! A load commits in its platform and is then recorded as done in byob's catalog: two systems, no transaction
//! over both. A process that dies between the two leaves a job that looks unfinished although its rows are in, and
//! the attempt that takes it over would load them again (twice, for `append`). So, just before committing, a
//! platform that can later say whether a given transaction committed hands the load's ledger a token naming it
//! (the ledger stores it with the job), and the next attempt asks the platform about that token first:
//!
//! - PostgreSQL: the transaction id (`txid_current()`), asked with `txid_status`, which knows every recent
//!   transaction's fate without any table of byob's in the customer's database;
//! - the embedded warehouse (SQLite): a row in byob's own `__byob_commits` table, written in the committing
//!   transaction.
//!
//! Other platforms record no token; their loads are taken up again from the start (docs/reliability.md).

use async_trait::async_trait;

use super::WarehouseError;

/// Where a load whose process died stands in its platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitState {
    /// The rows are in: the load must not run again.
    Committed,
    /// Nothing was written: the load runs from the start.
    NotCommitted,
    /// The dead session's transaction is still open (the server has not noticed the client is gone): ask later.
    Pending,
    /// The platform no longer knows (a transaction too old for its records).
    Unknown,
}

/// Where a load records, durably and just before its platform commits, the token by which the platform can tell
/// later whether that commit happened, with the rows it is committing.
#[async_trait]
pub trait CommitLedger: Send + Sync + std::fmt::Debug {
    /// # Errors
    /// The record could not be stored: the load must not commit.
    async fn committing(&self, token: &str, rows: u64) -> Result<(), WarehouseError>;
}
