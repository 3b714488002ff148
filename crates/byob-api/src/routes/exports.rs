//! Exports: definitions (one-off or scheduled), their runs, template previews, and acknowledgement of staging
//! runs.

use axum::{Json, extract::State, http::StatusCode};
use byob_core::{ExportId, JobId, OrgId, export::ExportRun};
use byob_service::data::{CreateExport, ExportCreated, ExportPreview, ExportView, PreviewExport};
use serde::Deserialize;
use utoipa::IntoParams;

use super::bounded_limit;
use crate::{
    AppState,
    extract::{ApiJson, ApiPath, ApiQuery, Caller},
    problem::ApiResult,
};

/// Create an export. Without a schedule its run starts now (follow it at `/jobs/{run}`); with one, runs follow
/// the schedule.
#[utoipa::path(post, operation_id = "create_export", path = "/v1/orgs/{org}/exports", tag = "exports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path)), request_body = CreateExport,
    responses((status = 201, description = "Created (and its run queued when it has no schedule)", body = ExportCreated)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<CreateExport>,
) -> ApiResult<(StatusCode, Json<ExportCreated>)> {
    Ok((StatusCode::CREATED, Json(state.services.exports.create(&ctx, org, body).await?)))
}

/// The org's exports.
#[utoipa::path(get, operation_id = "list_exports", path = "/v1/orgs/{org}/exports", tag = "exports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path)),
    responses((status = 200, description = "Success", body = Vec<ExportView>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<Json<Vec<ExportView>>> {
    Ok(Json(state.services.exports.list(&ctx, org).await?))
}

/// Render a path template (and a schedule's next times) for a sample run, before creating anything.
#[utoipa::path(post, operation_id = "preview_export", path = "/v1/orgs/{org}/exports/preview", tag = "exports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path)), request_body = PreviewExport,
    responses((status = 200, description = "The keys a run would write", body = ExportPreview)))]
pub(crate) async fn preview(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<PreviewExport>,
) -> ApiResult<Json<ExportPreview>> {
    Ok(Json(state.services.exports.preview(&ctx, org, body).await?))
}

/// One export, with its schedule's next times.
#[utoipa::path(get, operation_id = "get_export", path = "/v1/orgs/{org}/exports/{export}", tag = "exports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("export" = ExportId, Path)),
    responses((status = 200, description = "Success", body = ExportView)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, ExportId)>,
) -> ApiResult<Json<ExportView>> {
    Ok(Json(state.services.exports.get(&ctx, org, id).await?))
}

/// Delete an export and its run history (delivered files stay).
#[utoipa::path(delete, operation_id = "delete_export", path = "/v1/orgs/{org}/exports/{export}", tag = "exports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("export" = ExportId, Path)),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, ExportId)>,
) -> ApiResult<StatusCode> {
    state.services.exports.delete(&ctx, org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pause the schedule.
#[utoipa::path(post, operation_id = "pause_export", path = "/v1/orgs/{org}/exports/{export}/pause", tag = "exports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("export" = ExportId, Path)),
    responses((status = 200, description = "Paused", body = ExportView)))]
pub(crate) async fn pause(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, ExportId)>,
) -> ApiResult<Json<ExportView>> {
    Ok(Json(state.services.exports.set_paused(&ctx, org, id, true).await?))
}

/// Resume the schedule from its next time after now (times missed while paused are not run).
#[utoipa::path(post, operation_id = "resume_export", path = "/v1/orgs/{org}/exports/{export}/resume", tag = "exports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("export" = ExportId, Path)),
    responses((status = 200, description = "Resumed", body = ExportView)))]
pub(crate) async fn resume(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, ExportId)>,
) -> ApiResult<Json<ExportView>> {
    Ok(Json(state.services.exports.set_paused(&ctx, org, id, false).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RunQuery {
    /// Newest first, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// The export's runs, newest first: outcome, files, rows, bytes.
#[utoipa::path(get, operation_id = "list_export_runs", path = "/v1/orgs/{org}/exports/{export}/runs", tag = "exports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("export" = ExportId, Path), RunQuery),
    responses((status = 200, description = "Success", body = Vec<ExportRun>)))]
pub(crate) async fn runs(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, ExportId)>,
    ApiQuery(query): ApiQuery<RunQuery>,
) -> ApiResult<Json<Vec<ExportRun>>> {
    let limit = bounded_limit(query.limit, 50, 500)?;
    Ok(Json(state.services.exports.runs(&ctx, org, id, limit).await?))
}

/// Run the export now (refused while a run is queued or running).
#[utoipa::path(post, operation_id = "run_export", path = "/v1/orgs/{org}/exports/{export}/runs", tag = "exports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("export" = ExportId, Path)),
    responses((status = 202, description = "Queued", body = ExportRun)))]
pub(crate) async fn trigger(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, ExportId)>,
) -> ApiResult<(StatusCode, Json<ExportRun>)> {
    Ok((StatusCode::ACCEPTED, Json(state.services.exports.trigger(&ctx, org, id).await?)))
}

/// One run.
#[utoipa::path(get, operation_id = "get_export_run", path = "/v1/orgs/{org}/exports/{export}/runs/{run}",
    tag = "exports", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("export" = ExportId, Path), ("run" = JobId, Path)),
    responses((status = 200, description = "Success", body = ExportRun)))]
pub(crate) async fn run(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id, run)): ApiPath<(OrgId, ExportId, JobId)>,
) -> ApiResult<Json<ExportRun>> {
    Ok(Json(state.services.exports.run(&ctx, org, id, run).await?))
}

/// Acknowledge a staging run's delivery: its files are deleted now.
#[utoipa::path(post, operation_id = "ack_export_run", path = "/v1/orgs/{org}/exports/{export}/runs/{run}/ack",
    tag = "exports", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("export" = ExportId, Path), ("run" = JobId, Path)),
    responses((status = 200, description = "Acknowledged; files deleted", body = ExportRun)))]
pub(crate) async fn ack(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id, run)): ApiPath<(OrgId, ExportId, JobId)>,
) -> ApiResult<Json<ExportRun>> {
    Ok(Json(state.services.exports.ack(&ctx, org, id, run).await?))
}
