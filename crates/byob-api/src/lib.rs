//! byob's HTTP API: routes, authentication, problem+json errors, request ids, metrics and the OpenAPI document.

mod authz;
mod console;
mod extract;
pub mod listener;
mod metrics;
pub mod openapi;
pub mod problem;
mod rate;
mod request_id;
mod routes;
mod state;

use axum::{Router, extract::DefaultBodyLimit, http::StatusCode, middleware};
use tower_http::{
    catch_panic::CatchPanicLayer,
    limit::RequestBodyLimitLayer,
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use metrics::Metrics;
pub use state::{AppState, HttpLimits};

/// The OpenAPI document of this build, as served at `/v1/openapi.json`.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = routes::all().split_for_parts();
    doc.merge(routes::relay().split_for_parts().1);
    doc.merge(routes::streams().split_for_parts().1);
    openapi::finish(doc)
}

/// The whole application: routes and the layers every request passes through (outermost first): request id,
/// problem rendering, tracing, metrics, panic catching, timeout, body limit.
pub fn app(mut state: AppState) -> Router {
    let limits = state.limits.clone();
    let (router, mut doc) = routes::all().split_for_parts();
    let (relay, relay_doc) = routes::relay().split_for_parts();
    doc.merge(relay_doc);
    let (streams, streams_doc) = routes::streams().split_for_parts();
    doc.merge(streams_doc);
    let doc = openapi::finish(doc);
    state.policy = authz::RoutePolicy::from_openapi(&doc);
    let doc = serde_json::to_value(&doc).unwrap_or_default();
    let streams = streams.route_layer(middleware::from_fn_with_state(state.clone(), authz::authorize));
    router
        .route_layer(middleware::from_fn_with_state(state.clone(), authz::authorize))
        .route("/v1/openapi.json", axum::routing::get(move || async move { axum::Json(doc) }))
        .merge(console::router())
        .fallback(|| async { StatusCode::NOT_FOUND })
        .method_not_allowed_fallback(|| async { StatusCode::METHOD_NOT_ALLOWED })
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout))
        .merge(relay)
        .merge(streams)
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn_with_state(state.metrics.clone(), metrics::track))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::extract::Request| {
                    let request_id =
                        request.extensions().get::<request_id::RequestId>().map(|r| r.0.as_str()).unwrap_or("");
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(middleware::from_fn(problem::render_problems))
        .layer(middleware::from_fn(request_id::assign))
        .with_state(state)
}

pub(crate) fn base_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
}
