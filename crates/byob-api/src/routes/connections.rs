//! Connections to data platforms: admins manage them, members list, test and browse them.

use axum::{Json, extract::State, http::StatusCode};
use byob_core::{OrgId, table::Column};
use byob_service::data::{
    ConnectionReport, ConnectionTest, ConnectionView, CreateConnection, NetworkArtifact, TableView, TrustHostKey,
    UpdateConnection,
};

use crate::{
    AppState,
    extract::{ApiJson, ApiPath, Caller},
    problem::ApiResult,
};

/// Create a PostgreSQL connection (admins). The password is write-only.
#[utoipa::path(post, operation_id = "create_connection", path = "/v1/orgs/{org}/connections", tag = "connections",
    security(("bearer" = ["admin"])), params(("org" = OrgId, Path)), request_body = CreateConnection,
    responses((status = 201, description = "Created", body = ConnectionView)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<CreateConnection>,
) -> ApiResult<(StatusCode, Json<ConnectionView>)> {
    Ok((StatusCode::CREATED, Json(state.services.connections.create(&ctx, org, body).await?)))
}

/// The org's connections, the embedded warehouse `local` first.
#[utoipa::path(get, operation_id = "list_connections", path = "/v1/orgs/{org}/connections", tag = "connections",
    security(("bearer" = ["member"])), params(("org" = OrgId, Path)),
    responses((status = 200, description = "Success", body = Vec<ConnectionView>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
) -> ApiResult<Json<Vec<ConnectionView>>> {
    Ok(Json(state.services.connections.list(&ctx, org).await?))
}

/// One connection, by name or id.
#[utoipa::path(get, operation_id = "get_connection", path = "/v1/orgs/{org}/connections/{connection}",
    tag = "connections", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("connection" = String, Path, description = "Name or id")),
    responses((status = 200, description = "Success", body = ConnectionView)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name)): ApiPath<(OrgId, String)>,
) -> ApiResult<Json<ConnectionView>> {
    Ok(Json(state.services.connections.get(&ctx, org, &name).await?))
}

/// Set what members may do through a connection (admins): create tables, append to and replace tables (`none`,
/// `byob` — the tables byob created — or `any`), export tables, run their own SQL, and the one schema they may
/// write to. `local`, the org's own embedded warehouse, has no such limits.
#[utoipa::path(patch, operation_id = "update_connection", path = "/v1/orgs/{org}/connections/{connection}",
    tag = "connections", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("connection" = String, Path, description = "Name or id")),
    request_body = UpdateConnection,
    responses((status = 200, description = "Updated", body = ConnectionView)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name)): ApiPath<(OrgId, String)>,
    ApiJson(body): ApiJson<UpdateConnection>,
) -> ApiResult<Json<ConnectionView>> {
    Ok(Json(state.services.connections.update(&ctx, org, &name, body).await?))
}

/// Delete a connection and its password (admins). `local` cannot be deleted.
#[utoipa::path(delete, operation_id = "delete_connection", path = "/v1/orgs/{org}/connections/{connection}",
    tag = "connections", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("connection" = String, Path, description = "Name or id")),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name)): ApiPath<(OrgId, String)>,
) -> ApiResult<StatusCode> {
    state.services.connections.delete(&ctx, org, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Connect and run a trivial query; a failure is reported in the body, not as an error.
#[utoipa::path(post, operation_id = "test_connection", path = "/v1/orgs/{org}/connections/{connection}/test",
    tag = "connections", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("connection" = String, Path, description = "Name or id")),
    responses((status = 200, description = "The outcome", body = ConnectionTest)))]
pub(crate) async fn test(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name)): ApiPath<(OrgId, String)>,
) -> ApiResult<Json<ConnectionTest>> {
    Ok(Json(state.services.connections.test(&ctx, org, &name).await?))
}

/// The tables the connection can see.
#[utoipa::path(get, operation_id = "list_connection_tables", path = "/v1/orgs/{org}/connections/{connection}/tables",
    tag = "connections", security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("connection" = String, Path, description = "Name or id")),
    responses((status = 200, description = "Success", body = Vec<TableView>)))]
pub(crate) async fn tables(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name)): ApiPath<(OrgId, String)>,
) -> ApiResult<Json<Vec<TableView>>> {
    Ok(Json(state.services.connections.tables(&ctx, org, &name).await?))
}

/// A table's columns with byob's types.
#[utoipa::path(get, operation_id = "list_table_columns",
    path = "/v1/orgs/{org}/connections/{connection}/tables/{table}/columns", tag = "connections",
    security(("bearer" = ["member"])),
    params(("org" = OrgId, Path), ("connection" = String, Path, description = "Name or id"),
        ("table" = String, Path, description = "`table` or `schema.table`")),
    responses((status = 200, description = "Success", body = Vec<Column>)))]
pub(crate) async fn columns(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name, table)): ApiPath<(OrgId, String, String)>,
) -> ApiResult<Json<Vec<Column>>> {
    Ok(Json(state.services.connections.columns(&ctx, org, &name, &table).await?))
}

/// Verify the connection (admins): its name resolves (to private addresses, for a private link), its port is
/// reachable along its route, the bastion's host key is the confirmed one, the certificate is for its host, and
/// byob signs in, creates a table, inserts and reads (the write probes are rolled back). Failing checks are in
/// the report, not errors.
#[utoipa::path(post, operation_id = "verify_connection", path = "/v1/orgs/{org}/connections/{connection}/verify",
    tag = "connections", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("connection" = String, Path, description = "Name or id")),
    responses((status = 200, description = "The report", body = ConnectionReport)))]
pub(crate) async fn verify(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name)): ApiPath<(OrgId, String)>,
) -> ApiResult<Json<ConnectionReport>> {
    Ok(Json(state.services.connections.verify(&ctx, org, &name).await?))
}

/// The connection's latest verification report (admins).
#[utoipa::path(get, operation_id = "get_connection_report", path = "/v1/orgs/{org}/connections/{connection}/report",
    tag = "connections", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("connection" = String, Path, description = "Name or id")),
    responses((status = 200, description = "The latest report", body = ConnectionReport)))]
pub(crate) async fn report(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name)): ApiPath<(OrgId, String)>,
) -> ApiResult<Json<ConnectionReport>> {
    Ok(Json(state.services.connections.report(&ctx, org, &name).await?))
}

/// The steps the customer and the operator apply for the connection's network (admins): the bastion's
/// `authorized_keys` line, PrivateLink Terraform and private DNS, Snowflake's private-link authorization.
#[utoipa::path(get, operation_id = "get_connection_setup", path = "/v1/orgs/{org}/connections/{connection}/setup",
    tag = "connections", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("connection" = String, Path, description = "Name or id")),
    responses((status = 200, description = "The steps", body = Vec<NetworkArtifact>)))]
pub(crate) async fn setup(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name)): ApiPath<(OrgId, String)>,
) -> ApiResult<Json<Vec<NetworkArtifact>>> {
    Ok(Json(state.services.connections.setup(&ctx, org, &name).await?))
}

/// Confirm the SSH bastion's host key (admins): pinned only when the bastion offers exactly this fingerprint
/// now; until then byob sends nothing through it.
#[utoipa::path(post, operation_id = "trust_connection_host_key",
    path = "/v1/orgs/{org}/connections/{connection}/ssh-host-key", tag = "connections",
    security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), ("connection" = String, Path, description = "Name or id")),
    request_body = TrustHostKey,
    responses((status = 200, description = "Pinned", body = ConnectionView)))]
pub(crate) async fn trust_host_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath((org, name)): ApiPath<(OrgId, String)>,
    ApiJson(body): ApiJson<TrustHostKey>,
) -> ApiResult<Json<ConnectionView>> {
    Ok(Json(state.services.connections.trust_host_key(&ctx, org, &name, body).await?))
}
