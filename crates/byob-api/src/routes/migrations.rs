//! Migrations: an org's files moved between byob's default storage and its integrations, verified, then
//! switched.

use axum::{Json, extract::State, http::StatusCode};
use byob_core::{MigrationId, OrgId, migration::Migration};
use byob_service::data::CreateMigration;
use serde::Deserialize;
use utoipa::IntoParams;

use super::bounded_limit;
use crate::{
    AppState,
    extract::{ApiJson, ApiPath, ApiQuery, Caller},
    problem::ApiResult,
};

/// Start a migration (admins): plan, copy with SHA-256 verification, catch up with writes made meanwhile, then
/// switch the features to the destination. A job runs it; `dry_run` only reports.
#[utoipa::path(post, operation_id = "create_migration", path = "/v1/orgs/{org}/migrations", tag = "migrations",
    security(("bearer" = ["admin"])), params(("org" = OrgId, Path)), request_body = CreateMigration,
    responses((status = 202, description = "Started; follow it here or through its job", body = Migration)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<CreateMigration>,
) -> ApiResult<(StatusCode, Json<Migration>)> {
    Ok((StatusCode::ACCEPTED, Json(state.services.migrations.start(&ctx, org, body).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct MigrationQuery {
    /// Newest first, 1-100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The org's migrations, newest first.
#[utoipa::path(get, operation_id = "list_migrations", path = "/v1/orgs/{org}/migrations", tag = "migrations",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path), MigrationQuery),
    responses((status = 200, description = "Success", body = Vec<Migration>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(query): ApiQuery<MigrationQuery>,
) -> ApiResult<Json<Vec<Migration>>> {
    let limit = bounded_limit(query.limit, 20, 100)?;
    Ok(Json(state.services.migrations.list(&ctx, org, limit).await?))
}

/// One migration: its state, counts (objects, bytes, copied, skipped, conflicts) and conflicts.
#[utoipa::path(get, operation_id = "get_migration", path = "/v1/orgs/{org}/migrations/{migration}",
    tag = "migrations", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("migration" = MigrationId, Path)),
    responses((status = 200, description = "Success", body = Migration)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, MigrationId)>,
) -> ApiResult<Json<Migration>> {
    Ok(Json(state.services.migrations.get(&ctx, org, id).await?))
}

/// Cancel a migration before its switch (admins): the features stay on the source.
#[utoipa::path(post, operation_id = "cancel_migration", path = "/v1/orgs/{org}/migrations/{migration}/cancel",
    tag = "migrations", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("migration" = MigrationId, Path)),
    responses((status = 200, description = "Cancelled", body = Migration)))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, id)): ApiPath<(OrgId, MigrationId)>,
) -> ApiResult<Json<Migration>> {
    Ok(Json(state.services.migrations.cancel(&ctx, org, id).await?))
}
