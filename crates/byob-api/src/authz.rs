//! Access control before any handler runs: who may call a route is what its OpenAPI security scope says, so
//! the published document and the enforcement cannot drift apart. A caller from another org is told the org
//! does not exist (404) before anything else is looked at, the body included; a caller without the role gets
//! 403, and that refusal is audited. The use cases check again (defence in depth).

use std::{collections::HashMap, sync::Arc};

use axum::{
    extract::{MatchedPath, RawPathParams, Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Response},
};
use byob_core::{AuditOutcome, MemberId, OrgId};
use byob_service::{Access, RequestContext, ServiceError};
use serde_json::json;

use crate::{
    AppState,
    extract::authenticate,
    problem::{ApiError, Problem},
};

/// What a route requires, read from its OpenAPI security requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// No security requirement: health, metrics, the OpenAPI document.
    Public,
    /// Any valid token (`security: bearer: []`).
    Authenticated,
    Member,
    Admin,
    /// An admin, or the member named by `{member}`.
    SelfOrAdmin,
    Operator,
}

/// The scope of every route, keyed by method and path template.
#[derive(Debug, Clone, Default)]
pub(crate) struct RoutePolicy(Arc<HashMap<(Method, String), Scope>>);

impl RoutePolicy {
    pub(crate) fn from_openapi(doc: &utoipa::openapi::OpenApi) -> Self {
        let mut map = HashMap::new();
        let value = serde_json::to_value(doc).unwrap_or_default();
        let Some(paths) = value["paths"].as_object() else { return Self::default() };
        for (path, item) in paths {
            let Some(ops) = item.as_object() else { continue };
            for (method, op) in ops {
                let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
                let scope = match op.get("security").and_then(|s| s[0]["bearer"].as_array()) {
                    None => Scope::Public,
                    Some(scopes) => match scopes.first().and_then(|s| s.as_str()) {
                        None => Scope::Authenticated,
                        Some("member") => Scope::Member,
                        Some("admin") => Scope::Admin,
                        Some("self") => Scope::SelfOrAdmin,
                        // An unknown scope is the strictest, never the loosest.
                        Some(_) => Scope::Operator,
                    },
                };
                map.insert((method, path.clone()), scope);
            }
        }
        Self(Arc::new(map))
    }

    fn scope(&self, method: &Method, route: &str) -> Scope {
        // A route missing from the document (none should be) is treated as operator-only.
        self.0.get(&(method.clone(), route.to_string())).copied().unwrap_or(Scope::Operator)
    }
}

fn path_param<T: std::str::FromStr<Err = byob_core::IdError>>(
    params: &RawPathParams,
    name: &str,
) -> Result<Option<T>, ApiError> {
    match params.iter().find(|(key, _)| *key == name) {
        None => Ok(None),
        Some((_, value)) => value
            .parse()
            .map(Some)
            .map_err(|e: byob_core::IdError| Problem::of(byob_core::codes::INVALID_ID, e.to_string()).into()),
    }
}

pub(crate) async fn authorize(
    State(state): State<AppState>,
    matched: MatchedPath,
    params: RawPathParams,
    mut request: Request,
    next: Next,
) -> Response {
    let scope = state.policy.scope(request.method(), matched.as_str());
    if scope == Scope::Public {
        return next.run(request).await;
    }
    let ctx = match authenticate(request.headers(), request.extensions(), &state).await {
        Ok(ctx) => ctx,
        Err(err) => return err.into_response(),
    };
    if let byob_service::Principal::Member { org_id, token_id, .. } = &ctx.principal
        && let Err(limited) = state.rates.admit(*token_id, *org_id)
    {
        return too_many(&limited);
    }
    if let Err(err) = check(&state, &ctx, scope, &params, request.method(), matched.as_str()).await {
        return err.into_response();
    }
    request.extensions_mut().insert(ctx);
    next.run(request).await
}

async fn check(
    state: &AppState,
    ctx: &RequestContext,
    scope: Scope,
    params: &RawPathParams,
    method: &Method,
    route: &str,
) -> Result<(), ApiError> {
    let org: Option<OrgId> = path_param(params, "org")?;
    let member: Option<MemberId> = path_param(params, "member")?;
    if let Some(org) = org {
        // 404 for an org that does not exist or is not the caller's, before anything else.
        state.services.orgs.get(ctx, org).await?;
    }
    let access = match scope {
        Scope::Public | Scope::Authenticated => return Ok(()),
        Scope::Member => Access::Member,
        Scope::Admin => Access::Admin,
        Scope::Operator => Access::Operator,
        Scope::SelfOrAdmin => match member {
            Some(member) => Access::AdminOrSelf(member),
            None => Access::Admin,
        },
    };
    match ctx.principal.require(access) {
        Ok(()) => Ok(()),
        Err(denied @ ServiceError::Forbidden(_)) => {
            if let Some(org) = org {
                let detail = json!({ "method": method.as_str(), "route": route, "needs": access.scope() });
                state
                    .services
                    .auditor
                    .record(
                        ctx,
                        org,
                        byob_core::actions::ACCESS_DENIED,
                        Some(route.to_string()),
                        AuditOutcome::Denied,
                        detail,
                    )
                    .await?;
            }
            Err(denied.into())
        }
        Err(other) => Err(other.into()),
    }
}

/// 429 with `Retry-After` (whole seconds, at least one).
fn too_many(limited: &crate::rate::Limited) -> Response {
    let seconds = limited.retry_after.as_secs() + u64::from(limited.retry_after.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let detail = match limited.which {
        "token" => format!("this token sent more requests than its rate allows; retry after {seconds} s"),
        _ => format!("the org's tokens together sent more requests than its rate allows; retry after {seconds} s"),
    };
    let mut response = ApiError::from(Problem::of(byob_core::codes::RATE_LIMITED, detail)).into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}
