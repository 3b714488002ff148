use axum::{Json, extract::State, http::StatusCode};
use byob_core::{MemberId, OrgId, TokenId, TokenMeta};
use byob_service::{CreateToken, CreatedToken};

use crate::{
    AppState,
    extract::{ApiJson, ApiPath, Caller},
    problem::ApiResult,
};

/// Issue an API token. The response is the only time its value is shown. Only the member themself (or the
/// operator) may: a token acts in its member's name, so an admin may revoke another member's tokens, not create
/// them.
#[utoipa::path(post, operation_id = "create_token", path = "/v1/orgs/{org}/members/{member}/tokens", tag = "tokens", security(("bearer" = ["self"])),
    params(("org" = OrgId, Path), ("member" = MemberId, Path)), request_body = CreateToken,
    responses((status = 201, description = "Created", body = CreatedToken)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, member)): ApiPath<(OrgId, MemberId)>,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    Ok((StatusCode::CREATED, Json(state.services.tokens.create(&ctx, org, member, body).await?)))
}

/// List a member's tokens (never their values).
#[utoipa::path(get, operation_id = "list_tokens", path = "/v1/orgs/{org}/members/{member}/tokens", tag = "tokens", security(("bearer" = ["self"])),
    params(("org" = OrgId, Path), ("member" = MemberId, Path)), responses((status = 200, description = "Success", body = Vec<TokenMeta>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, member)): ApiPath<(OrgId, MemberId)>,
) -> ApiResult<Json<Vec<TokenMeta>>> {
    Ok(Json(state.services.tokens.list(&ctx, org, member).await?))
}

/// Revoke a token at once.
#[utoipa::path(delete, operation_id = "revoke_token", path = "/v1/orgs/{org}/members/{member}/tokens/{token}", tag = "tokens",
    security(("bearer" = ["self"])),
    params(("org" = OrgId, Path), ("member" = MemberId, Path), ("token" = TokenId, Path)),
    responses((status = 200, description = "Success", body = TokenMeta)))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, member, token)): ApiPath<(OrgId, MemberId, TokenId)>,
) -> ApiResult<Json<TokenMeta>> {
    Ok(Json(state.services.tokens.revoke(&ctx, org, member, token).await?))
}
