//! Staging exports (seed 002): a run's files are deleted once the consumer acknowledges them, or by the janitor
//! once their time to live passes; the janitor also removes what failed runs left.

use byob_core::{ExportId, JobId, OrgId, export::ExportRun, job::JobState};
use serde_json::json;

use super::{ExportService, run};
use crate::{RequestContext, ServiceError};

impl ExportService {
    /// Acknowledges a staging run's delivery: its files, manifest and marker are deleted now.
    ///
    /// # Errors
    /// Not a member; not found; not a staging export; the run did not succeed.
    pub async fn ack(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        export: ExportId,
        run: JobId,
    ) -> Result<ExportRun, ServiceError> {
        self.member(ctx, org).await?;
        let definition = self.load(org, export).await?;
        let mut run = self.load_run(org, export, run).await?;
        if definition.staging_ttl_hours.is_none() {
            return Err(ServiceError::Refused {
                code: byob_core::codes::EXPORT_NOT_STAGING,
                message: "only a staging export's runs are acknowledged; this export's files stay".into(),
            });
        }
        if run.state != JobState::Succeeded {
            return Err(ServiceError::Refused {
                code: byob_core::codes::EXPORT_RUN_NOT_DELIVERED,
                message: format!("the run is {}; only a delivered run can be acknowledged", run.state.as_str()),
            });
        }
        if run.acked_at.is_none() {
            let client = self.router.stored_in(ctx, org, run.integration).await?;
            let deleted = run::remove_files(&self.deps, &client, &mut run).await?;
            let now = self.deps.clock.now();
            run.acked_at = Some(now);
            run.cleaned_at = Some(now);
            self.deps.catalog.update_export_run(&run).await?;
            self.audit(
                ctx,
                org,
                byob_core::actions::EXPORT_ACK,
                run.id.to_string(),
                json!({ "export": export, "deleted": deleted }),
            )
            .await?;
        }
        Ok(run)
    }

    /// Deletes the files of expired staging runs and what failed runs left behind.
    ///
    /// # Errors
    /// Catalog errors; a storage failure on one run is counted and retried next pass.
    pub async fn sweep(&self) -> Result<(u64, u64), ServiceError> {
        let ctx = RequestContext::system();
        let now = self.deps.clock.now();
        let (mut cleaned, mut errors) = (0, 0);
        for mut run in self.deps.catalog.export_runs_to_clean(now, 100).await? {
            let client = match self.router.stored_in(&ctx, run.org_id, run.integration).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(run = %run.id, error = %e, "export run's storage unusable; left to its lifecycle");
                    run.cleaned_at = Some(now);
                    self.deps.catalog.update_export_run(&run).await?;
                    errors += 1;
                    continue;
                }
            };
            match run::remove_files(&self.deps, &client, &mut run).await {
                Ok(deleted) => {
                    run.cleaned_at = Some(now);
                    self.deps.catalog.update_export_run(&run).await?;
                    let action = if run.state == JobState::Succeeded {
                        byob_core::actions::JANITOR_EXPORT_EXPIRE
                    } else {
                        byob_core::actions::JANITOR_EXPORT_FAILED_CLEANUP
                    };
                    self.audit(&ctx, run.org_id, action, run.id.to_string(), json!({ "deleted": deleted })).await?;
                    cleaned += 1;
                }
                Err(e) => {
                    tracing::warn!(run = %run.id, error = %e, "janitor could not delete an export run's files");
                    errors += 1;
                }
            }
        }
        Ok((cleaned, errors))
    }
}
