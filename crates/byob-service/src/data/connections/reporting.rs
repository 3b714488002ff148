//! What admins do about a connection's network: run its report (on demand and on the monitor's schedule),
//! read the latest, confirm the SSH bastion's host key, and get the setup steps.

use byob_core::{
    AuditOutcome, OrgId, codes,
    connection::{Connection, LOCAL_CONNECTION},
};
use futures::StreamExt as _;
use serde_json::json;

use super::{ConnectionReport, ConnectionService, ConnectionView, TrustHostKey, setup, verify};
use crate::{RequestContext, ServiceError};

impl ConnectionService {
    async fn stored(&self, org: OrgId, name: &str) -> Result<Connection, ServiceError> {
        if name == LOCAL_CONNECTION {
            return Err(ServiceError::Refused {
                code: byob_core::codes::CONNECTION_BUILTIN,
                message: "`local` is the embedded warehouse, inside byob: there is no network path to verify".into(),
            });
        }
        self.find(org, name).await?.ok_or_else(|| ServiceError::not_found(byob_core::codes::CONNECTION_NOT_FOUND, name))
    }

    /// Runs the connection's checks (admins), keeps the report and schedules the next one.
    ///
    /// # Errors
    /// Forbidden unless admin; not found; `local`. Failing checks are results, not errors.
    pub async fn verify(&self, ctx: &RequestContext, org: OrgId, name: &str) -> Result<ConnectionReport, ServiceError> {
        self.admin(ctx, org).await?;
        let c = self.stored(org, name).await?;
        self.run_checks(ctx, &c, crate::reports::Trigger::Manual).await
    }

    /// The latest report (admins).
    ///
    /// # Errors
    /// Forbidden unless admin; not found (the connection, or a report: never verified).
    pub async fn report(&self, ctx: &RequestContext, org: OrgId, name: &str) -> Result<ConnectionReport, ServiceError> {
        self.admin(ctx, org).await?;
        let c = self.stored(org, name).await?;
        let value = self
            .deps
            .catalog
            .connection_report(org, c.id)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::CONNECTION_REPORT_NOT_FOUND, &c.name))?;
        verify::stored(value)
    }

    async fn run_checks(
        &self,
        ctx: &RequestContext,
        c: &Connection,
        trigger: crate::reports::Trigger,
    ) -> Result<ConnectionReport, ServiceError> {
        let org = c.org_id;
        let started_at = self.deps.clock.now();
        let (warehouse, route) = self.warehouse_of(ctx, c).await?;
        let run = ulid::Ulid::new().to_string().to_ascii_lowercase();
        let subject = verify::Subject { connection: c, policy: &self.deps.network, route, warehouse, run: run.clone() };
        // Where a pulled load's file would be: the org's uploads integration (not byob's default storage).
        let bucket = match self.router.for_feature(ctx, org, byob_core::integration::Feature::Uploads).await {
            Ok(routed) => routed.integration.map(|integration| verify::BucketAccess {
                router: &self.router,
                ctx,
                client: routed.client,
                integration,
            }),
            Err(e) => {
                tracing::info!(error = %e, "no uploads bucket for the connection's read check");
                None
            }
        };
        let checks = verify::checks(&subject, bucket.as_ref()).await;
        let report = ConnectionReport {
            id: run,
            trigger,
            connection: c.id,
            name: c.name.clone(),
            network: c.network.mode().into(),
            started_at,
            finished_at: self.deps.clock.now(),
            checks,
        };
        let previous = match self.deps.catalog.connection_report(org, c.id).await? {
            Some(value) => verify::stored(value).ok(),
            None => None,
        };
        let stored = serde_json::to_value(&report).map_err(|e| ServiceError::invalid("report", e.to_string()))?;
        let next = self.deps.clock.now() + self.monitor_interval;
        self.deps.catalog.put_connection_report(org, c.id, &stored, next).await?;
        let failed: Vec<&str> = report
            .checks
            .iter()
            .filter(|c| c.status == crate::reports::CheckStatus::Failed)
            .map(|c| c.name.as_str())
            .collect();
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::CONNECTION_VERIFY,
                Some(c.id.to_string()),
                AuditOutcome::Success,
                json!({ "name": c.name, "failed": failed, "trigger": trigger, "network": c.network.mode() }),
            )
            .await?;
        if let Some(previous) = &previous {
            for (event_type, check) in crate::reports::transitions(&report.checks, &previous.checks) {
                let payload = verify::event_payload(c, &report, check);
                self.events.emit(ctx, org, event_type, Some(c.id.to_string()), payload).await?;
            }
        }
        Ok(report)
    }

    /// One pass of the health monitor over the connections whose scheduled check is due — new ones at once, then
    /// every interval — in one catalog query however many orgs there are; returns how many were verified.
    ///
    /// # Errors
    /// Catalog errors.
    pub async fn verify_due(&self, now: chrono::DateTime<chrono::Utc>) -> Result<u32, ServiceError> {
        let due = self.deps.catalog.due_connections(now, 200).await?;
        // Side by side, a few at a time: one slow platform delays only its own check.
        let runs: Vec<futures::future::BoxFuture<'_, bool>> =
            due.iter().map(|c| Box::pin(self.scheduled(c)) as _).collect();
        let done: Vec<bool> = futures::stream::iter(runs).buffer_unordered(crate::health::ORGS_AT_ONCE).collect().await;
        let verified = u32::try_from(done.into_iter().filter(|ok| *ok).count()).unwrap_or(u32::MAX);
        Ok(verified)
    }

    /// One scheduled verification; a failure to run it is logged, and the next pass tries again.
    async fn scheduled(&self, c: &Connection) -> bool {
        let ctx = RequestContext::system();
        match self.run_checks(&ctx, c, crate::reports::Trigger::Monitor).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(connection = %c.id, error = %e, "scheduled connection verification");
                false
            }
        }
    }

    /// Pins the SSH bastion's host key (admins), only when the bastion offers exactly that key now.
    ///
    /// # Errors
    /// Forbidden unless admin; not found; not an SSH tunnel; a malformed fingerprint; `ssh-host-key-mismatch`.
    pub async fn trust_host_key(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
        req: TrustHostKey,
    ) -> Result<ConnectionView, ServiceError> {
        self.admin(ctx, org).await?;
        byob_core::network::check_host_key("fingerprint", &req.fingerprint)?;
        let mut c = self.stored(org, name).await?;
        let byob_core::network::Network::SshTunnel(tunnel) = &mut c.network else {
            return Err(ServiceError::Refused {
                code: byob_core::codes::CONNECTION_NOT_SSH,
                message: format!("connection `{}` does not go through an SSH bastion", c.name),
            });
        };
        let offered = byob_ports::net::route::host_key_offered(&self.deps.network, &tunnel.host, tunnel.port)
            .await
            .map_err(|e| ServiceError::Refused { code: codes::CONNECTION_FAILED, message: e.to_string() })?;
        if offered != req.fingerprint {
            return Err(ServiceError::Refused {
                code: byob_core::codes::SSH_HOST_KEY_MISMATCH,
                message: format!(
                    "the bastion {}:{} offers {offered}, not {}: nothing was pinned (compare with \
                     `ssh-keygen -lf` on the bastion itself)",
                    tunnel.host, tunnel.port, req.fingerprint
                ),
            });
        }
        let before = tunnel.host_key.replace(offered.clone());
        c.updated_at = self.deps.clock.now();
        self.deps.catalog.update_connection(&c).await?;
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::CONNECTION_TRUST_HOST_KEY,
                Some(c.id.to_string()),
                AuditOutcome::Success,
                json!({ "name": c.name, "fingerprint": offered, "previous": before }),
            )
            .await?;
        Ok(ConnectionView::of(&c))
    }

    /// The steps the customer applies for the connection's network (admins).
    ///
    /// # Errors
    /// Forbidden unless admin; not found.
    pub async fn setup(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
    ) -> Result<Vec<setup::NetworkArtifact>, ServiceError> {
        self.admin(ctx, org).await?;
        let c = self.stored(org, name).await?;
        Ok(setup::artifacts(&c, self.deps.integrations.identity.aws_principal_arn.as_deref()))
    }
}
