//! What a running job shares with the runner: progress counters it bumps, and a stop flag the runner raises
//! when a cancel is requested or the lease is lost.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use byob_core::job::Progress;

#[derive(Debug, Default)]
struct Shared {
    bytes_done: AtomicU64,
    rows_done: AtomicU64,
    rows_rejected: AtomicU64,
    stop: AtomicBool,
    cancelled: AtomicBool,
}

/// A running job's progress and stop flag, cheap to clone into the threads doing the work.
#[derive(Debug, Clone, Default)]
pub struct JobHandle {
    shared: Arc<Shared>,
    bytes_total: Option<u64>,
}

impl JobHandle {
    #[must_use]
    pub fn new(bytes_total: Option<u64>) -> Self {
        Self { shared: Arc::default(), bytes_total }
    }

    pub fn add_bytes(&self, n: u64) {
        self.shared.bytes_done.fetch_add(n, Ordering::Relaxed);
    }

    pub fn add_rows(&self, n: u64) {
        self.shared.rows_done.fetch_add(n, Ordering::Relaxed);
    }

    pub fn add_rejected(&self, n: u64) {
        self.shared.rows_rejected.fetch_add(n, Ordering::Relaxed);
    }

    #[must_use]
    pub fn progress(&self) -> Progress {
        Progress {
            bytes_done: self.shared.bytes_done.load(Ordering::Relaxed),
            bytes_total: self.bytes_total,
            rows_done: self.shared.rows_done.load(Ordering::Relaxed),
            rows_rejected: self.shared.rows_rejected.load(Ordering::Relaxed),
        }
    }

    /// Whether the work should stop now (cancelled, or another process owns the job).
    #[must_use]
    pub fn should_stop(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }

    #[must_use]
    pub fn cancelled(&self) -> bool {
        self.shared.cancelled.load(Ordering::Relaxed)
    }

    pub(crate) fn stop(&self, cancelled: bool) {
        if cancelled {
            self.shared.cancelled.store(true, Ordering::Relaxed);
        }
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

/// Why an attempt failed; `retryable` failures (a storage hiccup) are tried again while attempts remain.
#[derive(Debug, Clone)]
pub(crate) struct JobFailure {
    pub code: &'static str,
    pub message: String,
    pub retryable: bool,
    /// The kind's own details, kept in the job's result (e.g. the rejected rows).
    pub detail: Option<serde_json::Value>,
}

impl JobFailure {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        // A job's error reaches events, webhooks and the audit trail: no URL's query (a signature) goes with it.
        Self { code, message: byob_core::redact::url_queries_in(message.into()), retryable: false, detail: None }
    }

    pub(crate) fn retryable(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: byob_core::redact::url_queries_in(message.into()), retryable: true, detail: None }
    }

    pub(crate) fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job's error goes to events, webhooks and the audit trail: no URL query with it.
    #[test]
    fn job_errors_never_carry_a_url_query() {
        let error = "PUT https://storage.googleapis.com/upload?upload_id=SESSION failed";
        for failure in [JobFailure::new("x", error), JobFailure::retryable("x", error)] {
            assert_eq!(failure.message, "PUT https://storage.googleapis.com/upload?[redacted] failed");
        }
    }
}
