//! RFC 9457 problem details: the one shape of every error byob returns. Errors of every concern are mapped
//! here, once, to a status and a stable code (listed in docs/errors.md).

use axum::{
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use byob_core::codes::{self, ErrorCode};
use byob_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::request_id::RequestId;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:byob:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What was wrong and how to fix it.
    pub detail: String,
    /// Stable machine-readable code, e.g. `validation-failed`.
    pub code: String,
    /// The request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The offending field, as a JSON path or parameter name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The rule the field breaks, for location and credential fields (docs/validation.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For internal errors: the id under which the cause was logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
}

impl Problem {
    /// A problem with one of byob's stable codes, at the code's status.
    #[must_use]
    pub fn of(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code.as_str(),
            detail,
        )
    }

    fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:byob:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            // Every error detail a caller sees: no URL's query (a presigned signature, a SAS) goes with it.
            detail: byob_core::redact::url_queries_in(detail.into()),
            code: code.to_string(),
            instance: None,
            field: None,
            rule: None,
            request_id: None,
            error_id: None,
        }
    }

    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// A 500 whose cause is logged under a fresh error id and never shown.
    #[must_use]
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        let error_id = byob_core::id::new_error_id();
        tracing::error!(error_id = %error_id, error = %cause, "internal error");
        let mut problem =
            Self::of(codes::INTERNAL, format!("byob failed internally; quote error id {error_id} to the operator"));
        problem.error_id = Some(error_id);
        problem
    }

    /// The generic problem for a status produced outside byob's handlers (a layer, the router).
    fn for_status(status: StatusCode) -> Self {
        let (code, detail) = match status {
            StatusCode::NOT_FOUND => (codes::ROUTE_NOT_FOUND, "no such route; see /v1/openapi.json for the API"),
            StatusCode::METHOD_NOT_ALLOWED => (codes::METHOD_NOT_ALLOWED, "this route does not accept that method"),
            StatusCode::PAYLOAD_TOO_LARGE => (codes::PAYLOAD_TOO_LARGE, "the request body exceeds the server's limit"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                (codes::UNSUPPORTED_MEDIA_TYPE, "send `Content-Type: application/json`")
            }
            StatusCode::REQUEST_TIMEOUT => (codes::REQUEST_TIMEOUT, "the request took too long; retry later"),
            StatusCode::UNAUTHORIZED => (codes::UNAUTHENTICATED, "send `Authorization: Bearer <token>`"),
            s if s.is_server_error() => (codes::INTERNAL, "byob failed internally"),
            _ => (codes::BAD_REQUEST, "the request was not understood"),
        };
        // The status the layer produced stands (a 502 from a proxy stays a 502).
        Self::new(status, code.as_str(), detail)
    }
}

/// What handlers return on failure (boxed: results stay small on the success path).
#[derive(Debug)]
pub struct ApiError(pub Box<Problem>);

pub type ApiResult<T> = Result<T, ApiError>;

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        Self(Box::new(problem))
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        let problem = match &err {
            ServiceError::Unauthenticated => Problem::of(
                codes::UNAUTHENTICATED,
                "missing, unknown, expired or revoked token; send `Authorization: Bearer <token>`",
            ),
            ServiceError::Forbidden(why) => Problem::of(codes::FORBIDDEN, why.clone()),
            ServiceError::NotFound { code, .. } => Problem::of(*code, err.to_string()),
            ServiceError::Invalid { field, message } => {
                Problem::of(codes::VALIDATION_FAILED, format!("`{field}` {message}")).with_field(field.clone())
            }
            ServiceError::Rule(e) => {
                let mut problem = Problem::of(codes::VALIDATION_FAILED, format!("`{}` {}", e.field, e.message))
                    .with_field(e.field.clone());
                problem.rule = Some(e.rule.to_string());
                problem
            }
            ServiceError::Conflict(why) => Problem::of(codes::CONFLICT, why.clone()),
            ServiceError::Refused { code, message } => Problem::of(*code, message.clone()),
            ServiceError::Storage(storage) => storage_problem(storage),
            ServiceError::Catalog(byob_ports::catalog::CatalogError::Busy(_)) => Problem::of(
                codes::CATALOG_BUSY,
                "the catalog is busy with other writes; nothing was changed, retry the request",
            ),
            ServiceError::Catalog(_) | ServiceError::SecretBox(_) => Problem::internal(&err),
        };
        Self(Box::new(problem))
    }
}

/// Errors from the customer's bucket: the bucket's answer, not byob's failure.
fn storage_problem(err: &byob_ports::storage::StorageError) -> Problem {
    use byob_ports::storage::StorageError as E;
    let detail = err.to_string();
    match err {
        E::InvalidKey { .. } => Problem::of(codes::INVALID_KEY, detail),
        E::LifetimeTooLong { .. } => Problem::of(codes::VALIDATION_FAILED, detail).with_field("expires_in"),
        E::Config(_) => Problem::of(codes::STORAGE_UNUSABLE, detail),
        E::NotFound(_) => Problem::of(codes::OBJECT_NOT_FOUND, detail),
        E::PermissionDenied(_) | E::CredentialsRejected(_) | E::RoleRefused { .. } | E::ImpersonationRefused(_) => {
            Problem::of(codes::STORAGE_PERMISSION_DENIED, detail)
        }
        E::Backend(_) => Problem::of(codes::STORAGE_UNAVAILABLE, detail),
        E::AddressRefused(_) => Problem::of(codes::ADDRESS_NOT_ALLOWED, detail),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        // Rendered by `render_problems`, which knows the request id and path.
        response.extensions_mut().insert(*self.0);
        response
    }
}

/// Outermost error middleware: renders handler problems with the request id and path, and turns any other
/// error response (router 404/405, body-limit 413, timeout, panic) into problem+json too.
pub async fn render_problems(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let request_id = request.extensions().get::<RequestId>().map(|r| r.0.clone());
    let mut response = next.run(request).await;
    let status = response.status();
    let problem = match response.extensions_mut().remove::<Problem>() {
        Some(problem) => problem,
        None if status.is_client_error() || status.is_server_error() => {
            let is_problem = response
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
            if is_problem {
                return response;
            }
            Problem::for_status(status)
        }
        None => return response,
    };
    let mut problem = problem;
    problem.instance = Some(path);
    problem.request_id = request_id;
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let (mut parts, _) = response.into_parts();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_detail_never_carries_a_url_query() {
        let p = Problem::of(codes::STORAGE_UNAVAILABLE, "https://h/b/k?sig=SECRET&sv=1 refused");
        assert_eq!(p.detail, "https://h/b/k?[redacted] refused");
    }
}
