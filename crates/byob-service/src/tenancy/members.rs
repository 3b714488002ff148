use byob_core::{Member, MemberId, OrgId, Role};
use byob_ports::catalog::{CatalogError, Page};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::{Access, Auditor, Deps, RequestContext, ServiceError, tenancy::visible_org, validate};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMember {
    #[schema(
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        max_length = 200
    )]
    pub name: String,
    #[schema(
        pattern = r"^[^@\s\u0000-\u001f\u007f-\u009f]+@[^@\s\u0000-\u001f\u007f-\u009f]+\.[^@\s\u0000-\u001f\u007f-\u009f]+$",
        max_length = 254
    )]
    pub email: Option<String>,
    pub role: Role,
}

/// Fields left out stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMember {
    #[schema(
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        max_length = 200
    )]
    pub name: Option<String>,
    #[schema(
        pattern = r"^[^@\s\u0000-\u001f\u007f-\u009f]+@[^@\s\u0000-\u001f\u007f-\u009f]+\.[^@\s\u0000-\u001f\u007f-\u009f]+$",
        max_length = 254
    )]
    pub email: Option<String>,
    pub role: Option<Role>,
}

/// Members of an org; managed by its admins (and the operator).
#[derive(Debug, Clone)]
pub struct MemberService {
    deps: Deps,
    auditor: Auditor,
}

impl MemberService {
    #[must_use]
    pub fn new(deps: Deps, auditor: Auditor) -> Self {
        Self { deps, auditor }
    }

    /// # Errors
    /// Not found; forbidden unless admin; invalid fields; catalog errors.
    pub async fn create(&self, ctx: &RequestContext, org: OrgId, req: CreateMember) -> Result<Member, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        let id = MemberId::generate();
        self.auditor
            .audited(
                ctx,
                org,
                byob_core::actions::MEMBER_CREATE,
                Some(id.to_string()),
                json!({ "role": req.role }),
                async {
                    ctx.principal.require(Access::Admin)?;
                    let now = self.deps.clock.now();
                    let member = Member {
                        id,
                        org_id: org,
                        name: validate::display_name("name", &req.name)?,
                        email: validate::email("email", req.email.as_deref())?,
                        role: req.role,
                        created_at: now,
                        updated_at: now,
                    };
                    self.deps.catalog.insert_member(&member).await?;
                    Ok(member)
                },
            )
            .await
    }

    /// # Errors
    /// Not found; forbidden unless admin; catalog errors.
    pub async fn list(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        page: Page<MemberId>,
    ) -> Result<Vec<Member>, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        ctx.principal.require(Access::Admin)?;
        Ok(self.deps.catalog.list_members(org, page).await?)
    }

    /// # Errors
    /// Not found; forbidden unless admin or the member themself; catalog errors.
    pub async fn get(&self, ctx: &RequestContext, org: OrgId, id: MemberId) -> Result<Member, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        ctx.principal.require(Access::AdminOrSelf(id))?;
        self.deps
            .catalog
            .get_member(org, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::MEMBER_NOT_FOUND, id))
    }

    /// # Errors
    /// Not found; forbidden unless admin; invalid fields; catalog errors.
    pub async fn update(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: MemberId,
        req: UpdateMember,
    ) -> Result<Member, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        let changed: Vec<&str> =
            [("name", req.name.is_some()), ("email", req.email.is_some()), ("role", req.role.is_some())]
                .into_iter()
                .filter_map(|(field, set)| set.then_some(field))
                .collect();
        self.auditor
            .audited(
                ctx,
                org,
                byob_core::actions::MEMBER_UPDATE,
                Some(id.to_string()),
                json!({ "changed": changed }),
                async {
                    ctx.principal.require(Access::Admin)?;
                    let mut member = self
                        .deps
                        .catalog
                        .get_member(org, id)
                        .await?
                        .ok_or_else(|| ServiceError::not_found(byob_core::codes::MEMBER_NOT_FOUND, id))?;
                    if let Some(name) = &req.name {
                        member.name = validate::display_name("name", name)?;
                    }
                    if req.email.is_some() {
                        member.email = validate::email("email", req.email.as_deref())?;
                    }
                    if let Some(role) = req.role {
                        member.role = role;
                    }
                    member.updated_at = self.deps.clock.now();
                    self.deps.catalog.update_member(&member).await.map_err(last_admin)?;
                    Ok(member)
                },
            )
            .await
    }

    /// Deletes the member and revokes their tokens (by deleting them).
    ///
    /// # Errors
    /// Not found; forbidden unless admin; catalog errors.
    pub async fn delete(&self, ctx: &RequestContext, org: OrgId, id: MemberId) -> Result<(), ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        self.auditor
            .audited(ctx, org, byob_core::actions::MEMBER_DELETE, Some(id.to_string()), json!({}), async {
                ctx.principal.require(Access::Admin)?;
                if self.deps.catalog.delete_member(org, id).await.map_err(last_admin)? {
                    Ok(())
                } else {
                    Err(ServiceError::not_found(byob_core::codes::MEMBER_NOT_FOUND, id))
                }
            })
            .await
    }
}

/// An org keeps at least one admin: the last one can be neither demoted nor deleted (by themself, another admin
/// or the operator), or no one could manage the org's members, secrets and integrations any more.
fn last_admin(e: CatalogError) -> ServiceError {
    match e {
        CatalogError::Conflict("last-admin") => ServiceError::Refused {
            code: byob_core::codes::LAST_ADMIN,
            message: "this member is the org's last admin; make another member admin first".into(),
        },
        other => other.into(),
    }
}
