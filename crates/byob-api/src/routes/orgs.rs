use axum::{Json, extract::State, http::StatusCode};
use byob_core::{Org, OrgId};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{Listing, OrgPage};
use crate::{
    AppState,
    extract::{ApiJson, ApiPath, ApiQuery, Caller},
    problem::ApiResult,
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrgBody {
    /// Display name, 1-200 characters.
    #[schema(
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        max_length = 200
    )]
    name: String,
}

/// Create an organization (operator only).
#[utoipa::path(post, operation_id = "create_org", path = "/v1/orgs", tag = "orgs", security(("bearer" = ["operator"])),
    request_body = OrgBody, responses((status = 201, description = "Created", body = Org)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiJson(body): ApiJson<OrgBody>,
) -> ApiResult<(StatusCode, Json<Org>)> {
    Ok((StatusCode::CREATED, Json(state.services.orgs.create(&ctx, &body.name).await?)))
}

/// List organizations: all for the operator, their own for a member.
#[utoipa::path(get, operation_id = "list_orgs", path = "/v1/orgs", tag = "orgs", security(("bearer" = ["member"])),
    params(OrgPage), responses((status = 200, description = "Success", body = Listing<Org>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiQuery(query): ApiQuery<OrgPage>,
) -> ApiResult<Json<Listing<Org>>> {
    let page = query.page::<OrgId>()?;
    let limit = page.limit;
    let items = state.services.orgs.list(&ctx, page).await?;
    Ok(Json(Listing::new(items, limit, |o| o.id.to_string())))
}

/// Get an organization (the operator, or a member of it).
#[utoipa::path(get, operation_id = "get_org", path = "/v1/orgs/{org}", tag = "orgs", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path)), responses((status = 200, description = "Success", body = Org)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<Json<Org>> {
    Ok(Json(state.services.orgs.get(&ctx, org).await?))
}

/// Rename an organization (operator only).
#[utoipa::path(patch, operation_id = "rename_org", path = "/v1/orgs/{org}", tag = "orgs", security(("bearer" = ["operator"])),
    params(("org" = OrgId, Path)), request_body = OrgBody, responses((status = 200, description = "Success", body = Org)))]
pub(crate) async fn rename(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<OrgBody>,
) -> ApiResult<Json<Org>> {
    Ok(Json(state.services.orgs.rename(&ctx, org, &body.name).await?))
}

/// Delete an organization with its members, tokens and secrets (operator only). Its audit trail is kept.
#[utoipa::path(delete, operation_id = "delete_org", path = "/v1/orgs/{org}", tag = "orgs", security(("bearer" = ["operator"])),
    params(("org" = OrgId, Path)), responses((status = 204, description = "Done; no content")))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<StatusCode> {
    state.services.orgs.delete(&ctx, org).await?;
    Ok(StatusCode::NO_CONTENT)
}
