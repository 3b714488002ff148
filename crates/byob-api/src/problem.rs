//! RFC 9457 problem details: the one shape of every error byob returns. Errors of every concern are mapped
//! here, once, to a status and a stable code (listed in docs/errors.md).

use axum::{
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
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
    #[must_use]
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
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
        let mut problem = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("byob failed internally; quote error id {error_id} to the operator"),
        );
        problem.error_id = Some(error_id);
        problem
    }

    /// The generic problem for a status produced outside byob's handlers (a layer, the router).
    fn for_status(status: StatusCode) -> Self {
        let (code, detail) = match status {
            StatusCode::NOT_FOUND => ("route-not-found", "no such route; see /v1/openapi.json for the API"),
            StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "this route does not accept that method"),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", "the request body exceeds the server's limit"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "send `Content-Type: application/json`"),
            StatusCode::REQUEST_TIMEOUT => ("request-timeout", "the request took too long; retry later"),
            StatusCode::UNAUTHORIZED => ("unauthenticated", "send `Authorization: Bearer <token>`"),
            s if s.is_server_error() => ("internal", "byob failed internally"),
            _ => ("bad-request", "the request was not understood"),
        };
        Self::new(status, code, detail)
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
            ServiceError::Unauthenticated => Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "missing, unknown, expired or revoked token; send `Authorization: Bearer <token>`",
            ),
            ServiceError::Forbidden(why) => Problem::new(StatusCode::FORBIDDEN, "forbidden", why.clone()),
            ServiceError::NotFound { kind, .. } => {
                let code = format!("{}-not-found", kind.replace(' ', "-").to_ascii_lowercase());
                Problem::new(StatusCode::NOT_FOUND, &code, err.to_string())
            }
            ServiceError::Invalid { field, message } => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation-failed", format!("`{field}` {message}"))
                    .with_field(field.clone())
            }
            ServiceError::Rule(e) => {
                let mut problem = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation-failed",
                    format!("`{}` {}", e.field, e.message),
                )
                .with_field(e.field.clone());
                problem.rule = Some(e.rule.to_string());
                problem
            }
            ServiceError::Conflict(why) => Problem::new(StatusCode::CONFLICT, "conflict", why.clone()),
            ServiceError::Refused { code, message } => Problem::new(refusal_status(code), code, message.clone()),
            ServiceError::Storage(storage) => storage_problem(storage),
            ServiceError::Catalog(byob_ports::catalog::CatalogError::Busy(_)) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "catalog-busy",
                "the catalog is busy with other writes; nothing was changed, retry the request".to_string(),
            ),
            ServiceError::Catalog(_) | ServiceError::SecretBox(_) => Problem::internal(&err),
        };
        Self(Box::new(problem))
    }
}

/// Most refusals are about the state of things (409); these say more precisely what is wrong.
fn refusal_status(code: &str) -> StatusCode {
    match code {
        "upload-too-large" => StatusCode::PAYLOAD_TOO_LARGE,
        "quota-exceeded" => StatusCode::TOO_MANY_REQUESTS,
        "relay-too-slow" => StatusCode::REQUEST_TIMEOUT,
        "content-type-not-allowed" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "upload-token-invalid" | "connection-access-denied" => StatusCode::FORBIDDEN,
        "connection-failed" | "import-list-denied" | "import-read-denied" => StatusCode::BAD_GATEWAY,
        c if c.starts_with("csv-")
            || matches!(c, "upload-size-mismatch" | "address-not-allowed" | "endpoint-not-allowed") =>
        {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        _ => StatusCode::CONFLICT,
    }
}

/// Errors from the customer's bucket: the bucket's answer, not byob's failure.
fn storage_problem(err: &byob_ports::storage::StorageError) -> Problem {
    use byob_ports::storage::StorageError as E;
    let detail = err.to_string();
    match err {
        E::InvalidKey { .. } => Problem::new(StatusCode::BAD_REQUEST, "invalid-key", detail),
        E::LifetimeTooLong { .. } => {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation-failed", detail).with_field("expires_in")
        }
        E::Config(_) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "storage-unusable", detail),
        E::NotFound(_) => Problem::new(StatusCode::NOT_FOUND, "object-not-found", detail),
        E::PermissionDenied(_) | E::CredentialsRejected(_) | E::RoleRefused { .. } | E::ImpersonationRefused(_) => {
            Problem::new(StatusCode::BAD_GATEWAY, "storage-permission-denied", detail)
        }
        E::Backend(_) => Problem::new(StatusCode::BAD_GATEWAY, "storage-unavailable", detail),
        E::AddressRefused(_) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "address-not-allowed", detail),
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
        let p = Problem::new(StatusCode::BAD_GATEWAY, "x", "https://h/b/k?sig=SECRET&sv=1 refused");
        assert_eq!(p.detail, "https://h/b/k?[redacted] refused");
    }
}
