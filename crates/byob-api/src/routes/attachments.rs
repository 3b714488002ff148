//! Attachments: files tied to a record's field, their downloads and thumbnails, and the admins' policies per
//! field.

use axum::{
    Json,
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use byob_core::{
    AttachmentId, OrgId,
    attachment::{Attachment, AttachmentState, Policy},
};
use byob_service::data::{
    AttachmentPlan, CompleteUpload, CreateAttachment, Delivery, PartUrls, PolicyView, RefreshParts, SlotFilter,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Listing, page};
use crate::{
    AppState,
    extract::{ApiJson, ApiPath, ApiQuery, Caller},
    problem::ApiResult,
};

/// Start an attachment: checks the field's policy (size, type, files per record) and returns the URLs to send
/// the bytes to.
#[utoipa::path(post, operation_id = "create_attachment", path = "/v1/orgs/{org}/attachments", tag = "attachments",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path)), request_body = CreateAttachment,
    responses((status = 201, description = "Created; send the file as the plan says, then complete", body = AttachmentPlan)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<CreateAttachment>,
) -> ApiResult<(StatusCode, Json<AttachmentPlan>)> {
    Ok((StatusCode::CREATED, Json(state.services.attachments.create(&ctx, org, body).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AttachmentQuery {
    /// Only this collection (e.g. `orders`).
    pub collection: Option<String>,
    /// Only this record of the collection (e.g. `42`).
    pub record: Option<String>,
    /// Only this field (e.g. `invoice`).
    pub field: Option<String>,
    /// Only attachments in this state.
    pub state: Option<AttachmentState>,
    /// Items per page, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^att_[0-9a-hjkmnp-tv-z]{26}$")]
    pub cursor: Option<String>,
}

/// The org's attachments, oldest first, by collection, record, field and state.
#[utoipa::path(get, operation_id = "list_attachments", path = "/v1/orgs/{org}/attachments", tag = "attachments",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), AttachmentQuery),
    responses((status = 200, description = "Success", body = Listing<Attachment>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<AttachmentQuery>,
) -> ApiResult<Json<Listing<Attachment>>> {
    let page = page::<AttachmentId>(query.limit, query.cursor.as_deref())?;
    let filter =
        SlotFilter { collection: query.collection, record: query.record, field: query.field, state: query.state };
    let items = state.services.attachments.list(&ctx, org, filter, page.after, page.limit).await?;
    Ok(Json(Listing::new(items, page.limit, |a| a.id.to_string())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeleteQuery {
    /// The collection whose attachments go (all of them, without `record`: admins only).
    pub collection: String,
    /// The record whose attachments go (the platform deleted the row).
    pub record: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Deleted {
    pub deleted: u64,
}

/// Delete every attachment of a record, or (admins) of a whole collection: objects and thumbnails go.
#[utoipa::path(delete, operation_id = "delete_attachments", path = "/v1/orgs/{org}/attachments",
    tag = "attachments", security(("bearer" = ["member"])), params(("org" = OrgId, Path), DeleteQuery),
    responses((status = 200, description = "Deleted", body = Deleted)))]
pub(crate) async fn delete_all(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> ApiResult<Json<Deleted>> {
    let deleted = state.services.attachments.delete_all(&ctx, org, &query.collection, query.record.as_deref()).await?;
    Ok(Json(Deleted { deleted }))
}

/// One attachment: its slot, state, checked type, and why it was rejected.
#[utoipa::path(get, operation_id = "get_attachment", path = "/v1/orgs/{org}/attachments/{attachment}",
    tag = "attachments", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("attachment" = AttachmentId, Path)),
    responses((status = 200, description = "Success", body = Attachment)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, AttachmentId)>,
) -> ApiResult<Json<Attachment>> {
    Ok(Json(state.services.attachments.get(&ctx, org, id).await?))
}

/// Delete an attachment: its object and thumbnail go.
#[utoipa::path(delete, operation_id = "delete_attachment", path = "/v1/orgs/{org}/attachments/{attachment}",
    tag = "attachments", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("attachment" = AttachmentId, Path)),
    responses((status = 200, description = "Deleted", body = Attachment)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, AttachmentId)>,
) -> ApiResult<Json<Attachment>> {
    Ok(Json(state.services.attachments.delete(&ctx, org, id).await?))
}

/// Complete an attachment: byob checks its size and real type, then scans it (or makes it available).
#[utoipa::path(post, operation_id = "complete_attachment", path = "/v1/orgs/{org}/attachments/{attachment}/complete",
    tag = "attachments", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("attachment" = AttachmentId, Path)), request_body = CompleteUpload,
    responses((status = 200, description = "Checked: `available`, or `scanning`", body = Attachment)))]
pub(crate) async fn complete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, AttachmentId)>,
    ApiJson(body): ApiJson<CompleteUpload>,
) -> ApiResult<Json<Attachment>> {
    Ok(Json(state.services.attachments.complete(&ctx, org, id, body).await?))
}

/// New URLs for a pending attachment's parts.
#[utoipa::path(post, operation_id = "refresh_attachment_parts", path = "/v1/orgs/{org}/attachments/{attachment}/parts",
    tag = "attachments", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("attachment" = AttachmentId, Path)), request_body = RefreshParts,
    responses((status = 200, description = "Fresh URLs", body = PartUrls)))]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, AttachmentId)>,
    ApiJson(body): ApiJson<RefreshParts>,
) -> ApiResult<Json<PartUrls>> {
    Ok(Json(state.services.attachments.refresh(&ctx, org, id, body).await?))
}

/// Download: a redirect to a fresh short-lived URL whose answer carries `Content-Disposition` and the checked
/// type (or the file itself, for storage without URLs). This link never expires: it signs anew each time.
#[utoipa::path(get, operation_id = "download_attachment", path = "/v1/orgs/{org}/attachments/{attachment}/download",
    tag = "attachments", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("attachment" = AttachmentId, Path)),
    responses((status = 302, description = "To the file; `Location` is valid briefly"),
        (status = 200, description = "The file, for storage without URLs", content_type = "application/octet-stream")))]
pub(crate) async fn download(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, AttachmentId)>,
) -> ApiResult<Response> {
    Ok(respond(state.services.attachments.download(&ctx, org, id).await?))
}

/// The thumbnail (PNG, at most 256 px), shown inline.
#[utoipa::path(get, operation_id = "attachment_thumbnail", path = "/v1/orgs/{org}/attachments/{attachment}/thumbnail",
    tag = "attachments", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("attachment" = AttachmentId, Path)),
    responses((status = 302, description = "To the thumbnail; `Location` is valid briefly"),
        (status = 200, description = "The thumbnail, for storage without URLs", content_type = "image/png")))]
pub(crate) async fn thumbnail(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, AttachmentId)>,
) -> ApiResult<Response> {
    Ok(respond(state.services.attachments.thumbnail(&ctx, org, id).await?))
}

/// A redirect that no cache keeps and no referrer leaks, or the streamed object with its headers.
fn respond(delivery: Delivery) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    match delivery {
        Delivery::Redirect { url, .. } => match HeaderValue::from_str(&url) {
            Ok(location) => {
                headers.insert(header::LOCATION, location);
                (StatusCode::FOUND, headers).into_response()
            }
            Err(_) => crate::problem::ApiError::from(byob_service::ServiceError::Conflict(
                "the storage signed a URL that is not a valid header".into(),
            ))
            .into_response(),
        },
        Delivery::Stream { body, size, headers: answer } => {
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            for (name, value) in
                [(header::CONTENT_TYPE, answer.content_type), (header::CONTENT_DISPOSITION, answer.content_disposition)]
            {
                if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                    headers.insert(name, value);
                }
            }
            (StatusCode::OK, headers, Body::from_stream(body)).into_response()
        }
    }
}

/// The policies admins set, by collection and field (fields without one get the defaults).
#[utoipa::path(get, operation_id = "list_attachment_policies", path = "/v1/orgs/{org}/attachment-policies",
    tag = "attachments", security(("bearer" = ["member"])), params(("org" = OrgId, Path)),
    responses((status = 200, description = "Success", body = Vec<PolicyView>)))]
pub(crate) async fn policies(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<Json<Vec<PolicyView>>> {
    Ok(Json(state.services.attachments.list_policies(&ctx, org).await?))
}

/// The policy that applies to a field: the admins' own, or the defaults.
#[utoipa::path(get, operation_id = "get_attachment_policy",
    path = "/v1/orgs/{org}/attachment-policies/{collection}/{field}", tag = "attachments",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), ("collection" = String, Path), ("field" = String, Path)),
    responses((status = 200, description = "Success", body = PolicyView)))]
pub(crate) async fn get_policy(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, collection, field)): ApiPath<(OrgId, String, String)>,
) -> ApiResult<Json<PolicyView>> {
    Ok(Json(state.services.attachments.get_policy(&ctx, org, &collection, &field).await?))
}

/// Set a field's policy (admins): the largest file, files per record, allowed types, inline previews.
#[utoipa::path(put, operation_id = "set_attachment_policy",
    path = "/v1/orgs/{org}/attachment-policies/{collection}/{field}", tag = "attachments",
    security(("bearer" = ["admin"])), params(("org" = OrgId, Path), ("collection" = String, Path), ("field" = String, Path)),
    request_body = Policy, responses((status = 200, description = "Set", body = PolicyView)))]
pub(crate) async fn set_policy(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, collection, field)): ApiPath<(OrgId, String, String)>,
    ApiJson(body): ApiJson<Policy>,
) -> ApiResult<Json<PolicyView>> {
    Ok(Json(state.services.attachments.set_policy(&ctx, org, &collection, &field, body).await?))
}

/// Return a field to the default policy (admins).
#[utoipa::path(delete, operation_id = "reset_attachment_policy",
    path = "/v1/orgs/{org}/attachment-policies/{collection}/{field}", tag = "attachments",
    security(("bearer" = ["admin"])), params(("org" = OrgId, Path), ("collection" = String, Path), ("field" = String, Path)),
    responses((status = 200, description = "Reset; the defaults apply", body = PolicyView)))]
pub(crate) async fn reset_policy(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, collection, field)): ApiPath<(OrgId, String, String)>,
) -> ApiResult<Json<PolicyView>> {
    Ok(Json(state.services.attachments.reset_policy(&ctx, org, &collection, &field).await?))
}
