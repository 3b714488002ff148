//! One export run: the query streams batches, a blocking thread encodes them into parts, and the uploader
//! writes each file atomically. Then `_manifest.json`, then `_SUCCESS`. A failed run aborts its open upload and
//! deletes the files it had completed, so it leaves nothing; a run that starts again after its process died
//! first removes what the dead attempt left.

use byob_core::{
    export::{DeliveredFile, Export, ExportRun, ExportSource, PendingWrite},
    job::Job,
    table::TableName,
};
use byob_ports::{
    storage::{ObjectWriter, StorageClient, StorageError},
    warehouse::{ExportQuery, Field, QueryItem, WarehouseError},
};
use chrono::{DateTime, Utc};
use object_store::ObjectStoreExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::{
    ExportService,
    encode::{
        encoder,
        sink::{PartSink, Piece},
    },
    template::{PathTemplate, RunValues, beside},
};
use crate::{
    RequestContext,
    data::failure::{platform_failure, service_failure, storage_failure},
    jobs::{JobFailure, JobHandle},
};

/// Size of the first parts: S3's minimum (5 MiB), a multiple of the 256 KiB GCS wants; small buffers keep an
/// export's memory low, and [`PartSink`] grows them for very large files.
const PART_SIZE: usize = 5 << 20;

/// How the encoding thread ended.
enum EncodeError {
    /// The query or the uploader stopped first; their error says why.
    Interrupted,
    Stopped,
    Failed(String),
}

impl From<std::io::Error> for EncodeError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe { Self::Interrupted } else { Self::Failed(e.to_string()) }
    }
}

struct Encoded {
    fields: Vec<Field>,
}

enum UploadError {
    Storage(StorageError),
    Catalog(byob_ports::catalog::CatalogError),
    /// The upload id could not be sealed.
    Sealing(crate::ServiceError),
    /// The encoder stopped mid-file.
    Interrupted,
}

/// Reads every batch, writes the files, splitting by rows or bytes.
fn encode_all(
    mut rows: mpsc::Receiver<QueryItem>,
    pieces: mpsc::Sender<Piece>,
    export: &Export,
    handle: &JobHandle,
) -> Result<Encoded, EncodeError> {
    let fields = match rows.blocking_recv() {
        Some(QueryItem::Schema(fields)) => fields,
        _ => return Err(EncodeError::Interrupted),
    };
    let max_rows = export.options.max_rows_per_file.unwrap_or(u64::MAX);
    let max_bytes = export.options.max_bytes_per_file.unwrap_or(u64::MAX);
    let open = |pieces: mpsc::Sender<Piece>, part: u32| -> Result<_, EncodeError> {
        let sink = PartSink::begin(pieces, part, PART_SIZE, handle.clone())?;
        Ok(encoder(sink, export.format, export.compression, &export.options, &fields)?)
    };
    let mut part = 1;
    let mut current = open(pieces, part)?;
    let mut file_rows = 0u64;
    let mut full = false;
    while let Some(item) = rows.blocking_recv() {
        let QueryItem::Batch(batch) = item else { continue };
        if handle.should_stop() {
            return Err(EncodeError::Stopped);
        }
        let count = batch.cells.len() / batch.width.max(1);
        let mut start = 0;
        while start < count {
            if full {
                let sender = current.finish()?.close(file_rows)?;
                part += 1;
                current = open(sender, part)?;
                file_rows = 0;
            }
            let room = usize::try_from(max_rows - file_rows).unwrap_or(usize::MAX);
            let end = count.min(start.saturating_add(room));
            current.batch(&batch, start..end)?;
            file_rows += (end - start) as u64;
            handle.add_rows((end - start) as u64);
            start = end;
            full = file_rows >= max_rows || current.written() >= max_bytes;
        }
    }
    current.finish()?.close(file_rows)?;
    Ok(Encoded { fields })
}

/// Deletes a run's files, manifest and marker and aborts its open uploads; returns how many objects went.
///
/// A pending file's recorded upload is aborted, then every unfinished upload the bucket still lists for its key
/// (one started by a process that died before recording it), then the key itself is deleted (a file completed
/// by a process that died before recording it as delivered).
pub(super) async fn remove_files(
    deps: &crate::Deps,
    client: &StorageClient,
    run: &mut ExportRun,
) -> Result<usize, StorageError> {
    let mut keys: Vec<String> = Vec::new();
    for pending in std::mem::take(&mut run.pending) {
        let key = client.key(&pending.key)?;
        // A recorded upload that cannot be opened (its master key is gone) is found by the listing below.
        let context = crate::capability::export_write(run.org_id, run.id, &pending.key);
        if let Some(upload_id) =
            pending.upload_id.as_deref().and_then(|u| crate::capability::open(deps, &context, u).ok())
        {
            client.abort_write(&key, &upload_id).await?;
        }
        match client.clear_unfinished(&key).await {
            Ok(_) => {}
            // The bucket's AbortIncompleteMultipartUpload rule (in byob's setup) removes what byob may not list.
            Err(StorageError::PermissionDenied(m)) => {
                tracing::warn!(run = %run.id, reason = %m, "unfinished uploads of an export file could not be listed; left to the bucket's lifecycle rule");
            }
            Err(e) => return Err(e),
        }
        keys.push(pending.key);
    }
    run.rows = 0;
    run.bytes = 0;
    keys.extend(run.files.drain(..).map(|f| f.key));
    if let Some(manifest) = run.manifest_key.take() {
        keys.push(manifest.trim_end_matches("_manifest.json").to_string() + "_SUCCESS");
        keys.push(manifest);
    }
    let mut deleted = 0;
    for key in keys {
        match client.store().delete(&client.key(&key)?).await.map_err(StorageError::from) {
            Ok(()) => deleted += 1,
            Err(StorageError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(deleted)
}

fn query_of(export: &Export) -> Result<ExportQuery, JobFailure> {
    Ok(match &export.source {
        ExportSource::Table { table } => ExportQuery::Table(
            TableName::parse("table", table).map_err(|e| JobFailure::new("export-spec-invalid", e.message))?,
        ),
        ExportSource::Query { sql } => ExportQuery::Sql(sql.clone()),
    })
}

/// What identifies the data asked for: the connection and the statement (not the rows).
fn fingerprint(export: &Export) -> String {
    let mut hash = Sha256::new();
    hash.update(export.connection.as_bytes());
    hash.update([0]);
    match &export.source {
        ExportSource::Table { table } => hash.update(format!("table:{table}").as_bytes()),
        ExportSource::Query { sql } => hash.update(format!("query:{}", sql.trim()).as_bytes()),
    }
    format!("sha256:{}", hex::encode(hash.finalize()))
}

impl ExportService {
    /// Runs an export job.
    pub(crate) async fn execute(&self, job: &Job, handle: &JobHandle) -> Result<Value, JobFailure> {
        let ctx = RequestContext::system();
        let org = job.org_id;
        let export_id = job.spec["export"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| JobFailure::new("job-spec-invalid", "this run's spec names no export"))?;
        let failure = |e| service_failure(e, "export-failed");
        let export = self.load(org, export_id).await.map_err(failure)?;
        let mut run = self
            .deps
            .catalog
            .get_export_run(org, job.id)
            .await
            .map_err(|e| failure(e.into()))?
            .ok_or_else(|| JobFailure::new("not-found", "this run's record is gone"))?;
        let client = self.router.stored_in(&ctx, org, run.integration).await.map_err(failure)?;
        // An earlier attempt (its process died) may have left uploads and files.
        remove_files(&self.deps, &client, &mut run).await.map_err(storage_failure)?;
        self.deps.catalog.update_export_run(&run).await.map_err(|e| failure(e.into()))?;

        let outcome = self.deliver(&ctx, &export, &client, &mut run, job, handle).await;
        match outcome {
            Ok(result) => Ok(result),
            Err(f) => {
                if let Err(e) = remove_files(&self.deps, &client, &mut run).await {
                    tracing::warn!(run = %run.id, error = %e, "a failed run's files could not all be removed; the janitor retries");
                }
                if let Err(e) = self.deps.catalog.update_export_run(&run).await {
                    tracing::warn!(run = %run.id, error = %e, "could not record the failed run's cleanup");
                }
                let last = !f.retryable || job.attempts >= job.max_attempts || handle.should_stop();
                if last && !handle.cancelled() {
                    let payload = json!({ "export": export.id, "name": export.name, "run": run.id,
                                          "code": f.code, "message": f.message });
                    let _ = self
                        .events
                        .emit(&ctx, org, byob_core::event::EXPORT_FAILED, Some(export.id.to_string()), payload)
                        .await;
                }
                Err(f)
            }
        }
    }

    async fn deliver(
        &self,
        ctx: &RequestContext,
        export: &Export,
        client: &StorageClient,
        run: &mut ExportRun,
        job: &Job,
        handle: &JobHandle,
    ) -> Result<Value, JobFailure> {
        let started_at = self.deps.clock.now();
        let split = export.options.max_rows_per_file.is_some() || export.options.max_bytes_per_file.is_some();
        let template = PathTemplate::parse(&export.path_template, split)
            .map_err(|e| JobFailure::new("export-spec-invalid", e.message))?;
        let values = RunValues {
            org: export.org_id.to_string(),
            export: export.id.to_string(),
            run_id: job.id.to_string(),
            started_at,
        };
        let connection = self
            .connections
            .open(ctx, export.org_id, &export.connection)
            .await
            .map_err(|e| service_failure(e, "export-failed"))?;
        let query = query_of(export)?;
        let (row_tx, row_rx) = mpsc::channel(4);
        let (piece_tx, piece_rx) = mpsc::channel(1);
        let encode_export = export.clone();
        let encode_handle = handle.clone();
        let encoding =
            tokio::task::spawn_blocking(move || encode_all(row_rx, piece_tx, &encode_export, &encode_handle));
        let warehouse = connection.warehouse.clone();
        let (queried, encoded, uploaded) = tokio::join!(
            warehouse.query(&query, row_tx),
            encoding,
            self.upload_files(client, &template, &values, piece_rx, run)
        );
        let encoded = encoded.map_err(|e| JobFailure::new("export-crashed", format!("the encoder stopped: {e}")))?;
        if handle.cancelled() || matches!(encoded, Err(EncodeError::Stopped)) {
            return Err(JobFailure::new("cancelled", "cancelled"));
        }
        // The first cause wins: a query error, else an encoding error, else the upload's.
        if let Err(e) = queried
            && !matches!(e, WarehouseError::Aborted)
        {
            return Err(match e {
                WarehouseError::Rejected(m) | WarehouseError::Unsupported(m) | WarehouseError::Database(m) => {
                    JobFailure::new("export-query-failed", m)
                }
                WarehouseError::TableMissing(t) => {
                    JobFailure::new("table-missing", format!("table {t} does not exist (any more)"))
                }
                other => platform_failure(other, "export-query-failed"),
            });
        }
        let encoded = match encoded {
            Ok(encoded) => encoded,
            Err(EncodeError::Failed(message)) => return Err(JobFailure::new("export-encode-failed", message)),
            Err(_) => match uploaded {
                Err(UploadError::Storage(e)) => return Err(storage_failure(e)),
                Err(UploadError::Catalog(e)) => return Err(service_failure(e.into(), "export-failed")),
                Err(UploadError::Sealing(e)) => return Err(service_failure(e, "export-failed")),
                _ => return Err(JobFailure::new("export-failed", "the export stopped before its end")),
            },
        };
        match uploaded {
            Ok(()) => {}
            Err(UploadError::Storage(e)) => return Err(storage_failure(e)),
            Err(UploadError::Catalog(e)) => return Err(service_failure(e.into(), "export-failed")),
            Err(UploadError::Sealing(e)) => return Err(service_failure(e, "export-failed")),
            Err(UploadError::Interrupted) => return Err(JobFailure::new("export-failed", "a file ended early")),
        }
        let finished_at = self.deps.clock.now();
        let folder = template.folder(&values);
        let manifest = self.manifest(export, run, &encoded.fields, started_at, finished_at);
        let manifest_key = beside(&folder, "_manifest.json");
        let put = |key: String, body: Vec<u8>| async move { client.put_atomic(client.key(&key)?, body.into()).await };
        run.manifest_key = Some(manifest_key.clone());
        self.deps.catalog.update_export_run(run).await.map_err(|e| service_failure(e.into(), "export-failed"))?;
        put(manifest_key.clone(), serde_json::to_vec_pretty(&manifest).unwrap_or_default())
            .await
            .map_err(storage_failure)?;
        put(beside(&folder, "_SUCCESS"), Vec::new()).await.map_err(storage_failure)?;
        if let Some(hours) = export.staging_ttl_hours {
            run.expires_at = Some(finished_at + chrono::Duration::hours(i64::from(hours)));
        }
        self.deps.catalog.update_export_run(run).await.map_err(|e| service_failure(e.into(), "export-failed"))?;
        let summary = json!({
            "export": export.id, "name": export.name, "run": run.id, "rows": run.rows, "bytes": run.bytes,
            "files": run.files.len(), "manifest": manifest_key, "expires_at": run.expires_at,
        });
        // Once per run: an attempt that takes the run over after a crash delivers the same files again, and must
        // not announce them twice.
        let once = run.id.to_string();
        self.auditor
            .record_once(
                ctx,
                export.org_id,
                byob_core::actions::EXPORT_DELIVERED,
                Some(run.id.to_string()),
                &once,
                summary.clone(),
            )
            .await
            .map_err(|e| service_failure(e, "export-failed"))?;
        let _ = self
            .events
            .emit_once(
                ctx,
                export.org_id,
                byob_core::event::EXPORT_SUCCEEDED,
                Some(export.id.to_string()),
                summary.clone(),
                &once,
            )
            .await;
        Ok(summary)
    }

    fn manifest(
        &self,
        export: &Export,
        run: &ExportRun,
        fields: &[Field],
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
    ) -> Value {
        json!({
            "export": export.id,
            "name": export.name,
            "run_id": run.id,
            "org": export.org_id,
            "format": export.format,
            "compression": export.compression,
            "rows": run.rows,
            "bytes": run.bytes,
            "files": run.files,
            "schema": fields,
            "query_fingerprint": fingerprint(export),
            "started_at": started_at,
            "finished_at": finished_at,
        })
    }

    /// Writes each file the encoder produces; records each file's key before its upload starts, the upload's id
    /// once it exists, and each file as it completes, so a crash at any point leaves a list to clean up.
    async fn upload_files(
        &self,
        client: &StorageClient,
        template: &PathTemplate,
        values: &RunValues,
        mut pieces: mpsc::Receiver<Piece>,
        run: &mut ExportRun,
    ) -> Result<(), UploadError> {
        let mut current: Option<(ObjectWriter, String)> = None;
        let result = async {
            while let Some(piece) = pieces.recv().await {
                match piece {
                    Piece::Begin { part } => {
                        let key = template.render(values, part);
                        let path = client.key(&key).map_err(UploadError::Storage)?;
                        // Recorded before any upload can start: a crash from here on leaves a key to clean up.
                        run.pending.push(PendingWrite { key: key.clone(), upload_id: None });
                        self.deps.catalog.update_export_run(run).await.map_err(UploadError::Catalog)?;
                        current = Some((client.object_writer(path), key));
                    }
                    Piece::Data(bytes) => {
                        let Some((writer, key)) = current.as_mut() else { return Err(UploadError::Interrupted) };
                        if let Some(upload_id) = writer.write(bytes).await.map_err(UploadError::Storage)? {
                            // Known now, so a failure in this process aborts it without a listing.
                            let context = crate::capability::export_write(run.org_id, run.id, key);
                            let sealed = crate::capability::seal(&self.deps, &context, &upload_id)
                                .map_err(UploadError::Sealing)?;
                            if let Some(pending) = run.pending.iter_mut().find(|p| p.key == *key) {
                                pending.upload_id = Some(sealed);
                            }
                            self.deps.catalog.update_export_run(run).await.map_err(UploadError::Catalog)?;
                        }
                    }
                    Piece::End { rows, bytes, sha256 } => {
                        let Some((writer, key)) = current.take() else { return Err(UploadError::Interrupted) };
                        writer.finish().await.map_err(UploadError::Storage)?;
                        run.pending.retain(|p| p.key != key);
                        run.files.push(DeliveredFile { key, rows, bytes, sha256 });
                        run.rows += rows;
                        run.bytes += bytes;
                        self.deps.catalog.update_export_run(run).await.map_err(UploadError::Catalog)?;
                    }
                }
            }
            if current.is_some() { Err(UploadError::Interrupted) } else { Ok(()) }
        }
        .await;
        if result.is_err() {
            // Dropping the receiver tells the encoder to stop; the open upload is aborted here.
            pieces.close();
            if let Some((writer, _)) = current.take()
                && let Err(e) = writer.abort().await
            {
                tracing::warn!(error = %e, "could not abort an export's upload; the run's cleanup retries");
            }
        }
        result
    }
}
