//! Prometheus metrics: requests by route and status, and a latency histogram per route. Routes are labelled
//! by their template (`/v1/orgs/{org}`), never by concrete ids, so no tenant data reaches the metrics.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("byob");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register("http_requests", "HTTP requests answered, by route and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency by route", latency.clone());
        Self { registry, requests, latency }
    }
}

impl Metrics {
    fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

pub(crate) async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    metrics.requests.get_or_create(&RequestLabels { method: method.clone(), route: route.clone(), status }).inc();
    metrics.latency.get_or_create(&RouteLabels { method, route }).observe(started.elapsed().as_secs_f64());
    response
}

/// The janitor's running totals, as OpenMetrics counters (they live in the service, not in the registry).
pub(crate) fn janitor_lines(totals: &byob_service::data::JanitorTotals) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let counters = [
        ("janitor_expired_deleted", "Staged files deleted after their time to live", &totals.expired_deleted),
        (
            "janitor_left_to_lifecycle",
            "Expired staged files left to the bucket's lifecycle rule",
            &totals.left_to_lifecycle,
        ),
        ("janitor_incomplete_aborted", "Uploads aborted after staying incomplete too long", &totals.incomplete_aborted),
        (
            "janitor_export_runs_cleaned",
            "Export runs whose files were deleted (staging TTL passed, or a failed run's leftovers)",
            &totals.export_runs_cleaned,
        ),
        ("janitor_errors", "Staged files the storage failed to delete (retried)", &totals.errors),
    ];
    counters
        .iter()
        .map(|(name, help, value)| {
            format!(
                "# HELP byob_{name} {help}.\n# TYPE byob_{name} counter\nbyob_{name}_total {}\n",
                value.load(Relaxed)
            )
        })
        .collect()
}

pub(crate) async fn serve(State(metrics): State<Arc<Metrics>>, extra: &str) -> Response {
    let mut text = metrics.render();
    // The registry's text ends with `# EOF`; counters kept elsewhere go before it.
    match text.rfind("# EOF") {
        Some(end) => text.insert_str(end, extra),
        None => text.push_str(extra),
    }
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
