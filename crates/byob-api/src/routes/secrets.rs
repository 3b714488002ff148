use axum::{Json, extract::State, http::StatusCode};
use byob_core::{OrgId, SecretId, SecretMeta};
use byob_service::{CreateSecret, UpdateSecret};

use super::{Listing, SecretPage};
use crate::{
    AppState,
    extract::{ApiJson, ApiPath, ApiQuery, Caller},
    problem::ApiResult,
};

/// Store a secret (admins). Its value is encrypted at rest and never returned.
#[utoipa::path(post, operation_id = "create_secret", path = "/v1/orgs/{org}/secrets", tag = "secrets", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path)), request_body = CreateSecret, responses((status = 201, description = "Created", body = SecretMeta)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<CreateSecret>,
) -> ApiResult<(StatusCode, Json<SecretMeta>)> {
    Ok((StatusCode::CREATED, Json(state.services.secrets.create(&ctx, org, body).await?)))
}

/// List secrets, without values (admins).
#[utoipa::path(get, operation_id = "list_secrets", path = "/v1/orgs/{org}/secrets", tag = "secrets", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), SecretPage), responses((status = 200, description = "Success", body = Listing<SecretMeta>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<SecretPage>,
) -> ApiResult<Json<Listing<SecretMeta>>> {
    let page = query.page::<SecretId>()?;
    let limit = page.limit;
    let items = state.services.secrets.list(&ctx, org, page).await?;
    Ok(Json(Listing::new(items, limit, |s| s.id.to_string())))
}

/// A secret's metadata, never its value (admins).
#[utoipa::path(get, operation_id = "get_secret", path = "/v1/orgs/{org}/secrets/{secret}", tag = "secrets", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("secret" = SecretId, Path)), responses((status = 200, description = "Success", body = SecretMeta)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, secret)): ApiPath<(OrgId, SecretId)>,
) -> ApiResult<Json<SecretMeta>> {
    Ok(Json(state.services.secrets.get(&ctx, org, secret).await?))
}

/// Replace a secret's value, description or expiry (admins).
#[utoipa::path(patch, operation_id = "update_secret", path = "/v1/orgs/{org}/secrets/{secret}", tag = "secrets", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("secret" = SecretId, Path)), request_body = UpdateSecret,
    responses((status = 200, description = "Success", body = SecretMeta)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, secret)): ApiPath<(OrgId, SecretId)>,
    ApiJson(body): ApiJson<UpdateSecret>,
) -> ApiResult<Json<SecretMeta>> {
    Ok(Json(state.services.secrets.update(&ctx, org, secret, body).await?))
}

/// Delete a secret (admins).
#[utoipa::path(delete, operation_id = "delete_secret", path = "/v1/orgs/{org}/secrets/{secret}", tag = "secrets", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("secret" = SecretId, Path)), responses((status = 204, description = "Done; no content")))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, secret)): ApiPath<(OrgId, SecretId)>,
) -> ApiResult<StatusCode> {
    state.services.secrets.delete(&ctx, org, secret).await?;
    Ok(StatusCode::NO_CONTENT)
}
