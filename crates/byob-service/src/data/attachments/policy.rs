//! The admins' policy per collection field: the largest file, files per record, allowed types, inline previews.
//! A field without one gets the defaults ([`Policy::default`]).

use byob_core::{
    AuditOutcome, OrgId,
    attachment::{Policy, Slot},
};
use byob_ports::catalog::StoredPolicy;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::AttachmentService;
use crate::{Access, RequestContext, ServiceError};

/// A field's policy as it applies.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PolicyView {
    pub collection: String,
    pub field: String,
    pub policy: Policy,
    /// Whether these are the defaults (no admin set a policy for this field).
    pub default: bool,
    pub updated_by: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl PolicyView {
    fn of(stored: StoredPolicy) -> Self {
        Self {
            collection: stored.collection,
            field: stored.field,
            policy: stored.policy,
            default: false,
            updated_by: Some(stored.updated_by),
            updated_at: Some(stored.updated_at),
        }
    }
}

impl AttachmentService {
    /// The policy that applies to a field.
    pub(super) async fn policy_for(&self, org: OrgId, collection: &str, field: &str) -> Result<Policy, ServiceError> {
        let stored = self.deps.catalog.get_attachment_policy(org, collection, field).await?;
        Ok(stored.map(|s| s.policy).unwrap_or_default())
    }

    /// # Errors
    /// Not a member; invalid names.
    pub async fn get_policy(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        collection: &str,
        field: &str,
    ) -> Result<PolicyView, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        Slot::names(collection, field)?;
        Ok(match self.deps.catalog.get_attachment_policy(org, collection, field).await? {
            Some(stored) => PolicyView::of(stored),
            None => PolicyView {
                collection: collection.into(),
                field: field.into(),
                policy: Policy::default(),
                default: true,
                updated_by: None,
                updated_at: None,
            },
        })
    }

    /// The policies admins set, by collection and field.
    ///
    /// # Errors
    /// Not a member.
    pub async fn list_policies(&self, ctx: &RequestContext, org: OrgId) -> Result<Vec<PolicyView>, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        Ok(self.deps.catalog.list_attachment_policies(org).await?.into_iter().map(PolicyView::of).collect())
    }

    /// Sets a field's policy. It applies to new attachments and to every download from then on (a preview
    /// allowed or withdrawn takes effect at the next click); files already there stay.
    ///
    /// # Errors
    /// Not an admin; invalid names or limits.
    pub async fn set_policy(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        collection: &str,
        field: &str,
        policy: Policy,
    ) -> Result<PolicyView, ServiceError> {
        self.authorize(ctx, org, Access::Admin).await?;
        Slot::names(collection, field)?;
        policy.validate()?;
        let mut policy = policy;
        policy.allowed_types.sort();
        policy.allowed_types.dedup();
        let stored = StoredPolicy {
            collection: collection.into(),
            field: field.into(),
            policy,
            updated_by: ctx.actor().key(),
            updated_at: self.deps.clock.now(),
        };
        self.deps.catalog.put_attachment_policy(org, &stored).await?;
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::ATTACHMENT_POLICY_SET,
                Some(format!("{collection}.{field}")),
                AuditOutcome::Success,
                json!({ "collection": collection, "field": field, "policy": stored.policy }),
            )
            .await?;
        Ok(PolicyView::of(stored))
    }

    /// Returns a field to the defaults.
    ///
    /// # Errors
    /// Not an admin; invalid names.
    pub async fn reset_policy(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        collection: &str,
        field: &str,
    ) -> Result<PolicyView, ServiceError> {
        self.authorize(ctx, org, Access::Admin).await?;
        Slot::names(collection, field)?;
        let removed = self.deps.catalog.delete_attachment_policy(org, collection, field).await?;
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::ATTACHMENT_POLICY_RESET,
                Some(format!("{collection}.{field}")),
                AuditOutcome::Success,
                json!({ "collection": collection, "field": field, "had_policy": removed }),
            )
            .await?;
        self.get_policy(ctx, org, collection, field).await
    }
}
