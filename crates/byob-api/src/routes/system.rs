use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Response},
};
use byob_core::{MemberId, OrgId, Role};
use byob_service::Principal;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{AppState, extract::Caller, problem::Problem};

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, operation_id = "healthz", path = "/healthz", tag = "system", responses((status = 200, description = "Success", body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: the catalog answers. 503 otherwise, so a load balancer stops sending traffic.
#[utoipa::path(get, operation_id = "readyz", path = "/readyz", tag = "system", responses((status = 200, description = "Success", body = Health), (status = 503, description = "Not ready", body = Problem)))]
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    match state.catalog.ping().await {
        Ok(()) => Json(Health { status: "ready" }).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            crate::problem::ApiError::from(Problem::of(
                byob_core::codes::CATALOG_UNAVAILABLE,
                format!("the {} catalog does not answer", state.catalog.backend()),
            ))
            .into_response()
        }
    }
}

/// Prometheus metrics in the OpenMetrics text format.
#[utoipa::path(get, operation_id = "metrics", path = "/metrics", tag = "system", responses((status = 200, description = "Success", content_type = "application/openmetrics-text", body = String)))]
pub(crate) async fn metrics(state: State<AppState>) -> Response {
    let janitor = state.services.janitor.totals();
    crate::metrics::serve(State(state.metrics.clone()), &crate::metrics::janitor_lines(janitor)).await
}

/// Who the bearer token belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WhoAmI {
    /// `operator` or `member`.
    kind: &'static str,
    org_id: Option<OrgId>,
    member_id: Option<MemberId>,
    role: Option<Role>,
}

#[utoipa::path(get, operation_id = "whoami", path = "/v1/whoami", tag = "system", security(("bearer" = [])), responses((status = 200, description = "Success", body = WhoAmI)))]
pub(crate) async fn whoami(Caller(ctx): Caller) -> Json<WhoAmI> {
    Json(match ctx.principal {
        Principal::Member { org_id, member_id, role, .. } => {
            WhoAmI { kind: "member", org_id: Some(org_id), member_id: Some(member_id), role: Some(role) }
        }
        Principal::Operator | Principal::System => {
            WhoAmI { kind: "operator", org_id: None, member_id: None, role: None }
        }
    })
}
