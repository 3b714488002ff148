use std::sync::Arc;

use byob_ports::catalog::Catalog;
use byob_service::Services;

use crate::{authz::RoutePolicy, metrics::Metrics};

/// Limits the HTTP layer enforces.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    pub max_body_bytes: usize,
    pub request_timeout: std::time::Duration,
    /// Requests per second per API token and per org (0: no limit).
    pub token_requests_per_second: u32,
    pub org_requests_per_second: u32,
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub services: Services,
    pub catalog: Arc<dyn Catalog>,
    pub metrics: Arc<Metrics>,
    pub limits: HttpLimits,
    /// Filled in by [`crate::app`] from the OpenAPI document.
    pub(crate) policy: RoutePolicy,
    pub(crate) rates: crate::rate::RateLimits,
}

impl AppState {
    #[must_use]
    pub fn new(services: Services, catalog: Arc<dyn Catalog>, metrics: Arc<Metrics>, limits: HttpLimits) -> Self {
        let rates = crate::rate::RateLimits::new(limits.token_requests_per_second, limits.org_requests_per_second);
        Self { services, catalog, metrics, limits, policy: RoutePolicy::default(), rates }
    }
}

impl axum::extract::FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}
