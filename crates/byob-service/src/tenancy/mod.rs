//! Tenants: orgs, their members, and members' API tokens.

mod members;
mod orgs;
mod tokens;

use byob_core::{Org, OrgId};

pub use members::{CreateMember, MemberService, UpdateMember};
pub use orgs::OrgService;
pub use tokens::{CreateToken, CreatedToken, TokenService};

use crate::{Access, Deps, RequestContext, ServiceError};

/// The org, if the caller may know it exists. Callers of another org get the same "not found" as for an org
/// that does not exist.
pub(crate) async fn visible_org(deps: &Deps, ctx: &RequestContext, org: OrgId) -> Result<Org, ServiceError> {
    ctx.principal.can_see(org)?;
    deps.catalog
        .get_org(org)
        .await?
        .ok_or_else(|| ServiceError::not_found(byob_core::codes::ORGANIZATION_NOT_FOUND, org))
}

/// The org is visible to the caller (else "not found") and the caller has `access` in it (else forbidden).
pub(crate) async fn authorize(
    deps: &Deps,
    ctx: &RequestContext,
    org: OrgId,
    access: Access,
) -> Result<(), ServiceError> {
    visible_org(deps, ctx, org).await?;
    ctx.principal.require(access)
}
