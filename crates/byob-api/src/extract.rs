//! Extractors whose every rejection is a problem+json naming what to fix.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Query, Request},
    http::{Extensions, HeaderMap, StatusCode, header, request::Parts},
};
use byob_service::RequestContext;
use serde::de::DeserializeOwned;

use crate::{
    AppState,
    problem::{ApiError, Problem},
    request_id::RequestId,
};

/// The authenticated caller. Handlers take it first, so an unauthorised request is refused before its body is
/// read.
#[derive(Debug)]
pub(crate) struct Caller(pub RequestContext);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Normally `authz::authorize` has already authenticated the request.
        if let Some(ctx) = parts.extensions.get::<RequestContext>() {
            return Ok(Self(ctx.clone()));
        }
        Ok(Self(authenticate(&parts.headers, &parts.extensions, state).await?))
    }
}

/// Turns the bearer token into the caller's context.
pub(crate) async fn authenticate(
    headers: &HeaderMap,
    extensions: &Extensions,
    state: &AppState,
) -> Result<RequestContext, ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let principal = state.services.auth.authenticate(bearer).await?;
    let request_id = extensions.get::<RequestId>().map(|r| r.0.clone());
    Ok(RequestContext::new(principal, request_id))
}

/// A JSON body: 415 without a JSON content type, 400 for malformed JSON, 422 naming the field for a wrong or
/// unknown field.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            });
        if !is_json {
            return Err(Problem::of(
                byob_core::codes::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON with `Content-Type: application/json`",
            )
            .into());
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            let status = rejection.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::of(byob_core::codes::PAYLOAD_TOO_LARGE, "the request body exceeds the server's limit")
            } else {
                Problem::of(byob_core::codes::UNREADABLE_BODY, rejection.body_text())
            }
        })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize::<_, T>(&mut de)
            .map_err(|err| body_problem(&err.path().to_string(), &err.into_inner()))?;
        de.end().map_err(|err| body_problem(".", &err))?;
        Ok(Self(value))
    }
}

fn body_problem(path: &str, err: &serde_json::Error) -> ApiError {
    if err.is_syntax() || err.is_eof() {
        return Problem::of(byob_core::codes::MALFORMED_JSON, format!("the body is not valid JSON: {err}")).into();
    }
    if path == "." {
        return Problem::of(
            byob_core::codes::INVALID_BODY,
            format!("the body does not match the expected shape: {err}"),
        )
        .into();
    }
    Problem::of(byob_core::codes::INVALID_BODY, format!("`{path}`: {err}")).with_field(path).into()
}

/// Path parameters (typed ids): 400 `invalid-id` naming the parameter when malformed.
#[derive(Debug)]
pub(crate) struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                let detail = text.strip_prefix("Invalid URL: ").unwrap_or(&text).to_string();
                Err(Problem::of(byob_core::codes::INVALID_ID, detail).into())
            }
        }
    }
}

/// Query parameters: 400 `invalid-query` when malformed or unknown.
#[derive(Debug)]
pub(crate) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                let detail = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text).to_string();
                Err(Problem::of(byob_core::codes::INVALID_QUERY, detail).into())
            }
        }
    }
}
