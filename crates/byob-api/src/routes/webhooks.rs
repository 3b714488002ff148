//! Webhook endpoints, their delivery logs, and the org's events.

use axum::{Json, extract::State, http::StatusCode};
use byob_core::{
    OrgId, WebhookId,
    event::{Delivery, Event, Webhook},
};
use byob_service::health::{CreateWebhook, CreatedWebhook};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    AppState,
    extract::{ApiJson, ApiPath, ApiQuery, Caller},
    problem::ApiResult,
};

/// Register a webhook endpoint (admins). The response carries the signing secret, shown this once.
#[utoipa::path(post, operation_id = "create_webhook", path = "/v1/orgs/{org}/webhooks", tag = "webhooks",
    security(("bearer" = ["admin"])), params(("org" = OrgId, Path)), request_body = CreateWebhook,
    responses((status = 201, description = "Created; `secret` is shown only now", body = CreatedWebhook)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<CreatedWebhook>)> {
    Ok((StatusCode::CREATED, Json(state.services.webhooks.create(&ctx, org, body).await?)))
}

/// List the org's webhook endpoints (admins); secrets are never returned.
#[utoipa::path(get, operation_id = "list_webhooks", path = "/v1/orgs/{org}/webhooks", tag = "webhooks",
    security(("bearer" = ["admin"])), params(("org" = OrgId, Path)),
    responses((status = 200, description = "Success", body = Vec<Webhook>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<Json<Vec<Webhook>>> {
    Ok(Json(state.services.webhooks.list(&ctx, org).await?))
}

/// Remove a webhook endpoint, its delivery log and its secret (admins).
#[utoipa::path(delete, operation_id = "delete_webhook", path = "/v1/orgs/{org}/webhooks/{webhook}", tag = "webhooks",
    security(("bearer" = ["admin"])), params(("org" = OrgId, Path), ("webhook" = WebhookId, Path)),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, WebhookId)>,
) -> ApiResult<StatusCode> {
    state.services.webhooks.delete(&ctx, org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct LogQuery {
    /// Newest first, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// The endpoint's delivery log, newest first (admins): status, attempts, the last answer, the next attempt.
#[utoipa::path(get, operation_id = "list_webhook_deliveries", path = "/v1/orgs/{org}/webhooks/{webhook}/deliveries",
    tag = "webhooks", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("webhook" = WebhookId, Path), LogQuery),
    responses((status = 200, description = "Success", body = Vec<Delivery>)))]
pub(crate) async fn deliveries(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, WebhookId)>,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> ApiResult<Json<Vec<Delivery>>> {
    Ok(Json(state.services.webhooks.deliveries(&ctx, org, id, super::bounded_limit(query.limit, 50, 500)?).await?))
}

/// Send a `webhook-test` event to the org's endpoints that accept it (admins).
#[utoipa::path(post, operation_id = "test_webhooks", path = "/v1/orgs/{org}/webhooks/test", tag = "webhooks",
    security(("bearer" = ["admin"])), params(("org" = OrgId, Path)),
    responses((status = 202, description = "Queued", body = Event)))]
pub(crate) async fn test(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<(StatusCode, Json<Event>)> {
    Ok((StatusCode::ACCEPTED, Json(state.services.webhooks.send_test(&ctx, org).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventQuery {
    /// Only this event type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    /// Newest first, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// The org's events, newest first (admins).
#[utoipa::path(get, operation_id = "list_events", path = "/v1/orgs/{org}/events", tag = "webhooks",
    security(("bearer" = ["admin"])), params(("org" = OrgId, Path), EventQuery),
    responses((status = 200, description = "Success", body = Vec<Event>)))]
pub(crate) async fn events(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<EventQuery>,
) -> ApiResult<Json<Vec<Event>>> {
    Ok(Json(
        state
            .services
            .events
            .list(&ctx, org, query.event_type.as_deref(), super::bounded_limit(query.limit, 50, 500)?)
            .await?,
    ))
}
