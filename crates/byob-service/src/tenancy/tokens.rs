use byob_core::{MemberId, OrgId, Sensitive, TokenId, TokenMeta};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::{
    Access, Auditor, Deps, RequestContext, ServiceError,
    auth::{new_bearer_value, token_hash},
    tenancy::visible_org,
    validate,
};

/// How many leading characters of a token are kept to recognise it in lists (`byob_` plus 6).
const SHOWN_PREFIX_CHARS: usize = 11;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What the token is for, e.g. `ci` or `laptop`.
    #[schema(
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        max_length = 200
    )]
    pub name: String,
    /// When the token stops working; omit for a token that lasts until revoked.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A new token: the only time its value is ever shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub meta: TokenMeta,
    /// The bearer value. Store it now: byob keeps only its hash.
    #[schema(value_type = String)]
    #[serde(serialize_with = "expose")]
    pub token: Sensitive<String>,
}

fn expose<S: serde::Serializer>(value: &Sensitive<String>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.expose())
}

/// Members' API tokens; a member manages their own, an admin everyone's in the org.
#[derive(Debug, Clone)]
pub struct TokenService {
    deps: Deps,
    auditor: Auditor,
}

impl TokenService {
    #[must_use]
    pub fn new(deps: Deps, auditor: Auditor) -> Self {
        Self { deps, auditor }
    }

    async fn member_exists(&self, org: OrgId, member: MemberId) -> Result<(), ServiceError> {
        match self.deps.catalog.get_member(org, member).await? {
            Some(_) => Ok(()),
            None => Err(ServiceError::not_found(byob_core::codes::MEMBER_NOT_FOUND, member)),
        }
    }

    /// # Errors
    /// Not found; forbidden unless admin or the member; invalid fields; catalog errors.
    pub async fn create(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        member: MemberId,
        req: CreateToken,
    ) -> Result<CreatedToken, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        let id = TokenId::generate();
        let detail = json!({ "member": member.to_string(), "expires_at": req.expires_at });
        self.auditor
            .audited(ctx, org, byob_core::actions::TOKEN_CREATE, Some(id.to_string()), detail, async {
                ctx.principal.require(Access::Own(member))?;
                self.member_exists(org, member).await?;
                let now = self.deps.clock.now();
                let name = validate::display_name("name", &req.name)?;
                let expires_at = validate::future_time("expires_at", req.expires_at, now)?;
                let token = new_bearer_value()?;
                let meta = TokenMeta {
                    id,
                    org_id: org,
                    member_id: member,
                    name,
                    prefix: token.expose().chars().take(SHOWN_PREFIX_CHARS).collect(),
                    created_at: now,
                    expires_at,
                    revoked_at: None,
                    last_used_at: None,
                };
                self.deps.catalog.insert_token(&meta, &token_hash(token.expose())).await?;
                Ok(CreatedToken { meta, token })
            })
            .await
    }

    /// # Errors
    /// Not found; forbidden unless admin or the member; catalog errors.
    pub async fn list(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        member: MemberId,
    ) -> Result<Vec<TokenMeta>, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        ctx.principal.require(Access::AdminOrSelf(member))?;
        self.member_exists(org, member).await?;
        Ok(self.deps.catalog.list_tokens(org, member).await?)
    }

    /// Revokes at once; a revoked token is kept in the list with its revocation time.
    ///
    /// # Errors
    /// Not found; forbidden unless admin or the member; catalog errors.
    pub async fn revoke(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        member: MemberId,
        id: TokenId,
    ) -> Result<TokenMeta, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        self.auditor
            .audited(
                ctx,
                org,
                byob_core::actions::TOKEN_REVOKE,
                Some(id.to_string()),
                json!({ "member": member.to_string() }),
                async {
                    ctx.principal.require(Access::AdminOrSelf(member))?;
                    let now = self.deps.clock.now();
                    self.deps
                        .catalog
                        .revoke_token(org, member, id, now)
                        .await?
                        .ok_or_else(|| ServiceError::not_found(byob_core::codes::TOKEN_NOT_FOUND, id))
                },
            )
            .await
    }
}
