//! Imports: definitions (a fixed file or the most recent dated file), the dry run that shows which file a run
//! would load, and runs.

use axum::{Json, extract::State, http::StatusCode};
use byob_core::{ImportId, JobId, OrgId, import::ImportRun};
use byob_service::data::{CreateImport, ImportView, Resolution, RunImport};

use super::{bounded_limit, exports::RunQuery};
use crate::{
    AppState,
    extract::{ApiJson, ApiPath, ApiQuery, Caller},
    problem::ApiResult,
};

/// Create an import; it runs on its schedule, or when asked (`POST …/runs`).
#[utoipa::path(post, operation_id = "create_import", path = "/v1/orgs/{org}/imports", tag = "imports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path)), request_body = CreateImport,
    responses((status = 201, description = "Created", body = ImportView)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<CreateImport>,
) -> ApiResult<(StatusCode, Json<ImportView>)> {
    Ok((StatusCode::CREATED, Json(state.services.imports.create(&ctx, org, body).await?)))
}

/// The org's imports.
#[utoipa::path(get, operation_id = "list_imports", path = "/v1/orgs/{org}/imports", tag = "imports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path)),
    responses((status = 200, description = "Success", body = Vec<ImportView>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<Json<Vec<ImportView>>> {
    Ok(Json(state.services.imports.list(&ctx, org).await?))
}

/// One import, with the last file it loaded and its schedule's next times.
#[utoipa::path(get, operation_id = "get_import", path = "/v1/orgs/{org}/imports/{import}", tag = "imports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("import" = ImportId, Path)),
    responses((status = 200, description = "Success", body = ImportView)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, ImportId)>,
) -> ApiResult<Json<ImportView>> {
    Ok(Json(state.services.imports.get(&ctx, org, id).await?))
}

/// Delete an import and its run history (loaded tables stay).
#[utoipa::path(delete, operation_id = "delete_import", path = "/v1/orgs/{org}/imports/{import}", tag = "imports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("import" = ImportId, Path)),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, ImportId)>,
) -> ApiResult<StatusCode> {
    state.services.imports.delete(&ctx, org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pause the schedule.
#[utoipa::path(post, operation_id = "pause_import", path = "/v1/orgs/{org}/imports/{import}/pause", tag = "imports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("import" = ImportId, Path)),
    responses((status = 200, description = "Paused", body = ImportView)))]
pub(crate) async fn pause(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, ImportId)>,
) -> ApiResult<Json<ImportView>> {
    Ok(Json(state.services.imports.set_paused(&ctx, org, id, true).await?))
}

/// Resume the schedule from its next time after now.
#[utoipa::path(post, operation_id = "resume_import", path = "/v1/orgs/{org}/imports/{import}/resume", tag = "imports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("import" = ImportId, Path)),
    responses((status = 200, description = "Resumed", body = ImportView)))]
pub(crate) async fn resume(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, ImportId)>,
) -> ApiResult<Json<ImportView>> {
    Ok(Json(state.services.imports.set_paused(&ctx, org, id, false).await?))
}

/// The dry run: the file a run would load now, why, the keys passed over, and the list requests it took.
#[utoipa::path(get, operation_id = "resolve_import", path = "/v1/orgs/{org}/imports/{import}/resolve", tag = "imports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("import" = ImportId, Path)),
    responses((status = 200, description = "What a run would load", body = Resolution)))]
pub(crate) async fn resolve(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, ImportId)>,
) -> ApiResult<Json<Resolution>> {
    Ok(Json(state.services.imports.resolve(&ctx, org, id).await?))
}

/// The import's runs, newest first: the file chosen, rows loaded, outcome.
#[utoipa::path(get, operation_id = "list_import_runs", path = "/v1/orgs/{org}/imports/{import}/runs", tag = "imports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("import" = ImportId, Path), RunQuery),
    responses((status = 200, description = "Success", body = Vec<ImportRun>)))]
pub(crate) async fn runs(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, ImportId)>,
    ApiQuery(query): ApiQuery<RunQuery>,
) -> ApiResult<Json<Vec<ImportRun>>> {
    let limit = bounded_limit(query.limit, 50, 500)?;
    Ok(Json(state.services.imports.runs(&ctx, org, id, limit).await?))
}

/// Run the import now (`force` loads the file even if it is the one loaded last).
#[utoipa::path(post, operation_id = "run_import", path = "/v1/orgs/{org}/imports/{import}/runs", tag = "imports",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("import" = ImportId, Path)),
    request_body = RunImport, responses((status = 202, description = "Queued", body = ImportRun)))]
pub(crate) async fn trigger(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, ImportId)>,
    ApiJson(body): ApiJson<RunImport>,
) -> ApiResult<(StatusCode, Json<ImportRun>)> {
    Ok((StatusCode::ACCEPTED, Json(state.services.imports.trigger(&ctx, org, id, body).await?)))
}

/// One run.
#[utoipa::path(get, operation_id = "get_import_run", path = "/v1/orgs/{org}/imports/{import}/runs/{run}",
    tag = "imports", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("import" = ImportId, Path), ("run" = JobId, Path)),
    responses((status = 200, description = "Success", body = ImportRun)))]
pub(crate) async fn run(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id, run)): ApiPath<(OrgId, ImportId, JobId)>,
) -> ApiResult<Json<ImportRun>> {
    Ok(Json(state.services.imports.run(&ctx, org, id, run).await?))
}
