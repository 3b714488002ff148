use std::sync::Arc;

use byob_ports::catalog::Catalog;
use byob_service::Services;

use crate::{authz::RoutePolicy, metrics::Metrics};

/// Limits the HTTP layer enforces.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    pub max_body_bytes: usize,
    pub request_timeout: std::time::Duration,
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
}

impl AppState {
    #[must_use]
    pub fn new(services: Services, catalog: Arc<dyn Catalog>, metrics: Arc<Metrics>, limits: HttpLimits) -> Self {
        Self { services, catalog, metrics, limits, policy: RoutePolicy::default() }
    }
}

impl axum::extract::FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}
