//! One run of an import: resolve the file, skip it when it is the one loaded last (unless forced), else load it
//! with the uploads' loader, all or nothing, and remember it.

use byob_core::{
    import::{ImportRun, LoadedObject},
    job::Job,
};
use serde_json::{Value, json};

use super::{ImportService, already_loaded, load_request, resolve::resolve};
use crate::{
    RequestContext, ServiceError,
    data::failure::{platform_failure, service_failure},
    jobs::{JobFailure, JobHandle},
};

fn failure(e: ServiceError) -> JobFailure {
    service_failure(e, "import-failed")
}

impl ImportService {
    /// Runs an import job.
    pub(crate) async fn execute(&self, job: &Job, handle: &JobHandle) -> Result<Value, JobFailure> {
        let ctx = RequestContext::system();
        let org = job.org_id;
        let id = job.spec["import"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| JobFailure::new("job-spec-invalid", "this run's spec names no import"))?;
        let forced = job.spec["force"].as_bool().unwrap_or(false);
        let mut import = self.load(org, id).await.map_err(failure)?;
        let mut run: ImportRun = self
            .deps
            .catalog
            .get_import_run(org, job.id)
            .await
            .map_err(|e| failure(e.into()))?
            .ok_or_else(|| JobFailure::new("not-found", "this run's record is gone"))?;
        let client = self.client(&ctx, &import).await.map_err(failure)?;
        let resolution = resolve(&client, &import.source, self.deps.clock.now()).await.map_err(failure)?;
        run.list_requests = resolution.list_requests;
        let Some(chosen) = resolution.chosen.clone() else {
            self.deps.catalog.update_import_run(&run).await.map_err(|e| failure(e.into()))?;
            return Err(JobFailure::new("import-no-file", resolution.reason));
        };
        run.key = Some(chosen.key.clone());
        run.etag.clone_from(&chosen.etag);
        if !forced && already_loaded(&import, Some(&chosen)) {
            run.outcome = Some("skipped".into());
            self.deps.catalog.update_import_run(&run).await.map_err(|e| failure(e.into()))?;
            let summary = json!({ "import": import.id, "key": chosen.key, "skipped": true,
                                  "reason": "this file (same key and ETag) was loaded already; run with force to load it again" });
            self.audit(&ctx, org, byob_core::actions::IMPORT_SKIPPED, import.id.to_string(), summary.clone())
                .await
                .map_err(failure)?;
            return Ok(summary);
        }
        self.deps.catalog.update_import_run(&run).await.map_err(|e| failure(e.into()))?;
        let request = load_request(&import).map_err(failure)?;
        let key = client.existing_key(&chosen.key).map_err(|e| failure(e.into()))?;
        let gone = missing_file(&chosen.key);
        let spec = self.loads.plan(org, &request, &client, &key, chosen.size).await.map_err(failure).map_err(&gone)?;
        let (loaded, produced) =
            self.loads.stream_into(&ctx, &client, &key, &spec, job, handle).await.map_err(&gone)?;
        let summary = json!({
            "import": import.id, "key": chosen.key, "etag": chosen.etag, "connection": import.connection,
            "table": import.table, "rows_rejected": produced.rejected, "list_requests": run.list_requests,
            "encoding": spec.encoding, "warnings": crate::data::load::load_warnings(&spec),
            "bad_rows": produced.bad.iter().take(20).map(|b| &b.error).collect::<Vec<_>>(),
        });
        if let Some(f) = produced.failure {
            return Err(f.with_detail(summary));
        }
        let rows = loaded.map_err(|e| platform_failure(e, "import-failed").with_detail(summary.clone()))?;
        run.rows = rows;
        run.outcome = Some("loaded".into());
        self.deps.catalog.update_import_run(&run).await.map_err(|e| failure(e.into()))?;
        import.last_loaded = Some(LoadedObject {
            key: chosen.key.clone(),
            etag: chosen.etag.clone(),
            version: chosen.version.clone(),
            run: run.id,
            loaded_at: self.deps.clock.now(),
        });
        self.deps.catalog.update_import(&import).await.map_err(|e| failure(e.into()))?;
        let mut result = summary;
        result["rows_loaded"] = json!(rows);
        self.auditor
            .record_once(
                &ctx,
                org,
                byob_core::actions::IMPORT_LOADED,
                Some(import.id.to_string()),
                &run.id.to_string(),
                result.clone(),
            )
            .await
            .map_err(failure)?;
        Ok(result)
    }
}

/// A file that vanished between being chosen and being read is the import's own failure, said as such (not a
/// staged upload's).
fn missing_file(key: &str) -> impl Fn(JobFailure) -> JobFailure + '_ {
    move |f| {
        if f.code == "upload-object-missing" {
            JobFailure::new(
                "import-object-missing",
                format!("the file `{key}` is no longer in the bucket: it was deleted or renamed after it was chosen"),
            )
        } else {
            f
        }
    }
}
