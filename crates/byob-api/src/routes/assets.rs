//! Assets: versioned, content-addressed project files written and read through byob, their history, the keys
//! that sign their manifests, the store check and the rebuild from the bucket.

use axum::{
    Json,
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use byob_core::{
    OrgId, UploadId,
    asset::{AssetSettings, AssetVersion, StoreReport},
    job::Job,
};
use byob_service::data::{
    CompleteUpload, CreateAssetUpload, PartUrls, Preconditions, PublicKeys, RebuildReport, RebuildRequest,
    RefreshParts, UpdateAssetSettings, UploadPlan,
};
use futures::TryStreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Listing, bounded_limit};
use crate::{
    AppState,
    extract::{ApiJson, ApiPath, ApiQuery, Caller},
    problem::{ApiError, ApiResult, Problem},
};

/// The header a writer may send with the body's SHA-256 (lowercase hex): the write fails unless it matches.
const SHA256_HEADER: &str = "x-byob-sha256";

fn preconditions(headers: &HeaderMap) -> Result<Preconditions, ApiError> {
    let text = |name: header::HeaderName| -> Result<Option<String>, ApiError> {
        headers
            .get(&name)
            .map(|v| {
                v.to_str().map(str::to_string).map_err(|_| {
                    ApiError::from(
                        Problem::of(byob_core::codes::INVALID_HEADER, format!("`{name}` is not visible ASCII"))
                            .with_field(name.as_str()),
                    )
                })
            })
            .transpose()
    };
    let if_none_match = match text(header::IF_NONE_MATCH)? {
        None => false,
        Some(v) if v.trim() == "*" => true,
        Some(_) => {
            return Err(Problem::of(
                byob_core::codes::INVALID_HEADER,
                "`If-None-Match` takes only `*` on an asset write (create it only if it does not exist)",
            )
            .with_field("if-none-match")
            .into());
        }
    };
    Ok(Preconditions { if_match: text(header::IF_MATCH)?, if_none_match })
}

/// The largest version number the API takes (the document's `int32` bound).
const MAX_VERSION: u32 = 2_147_483_647;

/// A version number of the query, within 1 and [`MAX_VERSION`].
fn number(field: &str, value: Option<u32>) -> Result<Option<u64>, ApiError> {
    match value {
        Some(n) if !(1..=MAX_VERSION).contains(&n) => {
            Err(Problem::of(byob_core::codes::INVALID_QUERY, format!("`{field}` is a version number, 1-{MAX_VERSION}"))
                .with_field(field)
                .into())
        }
        other => Ok(other.map(u64::from)),
    }
}

/// A version number of the path.
fn version_in_path(n: u32) -> Result<u64, ApiError> {
    if (1..=MAX_VERSION).contains(&n) {
        return Ok(u64::from(n));
    }
    Err(Problem::of(byob_core::codes::INVALID_ID, format!("a version number is 1-{MAX_VERSION}, not {n}")).into())
}

/// The version's headers: its entity tag, number and hash.
fn version_headers(v: &AssetVersion) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(etag) = HeaderValue::from_str(&v.etag()) {
        headers.insert(header::ETAG, etag);
    }
    if let Ok(n) = HeaderValue::from_str(&v.version.to_string()) {
        headers.insert("x-byob-version", n);
    }
    if let Some(sha) = v.sha256.as_deref().and_then(|s| HeaderValue::from_str(s).ok()) {
        headers.insert(SHA256_HEADER, sha);
    }
    headers
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AssetQuery {
    /// Items per page, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (an asset name).
    pub cursor: Option<String>,
    /// Also deleted assets (their newest version is the deletion).
    pub deleted: Option<bool>,
}

/// The org's assets by name, each with its newest version.
#[utoipa::path(get, operation_id = "list_assets", path = "/v1/orgs/{org}/assets", tag = "assets",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), AssetQuery),
    responses((status = 200, description = "Success", body = Listing<AssetVersion>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<AssetQuery>,
) -> ApiResult<Json<Listing<AssetVersion>>> {
    let limit = bounded_limit(query.limit, 100, 1000)?;
    let items =
        state.services.assets.list(&ctx, org, query.cursor.as_deref(), query.deleted.unwrap_or(false), limit).await?;
    Ok(Json(Listing::new(items, limit, |v| v.name.clone())))
}

/// Write a new version: the body streams through byob into the bucket, hashed on the way. `If-Match` (an
/// `ETag` from a read) or `If-None-Match: *` make concurrent writers safe; `x-byob-sha256` makes the write fail
/// unless the bytes hash to it.
#[utoipa::path(put, operation_id = "write_asset", path = "/v1/orgs/{org}/assets/{name}", tag = "assets",
    security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("name" = String, Path, description = "The asset's name; `/` sent as `%2F`"),
        ("if-match" = Option<String>, Header), ("if-none-match" = Option<String>, Header),
        ("x-byob-sha256" = Option<String>, Header)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, description = "The new version", body = AssetVersion)))]
pub(crate) async fn write(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name)): ApiPath<(OrgId, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let preconditions = preconditions(&headers)?;
    let sha256 = headers
        .get(SHA256_HEADER)
        .map(|v| v.to_str().map(|s| s.trim().to_ascii_lowercase()))
        .transpose()
        .map_err(|_| Problem::of(byob_core::codes::INVALID_HEADER, "`x-byob-sha256` is not visible ASCII"))?;
    let stream = body.into_data_stream().map_err(|e| e.to_string());
    let v = state.services.assets.write(&ctx, org, &name, preconditions, sha256, stream).await?;
    Ok((StatusCode::CREATED, version_headers(&v), Json(v)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReadQuery {
    /// A version number (default: the newest).
    #[param(minimum = 1, maximum = 2_147_483_647)]
    pub version: Option<u32>,
}

/// Read an asset's content, checked against its SHA-256 as it streams: a body that does not match ends with an
/// error, never cleanly.
#[utoipa::path(get, operation_id = "read_asset", path = "/v1/orgs/{org}/assets/{name}", tag = "assets",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("name" = String, Path), ReadQuery),
    responses((status = 200, description = "The content", content_type = "application/octet-stream")))]
pub(crate) async fn read(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name)): ApiPath<(OrgId, String)>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> ApiResult<Response> {
    let read = state.services.assets.read(&ctx, org, &name, number("version", query.version)?).await?;
    let mut headers = version_headers(&read.version);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(read.version.size));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    Ok((StatusCode::OK, headers, Body::from_stream(read.body)).into_response())
}

/// Delete an asset: a new version marks it deleted; its content is kept for the retention, for a restore.
#[utoipa::path(delete, operation_id = "delete_asset", path = "/v1/orgs/{org}/assets/{name}", tag = "assets",
    security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("name" = String, Path), ("if-match" = Option<String>, Header)),
    responses((status = 200, description = "The deletion", body = AssetVersion)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name)): ApiPath<(OrgId, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<AssetVersion>> {
    let preconditions = preconditions(&headers)?;
    Ok(Json(state.services.assets.delete(&ctx, org, &name, preconditions).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct VersionQuery {
    /// Items per page, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (a version number).
    #[param(minimum = 1, maximum = 2_147_483_647)]
    pub cursor: Option<u32>,
}

/// An asset's versions, newest first.
#[utoipa::path(get, operation_id = "list_asset_versions", path = "/v1/orgs/{org}/assets/{name}/versions",
    tag = "assets", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("name" = String, Path), VersionQuery),
    responses((status = 200, description = "Success", body = Listing<AssetVersion>)))]
pub(crate) async fn versions(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name)): ApiPath<(OrgId, String)>,
    ApiQuery(query): ApiQuery<VersionQuery>,
) -> ApiResult<Json<Listing<AssetVersion>>> {
    let limit = bounded_limit(query.limit, 100, 1000)?;
    let items = state.services.assets.versions(&ctx, org, &name, number("cursor", query.cursor)?, limit).await?;
    Ok(Json(Listing::new(items, limit, |v| v.version.to_string())))
}

/// Make an old version's content the newest version.
#[utoipa::path(post, operation_id = "restore_asset_version",
    path = "/v1/orgs/{org}/assets/{name}/versions/{version}/restore", tag = "assets",
    security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("name" = String, Path), ("version" = u32, Path, minimum = 1, maximum = 2_147_483_647),
        ("if-match" = Option<String>, Header)),
    responses((status = 201, description = "The new version", body = AssetVersion)))]
pub(crate) async fn restore(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name, version)): ApiPath<(OrgId, String, u32)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let preconditions = preconditions(&headers)?;
    let v = state.services.assets.restore(&ctx, org, &name, version_in_path(version)?, preconditions).await?;
    Ok((StatusCode::CREATED, version_headers(&v), Json(v)).into_response())
}

/// The keys that sign the org's manifests (made on first use): check a manifest in the bucket with them.
#[utoipa::path(get, operation_id = "asset_public_key", path = "/v1/orgs/{org}/assets/public-key", tag = "assets",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path)),
    responses((status = 200, description = "Success", body = PublicKeys)))]
pub(crate) async fn public_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<Json<PublicKeys>> {
    Ok(Json(state.services.assets.public_keys(&ctx, org).await?))
}

/// The asset store's settings.
#[utoipa::path(get, operation_id = "asset_settings", path = "/v1/orgs/{org}/assets/settings", tag = "assets",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path)),
    responses((status = 200, description = "Success", body = AssetSettings)))]
pub(crate) async fn settings(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<Json<AssetSettings>> {
    Ok(Json(state.services.assets.settings(&ctx, org).await?))
}

/// Set how long a deleted asset's content is kept (admins).
#[utoipa::path(put, operation_id = "set_asset_settings", path = "/v1/orgs/{org}/assets/settings", tag = "assets",
    security(("bearer" = ["admin"])), params(("org" = OrgId, Path)), request_body = UpdateAssetSettings,
    responses((status = 200, description = "Success", body = AssetSettings)))]
pub(crate) async fn set_settings(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<UpdateAssetSettings>,
) -> ApiResult<Json<AssetSettings>> {
    Ok(Json(state.services.assets.set_settings(&ctx, org, body).await?))
}

/// Check the store: every version's object is there and matches its hash, the manifest chain holds, nothing
/// unexpected sits in the store's folders. A job; its result is the report.
#[utoipa::path(post, operation_id = "verify_assets", path = "/v1/orgs/{org}/assets/verify", tag = "assets",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path)),
    responses((status = 202, description = "Queued", body = Job)))]
pub(crate) async fn verify(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    Ok((StatusCode::ACCEPTED, Json(state.services.assets.check(&ctx, org).await?)))
}

/// The latest store check's report.
#[utoipa::path(get, operation_id = "latest_asset_report", path = "/v1/orgs/{org}/assets/verify", tag = "assets",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path)),
    responses((status = 200, description = "Success", body = StoreReport)))]
pub(crate) async fn latest_report(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<Json<StoreReport>> {
    match state.services.assets.latest_report(&ctx, org).await? {
        Some(report) => Ok(Json(report)),
        None => Err(Problem::of(
            byob_core::codes::ASSET_REPORT_NOT_FOUND,
            "no store check has run yet; `POST …/assets/verify` runs one",
        )
        .into()),
    }
}

/// Rebuild the version history from the manifests in the bucket (admins; the org must have none).
#[utoipa::path(post, operation_id = "rebuild_assets", path = "/v1/orgs/{org}/assets/rebuild", tag = "assets",
    security(("bearer" = ["admin"])), params(("org" = OrgId, Path)), request_body = RebuildRequest,
    responses((status = 200, description = "What was restored", body = RebuildReport)))]
pub(crate) async fn rebuild(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<RebuildRequest>,
) -> ApiResult<Json<RebuildReport>> {
    Ok(Json(state.services.assets.rebuild(&ctx, org, body).await?))
}

/// Plan a large asset's upload straight to the bucket, declaring its SHA-256: send the parts as the plan says,
/// then complete. `If-Match` / `If-None-Match: *` are checked now and again at completion.
#[utoipa::path(post, operation_id = "create_asset_upload", path = "/v1/orgs/{org}/assets/{name}/uploads",
    tag = "assets", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("name" = String, Path), ("if-match" = Option<String>, Header),
        ("if-none-match" = Option<String>, Header)),
    request_body = CreateAssetUpload,
    responses((status = 201, description = "Send the parts as the plan says, then complete", body = UploadPlan)))]
pub(crate) async fn create_upload(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name)): ApiPath<(OrgId, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateAssetUpload>,
) -> ApiResult<(StatusCode, Json<UploadPlan>)> {
    let preconditions = preconditions(&headers)?;
    Ok((StatusCode::CREATED, Json(state.services.assets.begin_upload(&ctx, org, &name, &preconditions, body).await?)))
}

/// New URLs for a planned upload's parts.
#[utoipa::path(post, operation_id = "refresh_asset_upload_parts",
    path = "/v1/orgs/{org}/assets/{name}/uploads/{upload}/parts", tag = "assets", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("name" = String, Path), ("upload" = UploadId, Path)), request_body = RefreshParts,
    responses((status = 200, description = "Fresh URLs", body = PartUrls)))]
pub(crate) async fn refresh_upload(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name, upload)): ApiPath<(OrgId, String, UploadId)>,
    ApiJson(body): ApiJson<RefreshParts>,
) -> ApiResult<Json<PartUrls>> {
    Ok(Json(state.services.assets.refresh_upload(&ctx, org, &name, upload, body).await?))
}

/// Complete a planned upload: byob reads the staged bytes back through SHA-256 and makes the version when they
/// match the hash the plan declared.
#[utoipa::path(post, operation_id = "complete_asset_upload",
    path = "/v1/orgs/{org}/assets/{name}/uploads/{upload}/complete", tag = "assets",
    security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("name" = String, Path), ("upload" = UploadId, Path),
        ("if-match" = Option<String>, Header), ("if-none-match" = Option<String>, Header)),
    request_body = CompleteUpload, responses((status = 201, description = "The new version", body = AssetVersion)))]
pub(crate) async fn complete_upload(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name, upload)): ApiPath<(OrgId, String, UploadId)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CompleteUpload>,
) -> ApiResult<Response> {
    let preconditions = preconditions(&headers)?;
    let v = state.services.assets.complete_upload(&ctx, org, &name, upload, &preconditions, body).await?;
    Ok((StatusCode::CREATED, version_headers(&v), Json(v)).into_response())
}

/// Drop a planned upload: its parts are discarded, nothing is written.
#[utoipa::path(delete, operation_id = "abort_asset_upload", path = "/v1/orgs/{org}/assets/{name}/uploads/{upload}",
    tag = "assets", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("name" = String, Path), ("upload" = UploadId, Path)),
    responses((status = 204, description = "Dropped")))]
pub(crate) async fn abort_upload(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name, upload)): ApiPath<(OrgId, String, UploadId)>,
) -> ApiResult<StatusCode> {
    state.services.assets.abort_upload(&ctx, org, &name, upload).await?;
    Ok(StatusCode::NO_CONTENT)
}
