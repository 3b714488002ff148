use axum::{Json, extract::State, http::StatusCode};
use byob_core::{IntegrationId, OrgId, integration::Integration};
use byob_service::{
    CreateIntegration, IntegrationView, UpdateIntegration,
    setup::{RenderedSetup, SetupDocument, SetupFormat},
    verify::VerificationReport,
};

use super::{IntegrationPage, Listing};
use crate::{
    AppState,
    extract::{ApiJson, ApiPath, ApiQuery, Caller},
    problem::ApiResult,
};

/// Create an integration (admins). It starts as `draft`; secret credential fields are stored encrypted and never
/// returned.
#[utoipa::path(post, operation_id = "create_integration", path = "/v1/orgs/{org}/integrations", tag = "integrations",
    security(("bearer" = ["admin"])), params(("org" = OrgId, Path)), request_body = CreateIntegration,
    responses((status = 201, description = "Created", body = Integration)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<CreateIntegration>,
) -> ApiResult<(StatusCode, Json<Integration>)> {
    Ok((StatusCode::CREATED, Json(state.services.integrations.create(&ctx, org, body).await?)))
}

/// List integrations: in full for admins, as summaries for members.
#[utoipa::path(get, operation_id = "list_integrations", path = "/v1/orgs/{org}/integrations", tag = "integrations",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), IntegrationPage),
    responses((status = 200, description = "Success", body = Listing<IntegrationView>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<IntegrationPage>,
) -> ApiResult<Json<Listing<IntegrationView>>> {
    let page = query.page::<IntegrationId>()?;
    let limit = page.limit;
    let items = state.services.integrations.list(&ctx, org, page).await?;
    Ok(Json(Listing::new(items, limit, |v| match v {
        IntegrationView::Full(i) => i.id.to_string(),
        IntegrationView::Summary(s) => s.id.to_string(),
    })))
}

/// An integration: in full for admins, as a summary for members.
#[utoipa::path(get, operation_id = "get_integration", path = "/v1/orgs/{org}/integrations/{integration}",
    tag = "integrations", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("integration" = IntegrationId, Path)),
    responses((status = 200, description = "Success", body = IntegrationView)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, IntegrationId)>,
) -> ApiResult<Json<IntegrationView>> {
    Ok(Json(state.services.integrations.get(&ctx, org, id).await?))
}

/// Change an integration (admins). Provider and location cannot change.
#[utoipa::path(patch, operation_id = "update_integration", path = "/v1/orgs/{org}/integrations/{integration}",
    tag = "integrations", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("integration" = IntegrationId, Path)), request_body = UpdateIntegration,
    responses((status = 200, description = "Success", body = Integration)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, IntegrationId)>,
    ApiJson(body): ApiJson<UpdateIntegration>,
) -> ApiResult<Json<Integration>> {
    Ok(Json(state.services.integrations.update(&ctx, org, id, body).await?))
}

/// Delete an integration and its stored credentials (admins). The bucket and its objects are untouched.
#[utoipa::path(delete, operation_id = "delete_integration", path = "/v1/orgs/{org}/integrations/{integration}",
    tag = "integrations", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("integration" = IntegrationId, Path)),
    responses((status = 204, description = "Done; no content")))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, IntegrationId)>,
) -> ApiResult<StatusCode> {
    state.services.integrations.delete(&ctx, org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stop byob from using an integration (admins).
#[utoipa::path(post, operation_id = "disable_integration", path = "/v1/orgs/{org}/integrations/{integration}/disable",
    tag = "integrations", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("integration" = IntegrationId, Path)),
    responses((status = 200, description = "Success", body = Integration)))]
pub(crate) async fn disable(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, IntegrationId)>,
) -> ApiResult<Json<Integration>> {
    Ok(Json(state.services.integrations.set_enabled(&ctx, org, id, false).await?))
}

/// Re-enable a disabled integration (admins); it returns to `draft` until verified again.
#[utoipa::path(post, operation_id = "enable_integration", path = "/v1/orgs/{org}/integrations/{integration}/enable",
    tag = "integrations", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("integration" = IntegrationId, Path)),
    responses((status = 200, description = "Success", body = Integration)))]
pub(crate) async fn enable(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, IntegrationId)>,
) -> ApiResult<Json<Integration>> {
    Ok(Json(state.services.integrations.set_enabled(&ctx, org, id, true).await?))
}

/// Output format of the setup artifacts.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SetupQuery {
    /// `json` (default): every artifact as data; `terraform`: a module (`main.tf`); `cli`: provider CLI commands.
    #[param(inline, value_type = Option<String>, pattern = "^(json|terraform|cli)$")]
    format: Option<String>,
}

/// The setup artifacts an admin applies on their cloud account for this integration (admins).
#[utoipa::path(get, operation_id = "get_integration_setup", path = "/v1/orgs/{org}/integrations/{integration}/setup",
    tag = "integrations", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("integration" = IntegrationId, Path), SetupQuery),
    responses(
        (status = 200, description = "The setup document (json), Terraform module (terraform) or shell script (cli)",
            content((SetupDocument = "application/json"), (String = "text/plain")))
    ))]
pub(crate) async fn setup(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, IntegrationId)>,
    ApiQuery(query): ApiQuery<SetupQuery>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let format = match query.format.as_deref() {
        None | Some("json") => SetupFormat::Json,
        Some("terraform") => SetupFormat::Terraform,
        Some("cli") => SetupFormat::Cli,
        Some(_) => {
            return Err(crate::problem::Problem::of(
                byob_core::codes::INVALID_QUERY,
                "`format` must be json, terraform or cli",
            )
            .with_field("format")
            .into());
        }
    };
    Ok(match state.services.setup.render(&ctx, org, id, format).await? {
        RenderedSetup::Json(doc) => Json(*doc).into_response(),
        RenderedSetup::Text(text) => {
            ([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
        }
    })
}

/// Issue a new external id (assume-role integrations, admins). The current one stays in use; the setup's trust
/// policy accepts both until the new one is promoted.
#[utoipa::path(post, operation_id = "rotate_external_id",
    path = "/v1/orgs/{org}/integrations/{integration}/external-id/rotate", tag = "integrations",
    security(("bearer" = ["admin"])), params(("org" = OrgId, Path), ("integration" = IntegrationId, Path)),
    responses((status = 200, description = "Success", body = Integration)))]
pub(crate) async fn rotate_external_id(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, IntegrationId)>,
) -> ApiResult<Json<Integration>> {
    Ok(Json(state.services.integrations.rotate_external_id(&ctx, org, id).await?))
}

/// Switch to the pending external id once byob has assumed the role with it (admins).
#[utoipa::path(post, operation_id = "promote_external_id",
    path = "/v1/orgs/{org}/integrations/{integration}/external-id/promote", tag = "integrations",
    security(("bearer" = ["admin"])), params(("org" = OrgId, Path), ("integration" = IntegrationId, Path)),
    responses((status = 200, description = "Success", body = Integration)))]
pub(crate) async fn promote_external_id(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, IntegrationId)>,
) -> ApiResult<Json<Integration>> {
    Ok(Json(state.services.integrations.promote_external_id(&ctx, org, id).await?))
}

/// Verify the integration against its bucket (admins): a report of named checks, each with the cause and the
/// fix. A `draft` becomes `active` only when no check failed; a failure makes an `active` one `degraded`.
#[utoipa::path(post, operation_id = "verify_integration", path = "/v1/orgs/{org}/integrations/{integration}/verify",
    tag = "integrations", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("integration" = IntegrationId, Path)),
    responses((status = 200, description = "The verification report", body = VerificationReport)))]
pub(crate) async fn verify(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, IntegrationId)>,
) -> ApiResult<Json<VerificationReport>> {
    Ok(Json(state.services.verify.verify(&ctx, org, id).await?))
}

/// How many records a history returns.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryQuery {
    /// Newest first, 1-200 (default 20).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// Past verification reports of the integration, newest first (admins): manual runs and the monitor's.
#[utoipa::path(get, operation_id = "list_verifications", path = "/v1/orgs/{org}/integrations/{integration}/verifications",
    tag = "integrations", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("integration" = IntegrationId, Path), HistoryQuery),
    responses((status = 200, description = "Reports, newest first", body = Vec<VerificationReport>)))]
pub(crate) async fn verifications(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, IntegrationId)>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<Vec<VerificationReport>>> {
    Ok(Json(state.services.verify.history(&ctx, org, id, super::bounded_limit(query.limit, 20, 200)?).await?))
}

/// The integration's latest verification report (admins); 404 `not-found` when it was never verified.
#[utoipa::path(get, operation_id = "latest_verification", path = "/v1/orgs/{org}/integrations/{integration}/verifications/latest",
    tag = "integrations", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("integration" = IntegrationId, Path)),
    responses((status = 200, description = "The latest report", body = VerificationReport)))]
pub(crate) async fn latest_verification(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, IntegrationId)>,
) -> ApiResult<Json<VerificationReport>> {
    let latest = state.services.verify.history(&ctx, org, id, 1).await?.into_iter().next();
    Ok(Json(latest.ok_or_else(|| {
        byob_service::ServiceError::not_found(byob_core::codes::VERIFICATION_OF_INTEGRATION_NOT_FOUND, id)
    })?))
}
