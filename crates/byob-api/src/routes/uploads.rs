//! Upload sessions, their preview and their load into a connection; the relay endpoint that receives parts
//! for storage without presigned URLs.

use axum::{
    Json,
    body::Body,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::IntoResponse,
};
use byob_core::{OrgId, UploadId, job::Job, upload::Upload};
use byob_service::{
    data::{CompleteUpload, CreateUpload, LoadRequest, PartUrls, PreviewOptions, RefreshParts, UploadPlan},
    tabular::Inspection,
};
use futures::TryStreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Listing, UploadPage, bounded_limit};
use crate::{
    AppState,
    extract::{ApiJson, ApiPath, ApiQuery, Caller},
    problem::ApiResult,
};

/// Start an upload: returns its id and the URLs to send the bytes to (one PUT, or one per part).
#[utoipa::path(post, operation_id = "create_upload", path = "/v1/orgs/{org}/uploads", tag = "uploads",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path)), request_body = CreateUpload,
    responses((status = 201, description = "Created; send the file as the plan says, then complete", body = UploadPlan)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<CreateUpload>,
) -> ApiResult<(StatusCode, Json<UploadPlan>)> {
    Ok((StatusCode::CREATED, Json(state.services.uploads.create(&ctx, org, body).await?)))
}

/// The org's uploads, newest first.
#[utoipa::path(get, operation_id = "list_uploads", path = "/v1/orgs/{org}/uploads", tag = "uploads",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), UploadPage),
    responses((status = 200, description = "Success", body = Listing<Upload>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<UploadPage>,
) -> ApiResult<Json<Listing<Upload>>> {
    let page = query.page::<UploadId>()?;
    let items = state.services.uploads.list(&ctx, org, page.after, page.limit).await?;
    Ok(Json(Listing::new(items, page.limit, |u| u.id.to_string())))
}

/// One upload: its state, where its file is, what became of it.
#[utoipa::path(get, operation_id = "get_upload", path = "/v1/orgs/{org}/uploads/{upload}", tag = "uploads",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("upload" = UploadId, Path)),
    responses((status = 200, description = "Success", body = Upload)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, UploadId)>,
) -> ApiResult<Json<Upload>> {
    Ok(Json(state.services.uploads.get(&ctx, org, id).await?))
}

/// Abort an upload: cancels the multipart upload and deletes whatever arrived.
#[utoipa::path(delete, operation_id = "abort_upload", path = "/v1/orgs/{org}/uploads/{upload}", tag = "uploads",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("upload" = UploadId, Path)),
    responses((status = 200, description = "Aborted", body = Upload)))]
pub(crate) async fn abort(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, UploadId)>,
) -> ApiResult<Json<Upload>> {
    Ok(Json(state.services.uploads.abort(&ctx, org, id).await?))
}

/// Complete an upload (with each part's ETag for multipart); byob assembles it and checks the size.
#[utoipa::path(post, operation_id = "complete_upload", path = "/v1/orgs/{org}/uploads/{upload}/complete",
    tag = "uploads", security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("upload" = UploadId, Path)),
    request_body = CompleteUpload, responses((status = 200, description = "Uploaded", body = Upload)))]
pub(crate) async fn complete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, UploadId)>,
    ApiJson(body): ApiJson<CompleteUpload>,
) -> ApiResult<Json<Upload>> {
    Ok(Json(state.services.uploads.complete(&ctx, org, id, body).await?))
}

/// New URLs for parts whose URLs expired.
#[utoipa::path(post, operation_id = "refresh_upload_parts", path = "/v1/orgs/{org}/uploads/{upload}/parts",
    tag = "uploads", security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("upload" = UploadId, Path)),
    request_body = RefreshParts, responses((status = 200, description = "Fresh URLs", body = PartUrls)))]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, UploadId)>,
    ApiJson(body): ApiJson<RefreshParts>,
) -> ApiResult<Json<PartUrls>> {
    Ok(Json(state.services.uploads.refresh(&ctx, org, id, body).await?))
}

/// Inspect an uploaded CSV: encoding, delimiter, header, column names and inferred types, the first rows.
#[utoipa::path(get, operation_id = "preview_upload", path = "/v1/orgs/{org}/uploads/{upload}/preview",
    tag = "uploads", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("upload" = UploadId, Path), PreviewOptions),
    responses((status = 200, description = "What byob found", body = Inspection)))]
pub(crate) async fn preview(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, UploadId)>,
    ApiQuery(options): ApiQuery<PreviewOptions>,
) -> ApiResult<Json<Inspection>> {
    Ok(Json(state.services.loads.preview(&ctx, org, id, options).await?))
}

/// Load the uploaded CSV into a table; returns the job, to follow at `/jobs/{job}`.
#[utoipa::path(post, operation_id = "load_upload", path = "/v1/orgs/{org}/uploads/{upload}/load", tag = "uploads",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("upload" = UploadId, Path)),
    request_body = LoadRequest, responses((status = 202, description = "Queued", body = Job)))]
pub(crate) async fn load(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, UploadId)>,
    ApiJson(body): ApiJson<LoadRequest>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    Ok((StatusCode::ACCEPTED, Json(state.services.loads.start(&ctx, org, id, body).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RelayToken {
    /// The token in the part URL byob handed out.
    pub token: String,
}

/// Receive one part of an upload to storage that has no presigned URLs (the local default storage). The URL,
/// with its token, comes from the upload's plan; no bearer token is needed.
#[utoipa::path(put, operation_id = "relay_upload_part", path = "/v1/orgs/{org}/uploads/{upload}/parts/{part}",
    tag = "uploads", params(("org" = OrgId, Path), ("upload" = UploadId, Path), ("part" = u32, Path), RelayToken),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "Stored; the `ETag` header names the part")))]
pub(crate) async fn relay_part(
    State(state): State<AppState>,
    ApiPath((org, id, part)): ApiPath<(OrgId, UploadId, u32)>,
    Query(query): Query<RelayToken>,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    let stream = body.into_data_stream().map_err(|e| e.to_string());
    let etag = state.services.uploads.relay_part(org, id, part, &query.token, stream).await?;
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    Ok((StatusCode::OK, headers))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct JobQuery {
    /// Only jobs in this state: `queued`, `running`, `succeeded`, `failed`, `cancelled`.
    pub state: Option<String>,
    /// Newest first, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// The org's jobs, newest first.
#[utoipa::path(get, operation_id = "list_jobs", path = "/v1/orgs/{org}/jobs", tag = "jobs",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), JobQuery),
    responses((status = 200, description = "Success", body = Vec<Job>)))]
pub(crate) async fn jobs(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<JobQuery>,
) -> ApiResult<Json<Vec<Job>>> {
    let limit = bounded_limit(query.limit, 50, 500)?;
    let job_state = match query.state.as_deref() {
        None => None,
        Some(s) => Some(byob_core::job::JobState::parse(s).ok_or_else(|| {
            byob_service::ServiceError::invalid("state", "one of queued, running, succeeded, failed, cancelled")
        })?),
    };
    Ok(Json(state.services.jobs.list(&ctx, org, job_state, limit).await?))
}

/// One job: state, progress (bytes, rows), result or error.
#[utoipa::path(get, operation_id = "get_job", path = "/v1/orgs/{org}/jobs/{job}", tag = "jobs",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("job" = byob_core::JobId, Path)),
    responses((status = 200, description = "Success", body = Job)))]
pub(crate) async fn job(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, byob_core::JobId)>,
) -> ApiResult<Json<Job>> {
    Ok(Json(state.services.jobs.get(&ctx, org, id).await?))
}

/// Cancel a job: a queued one at once, a running one at its next progress report; nothing is left written.
#[utoipa::path(post, operation_id = "cancel_job", path = "/v1/orgs/{org}/jobs/{job}/cancel", tag = "jobs",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("job" = byob_core::JobId, Path)),
    responses((status = 200, description = "Cancelled or cancelling", body = Job)))]
pub(crate) async fn cancel_job(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, byob_core::JobId)>,
) -> ApiResult<Json<Job>> {
    Ok(Json(state.services.jobs.cancel(&ctx, org, id).await?))
}
