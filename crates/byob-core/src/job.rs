//! Jobs: long work (a load, later exports and imports) kept durable in the catalog, claimed by one byob process
//! at a time under a lease, with visible progress.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::{JobId, OrgId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [Self; 5] = [Self::Queued, Self::Running, Self::Succeeded, Self::Failed, Self::Cancelled];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    #[must_use]
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

/// How far a running job got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct Progress {
    pub bytes_done: u64,
    /// Total bytes, when known.
    pub bytes_total: Option<u64>,
    pub rows_done: u64,
    pub rows_rejected: u64,
}

/// Why a job failed, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Job {
    pub id: JobId,
    pub org_id: OrgId,
    /// `load`.
    pub kind: String,
    pub state: JobState,
    /// What to do, in the kind's own shape.
    pub spec: Value,
    pub progress: Progress,
    /// The kind's own outcome (rows loaded, rejected rows…), once finished.
    pub result: Option<Value>,
    pub error: Option<JobError>,
    /// Attempts started so far (a crash or a transient error starts another, up to `max_attempts`).
    pub attempts: u32,
    pub max_attempts: u32,
    pub cancel_requested: bool,
    /// The process holding the job while it runs, and until when (renewed while it works).
    #[serde(skip)]
    pub lease_owner: Option<String>,
    #[serde(skip)]
    pub lease_until: Option<DateTime<Utc>>,
    /// Not before this time (a retry waits).
    pub run_after: DateTime<Utc>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// What an attempt of a load stored just before its platform committed (the platform's commit token and the
    /// rows), read by the attempt that takes the job over after a crash.
    #[serde(skip)]
    pub commit_record: Option<String>,
}
