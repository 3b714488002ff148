use axum::{Json, extract::State, http::StatusCode};
use byob_core::{Member, MemberId, OrgId};
use byob_service::{CreateMember, UpdateMember};

use super::{Listing, MemberPage};
use crate::{
    AppState,
    extract::{ApiJson, ApiPath, ApiQuery, Caller},
    problem::ApiResult,
};

/// Add a member (admins).
#[utoipa::path(post, operation_id = "create_member", path = "/v1/orgs/{org}/members", tag = "members", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path)), request_body = CreateMember, responses((status = 201, description = "Created", body = Member)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<CreateMember>,
) -> ApiResult<(StatusCode, Json<Member>)> {
    Ok((StatusCode::CREATED, Json(state.services.members.create(&ctx, org, body).await?)))
}

/// List members (admins).
#[utoipa::path(get, operation_id = "list_members", path = "/v1/orgs/{org}/members", tag = "members", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), MemberPage), responses((status = 200, description = "Success", body = Listing<Member>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<MemberPage>,
) -> ApiResult<Json<Listing<Member>>> {
    let page = query.page::<MemberId>()?;
    let limit = page.limit;
    let items = state.services.members.list(&ctx, org, page).await?;
    Ok(Json(Listing::new(items, limit, |m| m.id.to_string())))
}

/// Get a member (admins, or the member themself).
#[utoipa::path(get, operation_id = "get_member", path = "/v1/orgs/{org}/members/{member}", tag = "members", security(("bearer" = ["self"])),
    params(("org" = OrgId, Path), ("member" = MemberId, Path)), responses((status = 200, description = "Success", body = Member)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, member)): ApiPath<(OrgId, MemberId)>,
) -> ApiResult<Json<Member>> {
    Ok(Json(state.services.members.get(&ctx, org, member).await?))
}

/// Change a member's name, email or role (admins).
#[utoipa::path(patch, operation_id = "update_member", path = "/v1/orgs/{org}/members/{member}", tag = "members", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("member" = MemberId, Path)), request_body = UpdateMember,
    responses((status = 200, description = "Success", body = Member)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, member)): ApiPath<(OrgId, MemberId)>,
    ApiJson(body): ApiJson<UpdateMember>,
) -> ApiResult<Json<Member>> {
    Ok(Json(state.services.members.update(&ctx, org, member, body).await?))
}

/// Remove a member and their tokens (admins).
#[utoipa::path(delete, operation_id = "delete_member", path = "/v1/orgs/{org}/members/{member}", tag = "members", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("member" = MemberId, Path)), responses((status = 204, description = "Done; no content")))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, member)): ApiPath<(OrgId, MemberId)>,
) -> ApiResult<StatusCode> {
    state.services.members.delete(&ctx, org, member).await?;
    Ok(StatusCode::NO_CONTENT)
}
