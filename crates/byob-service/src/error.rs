//! What can go wrong in a use case, in terms the HTTP layer maps once to problem+json.

use byob_ports::{catalog::CatalogError, secretbox::SecretBoxError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("missing or invalid bearer token")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    /// Also what another org's caller gets, so existence never leaks.
    #[error("{kind} `{id}` does not exist")]
    NotFound { kind: &'static str, id: String },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A field that breaks a named rule (docs/validation.md).
    #[error(transparent)]
    Rule(#[from] byob_core::location::FieldError),
    #[error("{0}")]
    Conflict(String),
    /// Refused because of the state of things (a disabled integration, a feature without a bucket), with a
    /// stable code.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error(transparent)]
    Storage(#[from] byob_ports::storage::StorageError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    SecretBox(#[from] SecretBoxError),
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }

    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        Self::NotFound { kind, id: id.to_string() }
    }
}
