//! The audit trail: every change and every access to customer data, with who, what, when and how it ended.

use std::{future::Future, sync::Arc};

use byob_core::{AuditEntry, AuditId, AuditOutcome, OrgId};
use byob_ports::{
    catalog::{AuditFilter, Catalog, Page},
    clock::Clock,
};
use serde_json::Value;

use crate::{Access, Deps, RequestContext, ServiceError};

/// Writes audit entries. Cheap to clone; shared by every service.
#[derive(Debug, Clone)]
pub struct Auditor {
    catalog: Arc<dyn Catalog>,
    clock: Arc<dyn Clock>,
}

fn outcome_of(err: &ServiceError) -> AuditOutcome {
    match err {
        ServiceError::Forbidden(_) | ServiceError::Unauthenticated => AuditOutcome::Denied,
        ServiceError::NotFound { .. }
        | ServiceError::Invalid { .. }
        | ServiceError::Rule(_)
        | ServiceError::Refused { .. }
        | ServiceError::Conflict(_) => AuditOutcome::Rejected,
        ServiceError::Catalog(_) | ServiceError::SecretBox(_) | ServiceError::Storage(_) => AuditOutcome::Failed,
    }
}

fn error_code(err: &ServiceError) -> &'static str {
    match err {
        ServiceError::Unauthenticated => "unauthenticated",
        ServiceError::Forbidden(_) => "forbidden",
        ServiceError::NotFound { .. } => "not-found",
        ServiceError::Invalid { .. } | ServiceError::Rule(_) => "validation-failed",
        ServiceError::Conflict(_) => "conflict",
        ServiceError::Refused { code, .. } => code.as_str(),
        ServiceError::Storage(_) => "storage",
        ServiceError::Catalog(_) | ServiceError::SecretBox(_) => "internal",
    }
}

impl Auditor {
    #[must_use]
    pub fn new(catalog: Arc<dyn Catalog>, clock: Arc<dyn Clock>) -> Self {
        Self { catalog, clock }
    }

    /// Appends one entry. An audit write that fails fails the operation: an unrecorded change must not happen
    /// silently.
    ///
    /// # Errors
    /// Catalog errors.
    pub async fn record(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        action: &'static str,
        target: Option<String>,
        outcome: AuditOutcome,
        detail: Value,
    ) -> Result<(), ServiceError> {
        let entry = self.entry(ctx, org, action, target, outcome, detail);
        self.catalog.append_audit(&entry).await?;
        Ok(())
    }

    /// Appends a success entry unless one with the same `action` and key `once` is in the org's trail already:
    /// for the end of a job (keyed by the job, the migration, the attachment), which a process that takes the job
    /// over after a crash may announce again. Whether it was appended.
    ///
    /// # Errors
    /// Catalog errors.
    pub async fn record_once(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        action: &'static str,
        target: Option<String>,
        once: &str,
        detail: Value,
    ) -> Result<bool, ServiceError> {
        let entry = self.entry(ctx, org, action, target, AuditOutcome::Success, detail);
        Ok(self.catalog.append_audit_once(&entry, &once_key(action, once)).await?)
    }

    /// The entry `record` appends.
    pub(crate) fn entry(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        action: &'static str,
        target: Option<String>,
        outcome: AuditOutcome,
        detail: Value,
    ) -> AuditEntry {
        debug_assert!(byob_core::actions::ALL.contains(&action), "`{action}` is not in byob_core::actions");
        // `detail` is always an object, so readers can index it without checking.
        let detail = if detail.is_object() { detail } else { Value::Object(serde_json::Map::new()) };
        AuditEntry {
            id: AuditId::generate(),
            org_id: org,
            at: self.clock.now(),
            actor: ctx.actor(),
            action: action.to_string(),
            target,
            outcome,
            request_id: ctx.request_id.clone(),
            detail,
        }
    }

    /// Runs `op` and records its outcome under `action`; on failure the entry carries the error code.
    ///
    /// # Errors
    /// Whatever `op` returns, or the catalog error of the audit write.
    pub async fn audited<T, F>(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        action: &'static str,
        target: Option<String>,
        detail: Value,
        op: F,
    ) -> Result<T, ServiceError>
    where
        F: Future<Output = Result<T, ServiceError>>,
    {
        let result = op.await;
        let (outcome, detail) = match &result {
            Ok(_) => (AuditOutcome::Success, detail),
            Err(err) => {
                let mut detail = if detail.is_object() { detail } else { Value::Object(serde_json::Map::new()) };
                detail["error"] = Value::from(error_code(err));
                (outcome_of(err), detail)
            }
        };
        self.record(ctx, org, action, target, outcome, detail).await?;
        result
    }
}

/// The key that keeps a once-only entry single: the action and what it is once for.
pub(crate) fn once_key(action: &str, once: &str) -> String {
    format!("{action}:{once}")
}

/// Reading the audit trail (admins only).
#[derive(Debug, Clone)]
pub struct AuditService {
    deps: Deps,
    auditor: Auditor,
}

impl AuditService {
    #[must_use]
    pub fn new(deps: Deps, auditor: Auditor) -> Self {
        Self { deps, auditor }
    }

    /// # Errors
    /// Not found, forbidden, invalid filters, catalog errors.
    pub async fn list(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        filter: AuditFilter,
        page: Page<AuditId>,
    ) -> Result<Vec<AuditEntry>, ServiceError> {
        crate::tenancy::visible_org(&self.deps, ctx, org).await?;
        self.auditor
            .audited(ctx, org, byob_core::actions::AUDIT_READ, None, Value::Null, async {
                ctx.principal.require(Access::Admin)?;
                Ok(self.deps.catalog.list_audit(org, &filter, page).await?)
            })
            .await
    }
}
