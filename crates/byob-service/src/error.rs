//! What can go wrong in a use case, in terms the HTTP layer maps once to problem+json.

use byob_core::codes::{self, ErrorCode};
use byob_ports::{catalog::CatalogError, secretbox::SecretBoxError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("missing or invalid bearer token")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    /// Also what another org's caller gets, so existence never leaks. The code names the kind of record.
    #[error("{} `{id}` does not exist", .code.missing_kind())]
    NotFound { code: ErrorCode, id: String },
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
    Refused { code: ErrorCode, message: String },
    #[error(transparent)]
    Storage(#[from] byob_ports::storage::StorageError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    SecretBox(#[from] SecretBoxError),
}

impl From<byob_ports::net::NetError> for ServiceError {
    fn from(err: byob_ports::net::NetError) -> Self {
        Self::Refused { code: codes::ADDRESS_NOT_ALLOWED, message: err.to_string() }
    }
}

impl ServiceError {
    /// Checks a destination a tenant names when they name it, for a clear answer then: refused when it resolves
    /// to an address the operator has not allowed. A name that does not resolve yet is accepted; every
    /// connection checks again (`byob_ports::net`).
    ///
    /// # Errors
    /// `address-not-allowed`.
    pub async fn check_destination(network: &byob_ports::net::NetworkPolicy, url: &str) -> Result<(), ServiceError> {
        // Callers pass validated endpoints; anything else has no host to check.
        let Ok(url) = url::Url::parse(url) else { return Ok(()) };
        let Some(host) = url.host_str() else { return Ok(()) };
        Self::check_host(network, host, url.port_or_known_default().unwrap_or(443)).await
    }

    /// As [`Self::check_destination`], for a host and port (a database host).
    ///
    /// # Errors
    /// `address-not-allowed`.
    pub async fn check_host(
        network: &byob_ports::net::NetworkPolicy,
        host: &str,
        port: u16,
    ) -> Result<(), ServiceError> {
        match network.resolve(host, port).await {
            Err(refused @ byob_ports::net::NetError::Refused { .. }) => Err(refused.into()),
            Ok(_) | Err(byob_ports::net::NetError::Unresolvable { .. }) => Ok(()),
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }

    /// A record that does not exist in the org: `code` is its `…-not-found` code.
    pub fn not_found(code: ErrorCode, id: impl ToString) -> Self {
        Self::NotFound { code, id: id.to_string() }
    }
}
