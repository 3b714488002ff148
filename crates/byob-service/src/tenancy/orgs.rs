use byob_core::{Org, OrgId};
use byob_ports::catalog::Page;
use serde_json::json;

use crate::{Access, Auditor, Deps, RequestContext, ServiceError, tenancy::visible_org, validate};

/// Orgs: created, renamed and deleted by the operator; visible to their own members.
#[derive(Debug, Clone)]
pub struct OrgService {
    deps: Deps,
    auditor: Auditor,
}

impl OrgService {
    #[must_use]
    pub fn new(deps: Deps, auditor: Auditor) -> Self {
        Self { deps, auditor }
    }

    /// # Errors
    /// Forbidden unless operator; invalid name; catalog errors.
    pub async fn create(&self, ctx: &RequestContext, name: &str) -> Result<Org, ServiceError> {
        ctx.principal.require(Access::Operator)?;
        let name = validate::display_name("name", name)?;
        let now = self.deps.clock.now();
        let org = Org { id: OrgId::generate(), name, created_at: now, updated_at: now };
        self.auditor
            .audited(
                ctx,
                org.id,
                byob_core::actions::ORG_CREATE,
                Some(org.id.to_string()),
                json!({ "name": org.name }),
                async {
                    self.deps.catalog.insert_org(&org).await?;
                    Ok(org.clone())
                },
            )
            .await
    }

    /// # Errors
    /// Forbidden unless operator; catalog errors.
    pub async fn list(&self, ctx: &RequestContext, page: Page<OrgId>) -> Result<Vec<Org>, ServiceError> {
        match &ctx.principal {
            // A member's list is their own org, so the CLI's `orgs list` works for everyone.
            crate::Principal::Member { org_id, .. } => {
                let own = self.deps.catalog.get_org(*org_id).await?;
                Ok(own.into_iter().filter(|o| page.after.is_none_or(|after| o.id > after)).collect())
            }
            _ => Ok(self.deps.catalog.list_orgs(page).await?),
        }
    }

    /// # Errors
    /// Not found (also for another org's caller); catalog errors.
    pub async fn get(&self, ctx: &RequestContext, org: OrgId) -> Result<Org, ServiceError> {
        visible_org(&self.deps, ctx, org).await
    }

    /// # Errors
    /// Not found; forbidden unless operator; invalid name; catalog errors.
    pub async fn rename(&self, ctx: &RequestContext, org: OrgId, name: &str) -> Result<Org, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        self.auditor
            .audited(ctx, org, byob_core::actions::ORG_RENAME, Some(org.to_string()), json!({ "name": name }), async {
                ctx.principal.require(Access::Operator)?;
                let name = validate::display_name("name", name)?;
                let now = self.deps.clock.now();
                self.deps
                    .catalog
                    .rename_org(org, &name, now)
                    .await?
                    .ok_or_else(|| ServiceError::not_found(byob_core::codes::ORGANIZATION_NOT_FOUND, org))
            })
            .await
    }

    /// Deletes the org and everything it owns in the catalog; its audit trail is kept.
    ///
    /// # Errors
    /// Not found; forbidden unless operator; catalog errors.
    pub async fn delete(&self, ctx: &RequestContext, org: OrgId) -> Result<(), ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        self.auditor
            .audited(ctx, org, byob_core::actions::ORG_DELETE, Some(org.to_string()), json!({}), async {
                ctx.principal.require(Access::Operator)?;
                if self.deps.catalog.delete_org(org).await? {
                    Ok(())
                } else {
                    Err(ServiceError::not_found(byob_core::codes::ORGANIZATION_NOT_FOUND, org))
                }
            })
            .await
    }
}
