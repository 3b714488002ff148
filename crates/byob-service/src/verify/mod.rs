//! Verification: named checks against the customer's bucket, each saying what is wrong and how to fix it. A
//! `draft` integration becomes `active` only when no check failed; a failure makes an `active` one `degraded`.

mod browser;
mod checks;
mod dependents;
mod endpoint;
#[cfg(test)]
mod remediation_walk;
mod settings;

use std::{future::Future, sync::Arc, time::Duration};

use byob_core::{
    IntegrationId, OrgId, VerificationId,
    integration::{Feature, Integration, IntegrationState},
};
use byob_ports::storage::inspect::{BucketInspector, BucketSettings};
use serde_json::json;

use crate::permissions::{Needed, Operation, Subject};
pub use crate::reports::{CheckResult, CheckStatus, Remediation, Trigger, VerificationReport};
use crate::reports::{Outcome, stored_reports};

use crate::{
    Access, Auditor, Deps, RequestContext, ServiceError, StorageRouter,
    artifacts::ArtifactName,
    health::Events,
    providers::{self, s3::aws},
    tenancy::visible_org,
};

impl Subject<'_> {
    /// What the operation needs on this integration, and where the fix is: in the provider's own words.
    pub(crate) fn needs(&self, op: Operation) -> Needed {
        providers::of(self.i.provider).needs(self, op)
    }
}

/// Every check, in report order (docs/verification.md describes each).
pub const ALL_CHECKS: [&str; 22] = [
    "credentials-obtain",
    "credentials-sas-permissions",
    "location-bucket-exists",
    "location-region",
    "objects-write",
    "objects-read-back",
    "objects-list",
    "objects-delete",
    "scoping-outside-prefix",
    "trust-wrong-external-id",
    "trust-byob-identity-refused",
    "cors-rules",
    "cors-preflight",
    "uploads-presigned-put",
    "uploads-presigned-multipart",
    "encryption-default",
    "encryption-kms-write",
    "versioning-enabled",
    "public-access-blocked",
    "lifecycle-staging-rule",
    "clock-skew",
    "network-endpoint-private",
];

/// The endpoint check's result in its place among the others (replacing a placeholder of the same name).
fn with_endpoint(mut results: Vec<CheckResult>, endpoint: &CheckResult) -> Vec<CheckResult> {
    results.retain(|c| c.name != endpoint.name);
    results.push(endpoint.clone());
    results.sort_by_key(|c| ALL_CHECKS.iter().position(|n| *n == c.name));
    results
}

/// Features whose files browsers upload straight to the bucket.
const BROWSER_FEATURES: [Feature; 3] = [Feature::Uploads, Feature::Attachments, Feature::Assets];

use byob_ports::storage::inspect::NO_SETTINGS;

/// How long one check may take before it is reported as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

pub(crate) fn result(name: &str, outcome: Outcome, duration_ms: u64) -> CheckResult {
    CheckResult {
        name: name.to_string(),
        status: outcome.status,
        duration_ms,
        message: outcome.message,
        remediation: outcome.remediation,
        error_id: None,
        cause: outcome.cause,
    }
}

fn timed_out() -> Outcome {
    Outcome::failed(
        format!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
        "check that the endpoint is reachable from byob",
    )
}

fn elapsed_ms(started: std::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

pub(crate) async fn timed(name: &'static str, check: impl Future<Output = Outcome>) -> CheckResult {
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(CHECK_TIMEOUT, check).await.unwrap_or_else(|_| timed_out());
    result(name, outcome, elapsed_ms(started))
}

/// The bucket's settings, read once for all the checks that judge them (`None`: no answer in time), with how
/// long the read took.
type SettingsRead = (Option<BucketSettings>, u64);

async fn read_settings(inspector: &Arc<dyn BucketInspector>) -> SettingsRead {
    let started = std::time::Instant::now();
    let settings = tokio::time::timeout(CHECK_TIMEOUT, inspector.settings()).await.ok();
    (settings, elapsed_ms(started))
}

/// The checks that judge the settings read; each reports the read's duration.
fn judge_settings(read: Option<&SettingsRead>, s: &Subject<'_>, can_delete: bool) -> Vec<CheckResult> {
    const NAMES: [&str; 7] = [
        "location-bucket-exists",
        "location-region",
        "cors-rules",
        "encryption-default",
        "versioning-enabled",
        "public-access-blocked",
        "lifecycle-staging-rule",
    ];
    match read {
        None => NAMES.map(|n| skipped(n, NO_SETTINGS)).to_vec(),
        Some((None, ms)) => NAMES.map(|n| result(n, timed_out(), *ms)).to_vec(),
        Some((Some(read), ms)) => [
            settings::bucket_exists(&read.location, s),
            settings::region(&read.location, s),
            settings::cors_rules(&read.cors, s),
            settings::encryption(&read.encryption, s),
            settings::versioning(&read.versioning, s),
            settings::public_access(&read.public_access, s),
            settings::lifecycle(&read.lifecycle, s, can_delete),
        ]
        .into_iter()
        .zip(NAMES)
        .map(|(outcome, name)| result(name, outcome, *ms))
        .collect(),
    }
}

/// A check that could not run because of an error inside byob: the cause is logged, the report shows its id.
fn internal(name: &'static str, err: &dyn std::fmt::Display) -> CheckResult {
    let error_id = byob_core::id::new_error_id();
    tracing::error!(error_id = %error_id, check = name, error = %err, "verification check failed inside byob");
    CheckResult {
        name: name.to_string(),
        status: CheckStatus::Failed,
        duration_ms: 0,
        message: format!("byob failed internally; quote error id {error_id}"),
        remediation: None,
        error_id: Some(error_id),
        cause: None,
    }
}

pub(crate) fn skipped(name: &'static str, reason: &str) -> CheckResult {
    CheckResult {
        name: name.to_string(),
        status: CheckStatus::Skipped,
        duration_ms: 0,
        message: reason.to_string(),
        remediation: None,
        error_id: None,
        cause: None,
    }
}

#[derive(Debug, Clone)]
pub struct VerificationService {
    deps: Deps,
    auditor: Auditor,
    router: StorageRouter,
    events: Events,
    http: reqwest::Client,
}

impl VerificationService {
    #[must_use]
    pub fn new(deps: Deps, auditor: Auditor, router: StorageRouter, events: Events) -> Self {
        // Its requests go to the integration's (tenant-named) endpoint: through the network policy.
        let http = byob_ports::net::guarded_http_client(&deps.network).build().unwrap_or_default();
        Self { deps, auditor, router, events, http }
    }

    /// An admin's verification.
    ///
    /// # Errors
    /// As [`Self::run`].
    pub async fn verify(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: IntegrationId,
    ) -> Result<VerificationReport, ServiceError> {
        self.run(ctx, org, id, Trigger::Manual).await
    }

    /// Past reports, newest first.
    ///
    /// # Errors
    /// Not found; forbidden unless admin; catalog errors.
    pub async fn history(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: IntegrationId,
        limit: u32,
    ) -> Result<Vec<VerificationReport>, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        ctx.principal.require(Access::Admin)?;
        self.deps
            .catalog
            .get_integration(org, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::INTEGRATION_NOT_FOUND, id))?;
        stored_reports(&self.deps, org, id, limit.clamp(1, 200)).await
    }

    /// Runs every check, keeps the report, updates the integration's state and emits the events.
    ///
    /// # Errors
    /// Not found; forbidden unless admin; catalog errors. Failing checks are results, not errors.
    pub async fn run(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: IntegrationId,
        trigger: Trigger,
    ) -> Result<VerificationReport, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        ctx.principal.require(Access::Admin)?;
        let mut integration = self
            .deps
            .catalog
            .get_integration(org, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::INTEGRATION_NOT_FOUND, id))?;
        let i = integration.clone();
        // Remediations name this integration's own artifacts, as its setup shows them to the admin.
        let setup = crate::setup::document(&i, &crate::setup::identity_for(&self.deps, &i).await?);
        let s = &Subject { i: &i, setup: &setup };
        let started_at = self.deps.clock.now();
        let run = ulid::Ulid::new().to_string().to_ascii_lowercase();

        // Before anything is sent: a private endpoint that resolves to a public address would carry the data
        // outside the private network, so nothing else runs.
        let endpoint = timed("network-endpoint-private", endpoint::private(&self.deps.network, s)).await;
        if endpoint.status == CheckStatus::Failed {
            let results = ALL_CHECKS
                .iter()
                .map(|n| skipped(n, "the private endpoint does not resolve to a private address"))
                .collect();
            return self.finish(ctx, &mut integration, started_at, trigger, with_endpoint(results, &endpoint)).await;
        }

        // Credentials first: nothing else can run without them.
        let sts = self.router.sts();
        let credentials = timed("credentials-obtain", async {
            if let Some(role) = providers::of(i.provider).assumed_role(&i) {
                let Some(sts) = sts else {
                    return Outcome::failed(
                        aws::AWS_CREDENTIALS_MISSING,
                        "ask the operator to set integrations.aws_access_key_id",
                    );
                };
                if let Err(e) = checks::assume_with(sts, &i, role.external_id).await {
                    return checks::assume_refused(s, role.external_id, &e);
                }
            }
            checks::credential_expiry(i.credentials.expires_at(), started_at)
        })
        .await;
        let client = match self.router.client_for(ctx, &i).await {
            Ok(client) => Some(client),
            Err(ServiceError::Refused { message, .. }) => {
                let mut result = credentials.clone();
                result.status = CheckStatus::Failed;
                result.message = message;
                let results = with_endpoint(vec![result], &endpoint);
                return self.finish(ctx, &mut integration, started_at, trigger, results).await;
            }
            Err(other) => return Err(other),
        };
        let mut results = vec![
            credentials.clone(),
            result("credentials-sas-permissions", providers::of(i.provider).sas_permissions(s), 0),
        ];
        let usable = credentials.status != CheckStatus::Failed;
        let Some(client) = client.filter(|_| usable) else {
            results.extend(ALL_CHECKS[2..].iter().map(|n| skipped(n, "the credentials are not usable")));
            return self.finish(ctx, &mut integration, started_at, trigger, with_endpoint(results, &endpoint)).await;
        };
        let objects = async {
            let (key, body) = match checks::probe(&client, &run) {
                Ok(probe) => probe,
                Err(e) => return vec![internal("objects-write", &e)],
            };
            let write = timed("objects-write", checks::write(&client, s, &key, &body)).await;
            if write.status == CheckStatus::Failed {
                let rest = ["objects-read-back", "objects-list", "objects-delete"]
                    .map(|n| skipped(n, "the probe could not be written"));
                return std::iter::once(write).chain(rest).collect();
            }
            vec![
                write,
                timed("objects-read-back", checks::read_back(&client, s, &key, &body)).await,
                timed("objects-list", checks::list(&client, s, &key)).await,
                timed("objects-delete", checks::delete(&client, s, &key)).await,
            ]
        };
        let scoping = timed("scoping-outside-prefix", checks::outside_prefix(&client, s, &run));
        let trust = async {
            match (providers::of(i.provider).assumed_role(&i), sts) {
                (Some(_), Some(sts)) => timed("trust-wrong-external-id", checks::wrong_external_id(sts, s, &run)).await,
                _ => skipped("trust-wrong-external-id", "not an assume-role integration"),
            }
        };
        let root_trust = timed("trust-byob-identity-refused", async {
            match self.router.root_may_impersonate(ctx, &i).await {
                None => Outcome::skipped("not an impersonation integration"),
                Some(Ok(false)) => {
                    Outcome::passed("byob's own identity is refused: only the org's identity is trusted")
                }
                Some(Ok(true)) => Outcome::failed(
                    "the service account trusts byob's own identity directly, so any org could name it (confused \
                     deputy)",
                    s.fix(
                        ArtifactName::IamBindings,
                        "grant roles/iam.serviceAccountTokenCreator to the org's identity shown in the setup, and \
                         remove byob's own service account",
                    ),
                ),
                Some(Err(e)) => Outcome::failed(
                    format!("the check could not ask IAM: {e}"),
                    "check byob's Google identity and the IAM Credentials endpoint",
                ),
            }
        });
        let settings_read =
            async { if client.capability().inspect { Some(read_settings(client.inspector()).await) } else { None } };
        let probes = async {
            if !client.capability().inspect {
                return ["encryption-kms-write", "clock-skew"].map(|n| skipped(n, NO_SETTINGS)).to_vec();
            }
            let inspector = client.inspector();
            let (kms, clock) = tokio::join!(
                timed("encryption-kms-write", settings::kms_write(&client, s, &run)),
                timed("clock-skew", settings::clock_skew(inspector, started_at)),
            );
            vec![kms, clock]
        };
        let browser = async {
            if !i.features.iter().any(|f| BROWSER_FEATURES.contains(f)) {
                return ["cors-preflight", "uploads-presigned-put", "uploads-presigned-multipart"]
                    .map(|n| skipped(n, "no enabled feature hands browsers upload URLs"))
                    .to_vec();
            }
            let http = &self.http;
            let (preflight, put, multipart) = tokio::join!(
                timed("cors-preflight", browser::preflight(http, &client, s, &run)),
                timed("uploads-presigned-put", browser::presigned_put(http, &client, s, &run)),
                timed("uploads-presigned-multipart", browser::presigned_multipart(http, &client, s, &run)),
            );
            vec![preflight, put, multipart]
        };
        let (objects, scoping, trust, root_trust, settings_read, probes, browser) =
            tokio::join!(objects, scoping, trust, root_trust, settings_read, probes, browser);
        let can_delete = objects.iter().any(|c| c.name == "objects-delete" && c.status == CheckStatus::Passed);
        results.extend(objects);
        results.push(scoping);
        results.push(trust);
        results.push(root_trust);
        results.extend(judge_settings(settings_read.as_ref(), s, can_delete));
        results.extend(probes);
        results.extend(browser);
        results.sort_by_key(|c| ALL_CHECKS.iter().position(|n| *n == c.name));
        dependents::skip_dependents(&mut results);
        self.finish(ctx, &mut integration, started_at, trigger, with_endpoint(results, &endpoint)).await
    }

    async fn finish(
        &self,
        ctx: &RequestContext,
        integration: &mut Integration,
        started_at: chrono::DateTime<chrono::Utc>,
        trigger: Trigger,
        checks: Vec<CheckResult>,
    ) -> Result<VerificationReport, ServiceError> {
        let org = integration.org_id;
        let before = integration.state;
        let failed: Vec<&str> =
            checks.iter().filter(|c| c.status == CheckStatus::Failed).map(|c| c.name.as_str()).collect();
        let after = match (before, failed.is_empty()) {
            (IntegrationState::Disabled, _) => IntegrationState::Disabled,
            (_, true) => IntegrationState::Active,
            (IntegrationState::Active | IntegrationState::Degraded, false) => IntegrationState::Degraded,
            (IntegrationState::Draft, false) => IntegrationState::Draft,
        };
        if after != before {
            integration.state = after;
            integration.updated_at = self.deps.clock.now();
            self.deps.catalog.update_integration(integration, &[], &[]).await?;
        }
        let detail = json!({ "failed": failed, "state_before": before, "state_after": after, "trigger": trigger });
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::INTEGRATION_VERIFY,
                Some(integration.id.to_string()),
                byob_core::AuditOutcome::Success,
                detail,
            )
            .await?;
        let previous = stored_reports(&self.deps, org, integration.id, 1).await?.into_iter().next();
        let id = VerificationId::generate();
        let report = VerificationReport {
            id: id.to_string(),
            trigger,
            integration: integration.id.to_string(),
            started_at,
            finished_at: self.deps.clock.now(),
            state_before: before,
            state_after: after,
            checks,
        };
        let stored = serde_json::to_value(&report).map_err(|e| ServiceError::invalid("report", e.to_string()))?;
        self.deps.catalog.insert_verification(id, org, integration.id, started_at, &stored).await?;
        self.emit_events(ctx, integration, &report, previous.as_ref()).await?;
        Ok(report)
    }

    /// `verification-completed` always; `integration-state-changed` on a change; `check-drifted` and
    /// `check-recovered` once per transition of a check between passed and failed.
    async fn emit_events(
        &self,
        ctx: &RequestContext,
        i: &Integration,
        report: &VerificationReport,
        previous: Option<&VerificationReport>,
    ) -> Result<(), ServiceError> {
        let org = i.org_id;
        let target = Some(i.id.to_string());
        let failed: Vec<&str> =
            report.checks.iter().filter(|c| c.status == CheckStatus::Failed).map(|c| c.name.as_str()).collect();
        let summary = json!({
            "integration": i.id, "name": i.name, "verification": report.id, "trigger": report.trigger,
            "failed": failed, "state": report.state_after,
        });
        self.events.emit(ctx, org, byob_core::event::VERIFICATION_COMPLETED, target.clone(), summary).await?;
        if report.state_before != report.state_after {
            let payload = json!({ "integration": i.id, "name": i.name, "from": report.state_before, "to": report.state_after, "verification": report.id });
            self.events.emit(ctx, org, byob_core::event::INTEGRATION_STATE_CHANGED, target.clone(), payload).await?;
        }
        let Some(previous) = previous else { return Ok(()) };
        for (event_type, check) in crate::reports::transitions(&report.checks, &previous.checks) {
            let payload = json!({
                "integration": i.id, "name": i.name, "check": check.name, "message": check.message,
                "remediation": check.remediation, "verification": report.id,
            });
            self.events.emit(ctx, org, event_type, target.clone(), payload).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// The names in the first column of the table under `## {section}` of a doc.
    fn documented_names(doc: &str, section: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs").join(doc);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let heading = format!("## {section}\n");
        let Some(start) = text.find(&heading) else { return Vec::new() };
        let body = &text[start + heading.len()..];
        let body = &body[..body.find("\n## ").unwrap_or(body.len())];
        body.lines()
            .filter_map(|line| line.strip_prefix("| "))
            .filter_map(|line| line.split(" |").next())
            .filter(|cell| cell.starts_with('`'))
            .flat_map(|cell| cell.split(", ").map(|name| name.trim_matches('`').to_string()).collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn every_check_is_documented_and_every_documented_check_exists() {
        let documented = documented_names("verification.md", "Checks");
        assert_eq!(documented, super::ALL_CHECKS.map(str::to_string).to_vec(), "docs/verification.md's table");
    }

    #[test]
    fn every_artifact_is_documented_and_every_documented_artifact_exists() {
        let mut documented = documented_names("integrations.md", "Setup artifacts");
        documented.sort();
        let mut names: Vec<String> = crate::artifacts::ArtifactName::ALL.map(|a| a.as_str().to_string()).to_vec();
        names.sort();
        assert_eq!(documented, names, "docs/integrations.md's table");
    }
}
