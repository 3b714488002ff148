//! The reading side of a load, on a blocking thread: CSV records converted into batches for the platform,
//! bad rows kept for the report and the rejected-rows file.

use std::io::Read;

use byob_core::table::Column;
use byob_ports::warehouse::{Batch, Cell, LoadItem};
use tokio::sync::mpsc;

use super::{LoadSpec, OnError};
use crate::{
    data::stream::STORAGE_READ,
    jobs::{JobFailure, JobHandle},
    tabular::{BadRow, CsvOptions, FileError, RowError, RowReader, utf8_reader},
};

/// Rows per batch handed to the platform.
const BATCH_ROWS: usize = 4096;
/// Fields of rejected rows kept for the rejected-rows file.
const REJECTED_BYTES: usize = 16 * 1024 * 1024;
/// Text a batch carries before it is handed over.
const BATCH_TEXT_BYTES: usize = 4 * 1024 * 1024;
/// Longest record accepted (a 10 MB field fits).
const MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Default)]
pub(crate) struct Produced {
    pub(crate) rejected: u64,
    /// The rejected rows kept for the rejected-rows file: at most `max_bad_rows + 1`, and at most
    /// [`REJECTED_BYTES`] of fields, so a file of huge bad rows cannot fill memory.
    pub(crate) bad: Vec<BadRow>,
    bad_bytes: usize,
    pub(crate) failure: Option<JobFailure>,
}

impl Produced {
    /// What a reader that ran in an earlier attempt produced, as far as its commit record says: the count of
    /// rejected rows (their rows themselves went with that attempt).
    pub(crate) fn committed_earlier(rejected: u64) -> Self {
        Self { rejected, ..Self::default() }
    }
}

/// Reads, converts and hands over every row (on a blocking thread: the CSV reader pulls bytes synchronously).
pub(super) fn produce(
    input: impl Read + Send,
    spec: &LoadSpec,
    columns: Vec<Column>,
    tx: &mpsc::Sender<LoadItem>,
    handle: &JobHandle,
) -> Produced {
    let options = CsvOptions {
        delimiter: spec.delimiter,
        has_header: spec.has_header,
        null_tokens: spec.null_tokens.clone(),
        max_record_bytes: MAX_RECORD_BYTES,
    };
    let width = columns.len();
    let mut rows = RowReader::new(utf8_reader(input, spec.encoding), &options, columns);
    let mut produced = Produced { rejected: 0, bad: Vec::new(), bad_bytes: 0, failure: None };
    let mut cells: Vec<Cell> = Vec::with_capacity(BATCH_ROWS * width);
    let mut text = String::with_capacity(512 * 1024);
    let mut in_batch = 0usize;
    // Written batches come back emptied: a load reuses a handful of buffers instead of allocating per batch.
    let (recycle, recycled) = std::sync::mpsc::channel::<Batch>();
    let fresh = || match recycled.try_recv() {
        Ok(batch) => (batch.cells, batch.text),
        Err(_) => (Vec::with_capacity(BATCH_ROWS * width), String::with_capacity(512 * 1024)),
    };
    let send = |cells: Vec<Cell>, text: String, n: usize| -> bool {
        handle.add_rows(n as u64);
        let batch = Batch { width, cells, text, recycle: Some(recycle.clone()) };
        tx.blocking_send(LoadItem::Batch(batch)).is_ok()
    };
    loop {
        if handle.should_stop() {
            produced.failure = Some(JobFailure::new("cancelled", "the load was stopped; nothing was written"));
            return produced;
        }
        match rows.next_into(&mut cells, &mut text) {
            Ok(None) => break,
            Ok(Some(Ok(()))) => {
                in_batch += 1;
                // A batch is flushed by rows or by text size, so memory stays bounded whatever the fields' size.
                if in_batch == BATCH_ROWS || text.len() >= BATCH_TEXT_BYTES {
                    let (next_cells, next_text) = fresh();
                    let full = std::mem::replace(&mut cells, next_cells);
                    let full_text = std::mem::replace(&mut text, next_text);
                    if !send(full, full_text, in_batch) {
                        // The platform side stopped; its error is the one to report.
                        return produced;
                    }
                    in_batch = 0;
                }
            }
            Ok(Some(Err(bad))) => {
                produced.rejected += 1;
                handle.add_rejected(1);
                let error = bad.error.clone();
                let size: usize = bad.fields.iter().map(String::len).sum();
                if produced.bad.len() as u64 <= spec.max_bad_rows && produced.bad_bytes + size <= REJECTED_BYTES {
                    produced.bad_bytes += size;
                    produced.bad.push(bad);
                }
                if spec.on_error == OnError::Abort {
                    produced.failure = Some(JobFailure::new("bad-row", describe(&error)));
                    return produced;
                }
                if produced.rejected > spec.max_bad_rows {
                    produced.failure = Some(JobFailure::new(
                        "too-many-bad-rows",
                        format!(
                            "more than {} rows could not be loaded (the last: {}); nothing was written",
                            spec.max_bad_rows,
                            describe(&error)
                        ),
                    ));
                    return produced;
                }
            }
            Err(FileError { line, message }) => {
                let failure = if message.contains(STORAGE_READ) {
                    JobFailure::retryable("storage-unavailable", message)
                } else {
                    JobFailure::new("csv-unreadable", format!("line {line}: {message}; nothing was written"))
                };
                produced.failure = Some(failure);
                return produced;
            }
        }
    }
    if in_batch > 0 && !send(cells, text, in_batch) {
        return produced;
    }
    let _ = tx.blocking_send(LoadItem::End);
    produced
}

fn describe(e: &RowError) -> String {
    match &e.column {
        Some(column) => format!("line {}, column `{column}`: {}", e.line, e.reason),
        None => format!("line {}: {}", e.line, e.reason),
    }
}
