//! The load's side of `byob_ports::warehouse::CommitLedger`: what a load is about to commit is stored with its job
//! before the platform commits, and the attempt that takes the job over after a crash asks the platform about it
//! before loading anything (docs/reliability.md, "Loads committed once").

use std::sync::Arc;

use async_trait::async_trait;
use byob_core::{JobId, job::Job};
use byob_ports::{
    catalog::Catalog,
    warehouse::{CommitLedger, CommitState, Warehouse, WarehouseError},
};
use serde::{Deserialize, Serialize};

use crate::jobs::{JobFailure, JobHandle};

/// What the job stores: the platform's token for the committing transaction, and what it commits.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct CommitRecord {
    pub(super) token: String,
    pub(super) rows: u64,
    pub(super) rejected: u64,
}

#[derive(Debug)]
pub(super) struct JobLedger {
    pub(super) catalog: Arc<dyn Catalog>,
    pub(super) job: JobId,
    pub(super) handle: JobHandle,
}

#[async_trait]
impl CommitLedger for JobLedger {
    async fn committing(&self, token: &str, rows: u64) -> Result<(), WarehouseError> {
        // The reader has sent its last row: its count of rejected rows is final.
        let record = CommitRecord { token: token.to_string(), rows, rejected: self.handle.progress().rows_rejected };
        let text = serde_json::to_string(&record).map_err(|e| WarehouseError::Database(e.to_string()))?;
        self.catalog
            .record_job_commit(self.job, &text)
            .await
            .map_err(|e| WarehouseError::Database(format!("the load's commit could not be recorded: {e}")))
    }
}

/// What an earlier attempt of `job` committed, if it did: then the rows are in and must not be loaded again.
pub(super) async fn committed_before(warehouse: &dyn Warehouse, job: &Job) -> Result<Option<CommitRecord>, JobFailure> {
    let Some(text) = &job.commit_record else { return Ok(None) };
    let record: CommitRecord = serde_json::from_str(text).map_err(|e| {
        JobFailure::new("load-commit-unknown", format!("the previous attempt's record is unreadable: {e}"))
    })?;
    match warehouse.commit_state(&record.token).await.map_err(super::platform_failure)? {
        CommitState::Committed => Ok(Some(record)),
        CommitState::NotCommitted => Ok(None),
        CommitState::Pending => Err(JobFailure::retryable(
            "load-commit-pending",
            "the previous attempt's transaction is still open in the platform (its session has not ended yet); \
             the load tries again shortly",
        )),
        CommitState::Unknown => Err(JobFailure::new(
            "load-commit-unknown",
            format!(
                "the platform can no longer tell whether the previous attempt committed its {} rows; look at the \
                 table before loading the file again",
                record.rows
            ),
        )),
    }
}
