//! Loading an uploaded CSV into a connection: the request is checked and turned into a job spec at once (so
//! bad options fail fast), then the job streams the object from the bucket through the CSV reader into the
//! platform's bulk path, all or nothing.

mod ledger;
mod produce;
mod pull;

use byob_core::{
    AuditOutcome, OrgId, UploadId,
    job::Job,
    table::{Column, ColumnType, TableName, check_identifier},
    upload::{Staged, Upload, UploadState},
};
use byob_ports::{
    storage::{StorageClient, StorageError},
    warehouse::{LoadMode, LoadTarget, WarehouseError},
};
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use utoipa::ToSchema;

pub(crate) use produce::Produced;
use produce::produce;
pub use pull::LoadVia;
use pull::Pulled;

use super::{ConnectionService, UploadService, stream::blocking_reader};
use crate::{
    RequestContext, ServiceError,
    jobs::{JobFailure, JobHandle, JobService},
    tabular::{BadRow, DetectedEncoding, InspectError, Inspection, LATIN1_GUESS, RowError, TextEncoding, inspect},
};

/// Bytes read from the start of a file to inspect it.
const SAMPLE_BYTES: u64 = 1024 * 1024;
/// Bad rows kept in the job's result; all of them (up to the limit) go to the rejected-rows file.
const BAD_ROWS_SHOWN: usize = 20;
const MAX_BAD_ROW_LIMIT: u64 = 100_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Create,
    Append,
    Replace,
}

impl Mode {
    /// The platform's name for the mode.
    pub(crate) fn load_mode(self) -> LoadMode {
        match self {
            Self::Create => LoadMode::Create,
            Self::Append => LoadMode::Append,
            Self::Replace => LoadMode::Replace,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// The first bad row fails the load; nothing is written.
    #[default]
    Abort,
    /// Bad rows are left out (up to `max_bad_rows`) and written to the rejected-rows file.
    Skip,
}

/// Renames or retypes one column of the file.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnOverride {
    /// The column as inspection names it (the header's name, or `column_N` without a header)…
    pub source: Option<String>,
    /// …or its 1-based position.
    pub position: Option<u32>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub column_type: Option<ColumnType>,
    pub nullable: Option<bool>,
}

/// Options of an inspection (all optional: byob detects).
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PreviewOptions {
    /// One character: `,`, `;`, `|`, or `\t` for a tab.
    pub delimiter: Option<String>,
    /// Whether the first line names the columns.
    pub header: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadRequest {
    /// A connection name (`local` for the embedded warehouse) or id.
    pub connection: String,
    /// `table` or `schema.table`.
    pub table: String,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default)]
    pub columns: Vec<ColumnOverride>,
    #[serde(default)]
    pub on_error: OnError,
    /// With `on_error: skip`, how many bad rows are tolerated before the load fails. Default 100.
    pub max_bad_rows: Option<u64>,
    pub header: Option<bool>,
    pub delimiter: Option<String>,
    /// Fields that mean NULL. Default: the empty field.
    pub null_tokens: Option<Vec<String>>,
    /// Overrides the detected encoding.
    pub encoding: Option<TextEncoding>,
    /// `stream` (default): byob reads the file and writes the rows. `platform`: the platform reads the file from
    /// the bucket itself where it can (Snowflake, from AWS S3), with credentials byob vends for exactly that
    /// object for 15 minutes or the connection's storage integration; otherwise byob streams it, and the job's
    /// result says why (`path`, `path_reason`).
    #[serde(default)]
    pub via: LoadVia,
}

/// A load's spec: everything decided before it runs. `upload` names the staged file of an upload's load (an
/// import loads an object of the customer's bucket instead).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LoadSpec {
    #[serde(default)]
    upload: Option<UploadId>,
    connection: String,
    table: TableName,
    mode: Mode,
    delimiter: u8,
    has_header: bool,
    pub(crate) encoding: DetectedEncoding,
    columns: Vec<Column>,
    on_error: OnError,
    max_bad_rows: u64,
    null_tokens: Vec<String>,
    #[serde(default)]
    via: LoadVia,
}

#[derive(Debug, Clone)]
pub struct Loads {
    uploads: UploadService,
    connections: ConnectionService,
    jobs: JobService,
}

fn delimiter(text: Option<&str>) -> Result<Option<u8>, ServiceError> {
    match text {
        None => Ok(None),
        Some("\\t" | "\t" | "tab") => Ok(Some(b'\t')),
        Some(d) if d.len() == 1 && d.is_ascii() && !matches!(d, "\"" | "\n" | "\r") => Ok(Some(d.as_bytes()[0])),
        Some(_) => Err(ServiceError::invalid("delimiter", "one ASCII character other than a quote or a line break")),
    }
}

/// The checks of a load request that need no file: table, delimiter, NULL tokens, bad-row limit.
///
/// # Errors
/// The field and what is wrong with it.
pub(crate) fn check_request(req: &LoadRequest) -> Result<(TableName, Option<u8>, Vec<String>, u64), ServiceError> {
    let table = TableName::parse("table", &req.table)?;
    let delimiter = delimiter(req.delimiter.as_deref())?;
    let null_tokens = req.null_tokens.clone().unwrap_or_else(|| vec![String::new()]);
    if null_tokens.len() > 16 || null_tokens.iter().any(|t| t.len() > 64) {
        return Err(ServiceError::invalid("null_tokens", "at most 16 tokens of at most 64 bytes"));
    }
    let max_bad_rows = match (req.on_error, req.max_bad_rows) {
        (OnError::Abort, Some(_)) => {
            return Err(ServiceError::invalid("max_bad_rows", "applies only with `on_error: skip`"));
        }
        (OnError::Abort, None) => 0,
        (OnError::Skip, None) => 100,
        (OnError::Skip, Some(n)) if n <= MAX_BAD_ROW_LIMIT => n,
        (OnError::Skip, Some(_)) => {
            return Err(ServiceError::invalid("max_bad_rows", format!("at most {MAX_BAD_ROW_LIMIT}")));
        }
    };
    Ok((table, delimiter, null_tokens, max_bad_rows))
}

/// The first `max` bytes of an object of `size` bytes.
pub(crate) async fn head_bytes(
    client: &StorageClient,
    key: &object_store::path::Path,
    size: u64,
    max: u64,
) -> Result<bytes::Bytes, ServiceError> {
    let end = size.min(max);
    if end == 0 {
        return Ok(bytes::Bytes::new());
    }
    Ok(client.store().get_range(key, 0..end).await.map_err(StorageError::from)?)
}

fn inspect_error(e: InspectError) -> ServiceError {
    match e {
        InspectError::Empty => ServiceError::Refused {
            code: byob_core::codes::CSV_EMPTY,
            message: "the file is empty: there is no header and no row to load".into(),
        },
        InspectError::Unreadable(m) => ServiceError::Refused { code: byob_core::codes::CSV_UNREADABLE, message: m },
        e @ InspectError::TooManyColumns { .. } => {
            ServiceError::Refused { code: byob_core::codes::CSV_TOO_MANY_COLUMNS, message: e.to_string() }
        }
    }
}

fn apply_overrides(columns: &mut [Column], overrides: &[ColumnOverride]) -> Result<(), ServiceError> {
    for (i, o) in overrides.iter().enumerate() {
        let field = format!("columns[{i}]");
        let index = match (&o.source, o.position) {
            (Some(source), None) => columns.iter().position(|c| &c.name == source).ok_or_else(|| {
                ServiceError::invalid(
                    &field,
                    format!("the file has no column `{source}`; preview the upload for names"),
                )
            })?,
            (None, Some(p)) if p >= 1 && (p as usize) <= columns.len() => p as usize - 1,
            (None, Some(p)) => {
                return Err(ServiceError::invalid(&field, format!("position {p} is not in 1-{}", columns.len())));
            }
            _ => return Err(ServiceError::invalid(&field, "give either `source` or `position`")),
        };
        let column = &mut columns[index];
        if let Some(name) = &o.name {
            column.name.clone_from(name);
        }
        if let Some(t) = o.column_type {
            column.column_type = t;
        }
        if let Some(nullable) = o.nullable {
            column.nullable = nullable;
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (i, c) in columns.iter().enumerate() {
        check_identifier(&format!("columns[{}]", i + 1), &c.name).map_err(|e| ServiceError::Refused {
            code: byob_core::codes::CSV_COLUMN_NAME,
            message: format!("column {} has an unusable name ({}); rename it with `columns`", i + 1, e.message),
        })?;
        if !seen.insert(c.name.to_lowercase()) {
            return Err(ServiceError::Refused {
                code: byob_core::codes::CSV_COLUMN_NAME,
                message: format!("column {} repeats the name `{}`; rename it with `columns`", i + 1, c.name),
            });
        }
    }
    Ok(())
}

impl Loads {
    #[must_use]
    pub(crate) fn new(uploads: UploadService, connections: ConnectionService, jobs: JobService) -> Self {
        Self { uploads, connections, jobs }
    }

    async fn ready(&self, org: OrgId, id: UploadId) -> Result<Upload, ServiceError> {
        let upload = self.uploads.find(org, id).await?;
        if upload.state != UploadState::Uploaded || upload.staged != Staged::Present {
            return Err(ServiceError::Refused {
                code: byob_core::codes::UPLOAD_NOT_READY,
                message: format!(
                    "upload `{id}` is {} and its file is {}: only a completed upload whose file is still staged can be read",
                    upload.state.as_str(),
                    serde_json::to_value(upload.staged)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                ),
            });
        }
        Ok(upload)
    }

    async fn inspect_upload(
        &self,
        ctx: &RequestContext,
        upload: &Upload,
        delimiter: Option<u8>,
        header: Option<bool>,
        null_tokens: &[String],
    ) -> Result<Inspection, ServiceError> {
        let (client, key) = self.uploads.located(ctx, upload).await?;
        let sample = head_bytes(&client, &key, upload.size, SAMPLE_BYTES).await?;
        inspect(&sample, upload.size <= SAMPLE_BYTES, delimiter, header, null_tokens).map_err(inspect_error)
    }

    /// Inspects the start of an uploaded file: encoding, dialect, columns and types, first rows.
    ///
    /// # Errors
    /// Not a member; not found; not uploaded; an empty file.
    pub async fn preview(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: UploadId,
        options: PreviewOptions,
    ) -> Result<Inspection, ServiceError> {
        self.uploads.member(ctx, org).await?;
        let upload = self.ready(org, id).await?;
        let delimiter = delimiter(options.delimiter.as_deref())?;
        self.inspect_upload(ctx, &upload, delimiter, options.header, &[String::new()]).await
    }

    /// Checks a load request and queues its job.
    ///
    /// # Errors
    /// Not a member; not found; not uploaded; invalid options; unknown connection; column problems.
    pub async fn start(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: UploadId,
        req: LoadRequest,
    ) -> Result<Job, ServiceError> {
        self.uploads.member(ctx, org).await?;
        let mut upload = self.ready(org, id).await?;
        let (client, key) = self.uploads.located(ctx, &upload).await?;
        let mut spec = self.plan(org, &req, &client, &key, upload.size).await?;
        self.connections
            .permit(ctx, org, &spec.connection, super::connections::Use::load(spec.mode, &spec.table))
            .await?;
        spec.upload = Some(id);
        let spec_json = serde_json::to_value(&spec).map_err(|e| ServiceError::invalid("spec", e.to_string()))?;
        let job = self.jobs.enqueue(ctx, org, "load", spec_json, Some(upload.size)).await?;
        upload.load_job = Some(job.id);
        self.uploads.deps().catalog.update_upload(&upload, UploadState::Uploaded).await?;
        self.uploads
            .audit(
                ctx,
                &upload,
                byob_core::actions::UPLOAD_LOAD,
                AuditOutcome::Success,
                json!({
                    "job": job.id, "connection": spec.connection, "table": spec.table.to_string(), "mode": spec.mode,
                }),
            )
            .await?;
        Ok(job)
    }

    /// Checks a load request against the object it will read (its first MiB, inspected): the spec a load of it
    /// runs with.
    ///
    /// # Errors
    /// Invalid options; unknown connection; an empty or unreadable file; column problems.
    pub(crate) async fn plan(
        &self,
        org: OrgId,
        req: &LoadRequest,
        client: &StorageClient,
        key: &object_store::path::Path,
        size: u64,
    ) -> Result<LoadSpec, ServiceError> {
        let (table, delimiter, null_tokens, max_bad_rows) = check_request(req)?;
        let connection = self.connections.resolve_name(org, &req.connection).await?;
        let sample = head_bytes(client, key, size, SAMPLE_BYTES).await?;
        let inspection =
            inspect(&sample, size <= SAMPLE_BYTES, delimiter, req.header, &null_tokens).map_err(inspect_error)?;
        let mut columns = inspection.columns;
        apply_overrides(&mut columns, &req.columns)?;
        let mut encoding = inspection.encoding;
        if req.encoding.is_none()
            && let Some(mixed) = inspection.mixed
        {
            return Err(ServiceError::Refused { code: byob_core::codes::CSV_ENCODING_MIXED, message: mixed.message() });
        }
        if let Some(e) = req.encoding {
            encoding = DetectedEncoding { encoding: e, bom: encoding.bom && e == encoding.encoding, guessed: false };
        }
        Ok(LoadSpec {
            upload: None,
            connection,
            table,
            mode: req.mode,
            delimiter: inspection.dialect.delimiter,
            has_header: inspection.dialect.has_header,
            encoding,
            columns,
            on_error: req.on_error,
            max_bad_rows,
            null_tokens,
            via: req.via,
        })
    }

    /// Streams the object at `key` through the CSV reader into the spec's table, all or nothing: what the
    /// platform said, and what the reader produced (rejected rows, or why it stopped). An attempt of `job` that
    /// committed before its process died is not loaded again (see `ledger.rs`).
    pub(crate) async fn stream_into(
        &self,
        ctx: &RequestContext,
        client: &StorageClient,
        key: &object_store::path::Path,
        spec: &LoadSpec,
        job: &Job,
        handle: &JobHandle,
    ) -> Result<(Result<u64, WarehouseError>, Produced), JobFailure> {
        let org = job.org_id;
        let connection = self.connections.open(ctx, org, &spec.connection).await.map_err(service_failure)?;
        let warehouse = connection.warehouse;
        if let Some(done) = ledger::committed_before(warehouse.as_ref(), job).await? {
            // A previous attempt committed these rows and died before recording the job's end.
            self.record_created_table(org, spec).await?;
            return Ok((Ok(done.rows), Produced::committed_earlier(done.rejected)));
        }
        let columns = match spec.mode {
            Mode::Create | Mode::Replace => spec.columns.clone(),
            Mode::Append => {
                let existing = warehouse.columns(&spec.table).await.map_err(platform_failure)?.ok_or_else(|| {
                    JobFailure::new(
                        "table-missing",
                        format!("table {} does not exist; load with mode `create`", spec.table),
                    )
                })?;
                match_columns(&spec.columns, &existing)?
            }
        };
        let catalog = self.uploads.deps().catalog.clone();
        let ledger = ledger::JobLedger { catalog, job: job.id, handle: handle.clone() };
        let target = LoadTarget {
            table: spec.table.clone(),
            mode: spec.mode.load_mode(),
            columns: columns.clone(),
            ledger: Some(std::sync::Arc::new(ledger)),
        };
        let object = client.store().get(key).await.map_err(|e| super::failure::storage_failure(e.into()))?;
        let input = blocking_reader(object.into_stream(), handle.clone());
        let (tx, rx) = mpsc::channel(4);
        let producer_handle = handle.clone();
        let producer_spec = spec.clone();
        let producer =
            tokio::task::spawn_blocking(move || produce(input, &producer_spec, columns, &tx, &producer_handle));
        let (loaded, produced) = tokio::join!(warehouse.load(&target, rx), producer);
        let produced = produced.map_err(|e| JobFailure::new("load-crashed", format!("the CSV reader stopped: {e}")))?;
        if loaded.is_ok() {
            self.record_created_table(org, spec).await?;
        }
        Ok((loaded, produced))
    }

    /// Members may append to and replace the tables byob made (a connection's member access).
    async fn record_created_table(&self, org: OrgId, spec: &LoadSpec) -> Result<(), JobFailure> {
        if spec.mode == Mode::Create {
            self.connections.record_created(org, &spec.connection, &spec.table).await.map_err(service_failure)?;
        }
        Ok(())
    }

    /// Runs a load job.
    pub(crate) async fn execute(&self, job: &Job, handle: &JobHandle) -> Result<Value, JobFailure> {
        let spec: LoadSpec = serde_json::from_value(job.spec.clone())
            .map_err(|e| JobFailure::new("job-spec-invalid", format!("this load's spec cannot be read: {e}")))?;
        let ctx = RequestContext::system();
        let org = job.org_id;
        let upload_id =
            spec.upload.ok_or_else(|| JobFailure::new("job-spec-invalid", "this load's spec names no upload"))?;
        let upload = self.ready(org, upload_id).await.map_err(service_failure)?;
        let (client, key) = self.uploads.located(&ctx, &upload).await.map_err(service_failure)?;
        let (loaded, produced, path) = match self.pull(&ctx, &upload, key.as_ref(), &spec).await {
            Pulled::Rows(rows) => (Ok(rows), Produced::default(), pull::LoadPath::platform()),
            Pulled::Stream(path) => {
                let (loaded, produced) = self.stream_into(&ctx, &client, &key, &spec, job, handle).await?;
                (loaded, produced, path)
            }
        };
        let rejected_key = self.write_rejected(&client, &upload, &produced.bad, &spec).await;
        let bad_rows: Vec<&RowError> = produced.bad.iter().take(BAD_ROWS_SHOWN).map(|b| &b.error).collect();
        let summary = json!({
            "connection": spec.connection,
            "table": spec.table.to_string(),
            "mode": spec.mode,
            "rows_rejected": produced.rejected,
            "bad_rows": bad_rows,
            "rejected_key": rejected_key,
            "encoding": spec.encoding,
            "warnings": load_warnings(&spec),
            "path": path.path,
            "path_reason": path.reason,
        });
        if let Some(failure) = produced.failure {
            self.record_rejected(&upload, rejected_key.as_deref()).await;
            return Err(failure.with_detail(summary));
        }
        let rows = match loaded {
            Ok(rows) => rows,
            Err(e) => {
                self.record_rejected(&upload, rejected_key.as_deref()).await;
                return Err(platform_failure(e).with_detail(summary));
            }
        };
        let staged = match client.store().delete(&key).await.map_err(StorageError::from) {
            Ok(()) | Err(StorageError::NotFound(_)) => Staged::DeletedAfterLoad,
            Err(_) => Staged::LeftToLifecycle,
        };
        let mut done = upload.clone();
        done.staged = staged;
        done.rejected_key.clone_from(&rejected_key);
        done.load_job = Some(job.id);
        let deps = self.uploads.deps();
        deps.catalog.update_upload(&done, UploadState::Uploaded).await.map_err(|e| service_failure(e.into()))?;
        let mut result = summary;
        result["rows_loaded"] = json!(rows);
        result["staged"] = json!(staged);
        self.uploads
            .auditor()
            .record_once(
                &ctx,
                done.org_id,
                byob_core::actions::UPLOAD_LOADED,
                Some(done.id.to_string()),
                &job.id.to_string(),
                json!({
                    "job": job.id, "rows": rows, "rejected": produced.rejected, "staged": staged,
                }),
            )
            .await
            .map_err(service_failure)?;
        Ok(result)
    }

    async fn record_rejected(&self, upload: &Upload, rejected_key: Option<&str>) {
        if let Some(key) = rejected_key {
            let mut u = upload.clone();
            u.rejected_key = Some(key.to_string());
            self.uploads.deps().catalog.update_upload(&u, UploadState::Uploaded).await.ok();
        }
    }

    /// Writes the rejected rows next to the upload as CSV: line, column, code, reason, then the row's fields.
    async fn write_rejected(
        &self,
        client: &byob_ports::storage::StorageClient,
        upload: &Upload,
        bad: &[BadRow],
        spec: &LoadSpec,
    ) -> Option<String> {
        if bad.is_empty() {
            return None;
        }
        let mut out = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
        out.write_record(["line", "column", "code", "reason", "fields…"]).ok()?;
        for b in bad {
            let mut record = vec![
                b.error.line.to_string(),
                b.error.column.clone().unwrap_or_default(),
                b.error.code.to_string(),
                b.error.reason.clone(),
            ];
            record.extend(b.fields.iter().cloned());
            out.write_record(&record).ok()?;
        }
        let bytes = out.into_inner().ok()?;
        let dir = upload.key.rsplit_once('/').map_or("", |(d, _)| d);
        let relative = format!("{dir}/rejected.csv");
        let key = client.key(&relative).ok()?;
        match client.store().put(&key, PutPayload::from(bytes)).await {
            Ok(_) => Some(relative),
            Err(e) => {
                tracing::warn!(upload = %upload.id, table = %spec.table, error = %e, "could not write the rejected rows");
                None
            }
        }
    }
}

/// Maps the file's columns onto an existing table's, by name (exact, then ignoring case): the table's types
/// and nullability apply.
fn match_columns(file: &[Column], table: &[Column]) -> Result<Vec<Column>, JobFailure> {
    file.iter()
        .map(|c| {
            table
                .iter()
                .find(|t| t.name == c.name)
                .or_else(|| table.iter().find(|t| t.name.eq_ignore_ascii_case(&c.name)))
                .cloned()
                .ok_or_else(|| {
                    JobFailure::new(
                        "column-not-in-table",
                        format!(
                            "the file's column `{}` is not in the table (its columns: {}); rename it with `columns`",
                            c.name,
                            table.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    )
                })
        })
        .collect()
}

fn service_failure(e: ServiceError) -> JobFailure {
    super::failure::service_failure(e, "load-failed")
}

fn platform_failure(e: WarehouseError) -> JobFailure {
    super::failure::platform_failure(e, "load-failed")
}

/// What the user should confirm about a load that ran: a guessed encoding above all (a wrong guess loads
/// mojibake without a single bad row).
pub(crate) fn load_warnings(spec: &LoadSpec) -> Vec<&'static str> {
    if spec.encoding.guessed { vec![LATIN1_GUESS] } else { Vec::new() }
}
