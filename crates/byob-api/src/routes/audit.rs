use axum::{Json, extract::State};
use byob_core::{AuditEntry, AuditId, AuditOutcome, OrgId};
use byob_ports::catalog::AuditFilter;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Listing, page};
use crate::{
    AppState,
    extract::{ApiPath, ApiQuery, Caller},
    problem::ApiResult,
};

/// Filters and paging of the audit trail; entries come newest first.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Exact action, e.g. `member.create`.
    action: Option<String>,
    /// `operator`, `system` or a member id.
    actor: Option<String>,
    /// The id acted on.
    target: Option<String>,
    outcome: Option<AuditOutcome>,
    /// Entries at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Entries before this time (RFC 3339). A window with `until` <= `since` is empty.
    until: Option<DateTime<Utc>>,
    /// Items per page, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^aud_[0-9a-hjkmnp-tv-z]{26}$")]
    cursor: Option<String>,
}

/// The org's audit trail (admins).
#[utoipa::path(get, operation_id = "list_audit", path = "/v1/orgs/{org}/audit", tag = "audit", security(("bearer" = ["admin"])),
    params(("org" = OrgId, Path), AuditQuery), responses((status = 200, description = "Success", body = Listing<AuditEntry>)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    ApiPath(org): ApiPath<OrgId>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Listing<AuditEntry>>> {
    let page = page::<AuditId>(q.limit, q.cursor.as_deref())?;
    let filter = AuditFilter {
        action: q.action,
        actor: q.actor,
        target: q.target,
        outcome: q.outcome,
        since: q.since,
        until: q.until,
    };
    let limit = page.limit;
    let items = state.services.audit.list(&ctx, org, filter, page).await?;
    Ok(Json(Listing::new(items, limit, |e| e.id.to_string())))
}
