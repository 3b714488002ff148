use byob_core::redact::url_queries;
use thiserror::Error;

/// What went wrong talking to a bucket, in terms a user can act on. Shown without any URL's query string: the
/// HTTP clients' errors quote the URL they called, presigned signature or SAS token included.
#[derive(Debug, Clone, Error)]
pub enum StorageError {
    #[error("`{key}` is not a key byob builds: {reason}")]
    InvalidKey { key: String, reason: String },
    #[error("presigned URLs live at most {max_secs} s (operator setting); {requested_secs} s was asked")]
    LifetimeTooLong { requested_secs: u64, max_secs: u64 },
    #[error("{}", url_queries(.0))]
    Config(String),
    #[error("the object `{0}` does not exist")]
    NotFound(String),
    #[error("the bucket refused the request for lack of permission: {}", url_queries(.0))]
    PermissionDenied(String),
    /// STS refused byob's principal the customer's role. AWS gives one answer for an untrusted principal, a wrong
    /// external id and a role that does not exist, so the message names all three.
    #[error(
        "STS refused byob's sts:AssumeRole on `{role_arn}` ({detail}): the role's trust policy does not name byob's \
         principal, or its sts:ExternalId condition is not this integration's external id, or the role does not exist"
    )]
    RoleRefused { role_arn: String, detail: String },
    /// The store does not accept the credentials themselves (an unknown key id, a wrong secret or account key, a
    /// SAS whose signature does not match): not a missing permission, so no grant would help.
    #[error(
        "the store does not accept the credentials ({0}): the key id, secret or account key is wrong, or was rotated \
         or deleted"
    )]
    CredentialsRejected(String),
    /// Google IAM refused byob the customer's service account (impersonation): the grant to add is named.
    #[error("{0}")]
    ImpersonationRefused(String),
    #[error("storage request failed: {}", url_queries(.0))]
    Backend(String),
    /// The endpoint resolves to an address byob does not connect to on a tenant's behalf.
    #[error("{0}")]
    AddressRefused(String),
}

impl From<crate::net::NetError> for StorageError {
    fn from(err: crate::net::NetError) -> Self {
        Self::AddressRefused(err.to_string())
    }
}

impl From<object_store::Error> for StorageError {
    fn from(err: object_store::Error) -> Self {
        match err {
            object_store::Error::NotFound { path, .. } => Self::NotFound(path),
            object_store::Error::PermissionDenied { path, source }
            | object_store::Error::Unauthenticated { path, source } => match source.downcast_ref::<Self>() {
                // The credential provider's own refusal (STS refusing the role), passed through object_store.
                Some(own @ (Self::RoleRefused { .. } | Self::ImpersonationRefused(_))) => own.clone(),
                _ => {
                    let text = format!("{path}: {source}");
                    Self::refusal(crate::net::vendor_code(&text).as_deref(), without_remote_body(&text))
                }
            },
            // Bulk deletes report a per-key refusal inside a successful response, which object_store passes on as
            // a generic error naming S3's code.
            other if other.to_string().contains("AccessDenied") => {
                Self::PermissionDenied(without_remote_body(&other.to_string()))
            }
            // A refusal by the network policy, found in the error's chain (the resolver's error is its source).
            other => match refused_address(&other) {
                Some(refused) => Self::AddressRefused(refused),
                None => Self::Backend(without_remote_body(&other.to_string())),
            },
        }
    }
}

/// object_store quotes the server's answer after its status (`… status code: 403 Forbidden: <body>`): the body
/// goes to the log (`crate::net::logged_body`), the message keeps the status and the vendor's code.
fn without_remote_body(text: &str) -> String {
    const MARK: &str = "status code: ";
    let Some(at) = text.find(MARK) else { return text.to_string() };
    let rest = &text[at + MARK.len()..];
    match rest.split_once(": ") {
        Some((status, body)) => format!("{}{status}{}", &text[..at + MARK.len()], crate::net::logged_body(body)),
        None => text.to_string(),
    }
}

/// Codes with which S3, Azure and S3-compatible stores reject the credentials themselves.
const REJECTED_CREDENTIALS: [&str; 6] = [
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AuthenticationFailed",
    "InvalidAuthenticationInfo",
    "InvalidToken",
    "ExpiredToken",
];

impl StorageError {
    /// A 401 or 403: the credentials rejected outright when the store's code says so, a missing permission
    /// otherwise.
    #[must_use]
    pub fn refusal(code: Option<&str>, detail: String) -> Self {
        match code {
            Some(code) if REJECTED_CREDENTIALS.contains(&code) => Self::CredentialsRejected(code.to_string()),
            _ => Self::PermissionDenied(detail),
        }
    }

    /// The store's own error code of a refusal (`AccessDenied`, `AuthorizationFailure`…), where its answer had one.
    #[must_use]
    pub fn store_code(&self) -> Option<&str> {
        match self {
            Self::CredentialsRejected(code) => Some(code),
            // `… 403 Forbidden (CODE; the response is in byob's log …)`, as `crate::net::logged_body` wrote it.
            Self::PermissionDenied(detail) => {
                let before = &detail[..detail.find("; the response is in byob's log")?];
                Some(&before[before.rfind(" (")? + 2..])
            }
            _ => None,
        }
    }

    /// A request byob's own HTTP client could not make: refused by the network policy, or failed.
    #[must_use]
    pub fn request(err: reqwest::Error) -> Self {
        match refused_address(&err) {
            Some(refused) => Self::AddressRefused(refused),
            None => Self::Backend(err.to_string()),
        }
    }
}

pub(crate) use crate::net::refusal_in as refused_address;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_the_stores_code() {
        let quoted = "k: Error performing PUT http://h/b/k in 2ms - Server returned non-2xx status code: 403 \
                      Forbidden: <Error><Code>AuthorizationFailure</Code></Error>";
        let err = StorageError::PermissionDenied(without_remote_body(quoted));
        assert_eq!(err.store_code(), Some("AuthorizationFailure"));
        assert_eq!(StorageError::PermissionDenied("reading: Access Denied".into()).store_code(), None);
        let rejected = StorageError::refusal(Some("InvalidAccessKeyId"), "x".into());
        assert!(matches!(rejected, StorageError::CredentialsRejected(ref c) if c == "InvalidAccessKeyId"));
        assert!(matches!(StorageError::refusal(Some("AccessDenied"), "x".into()), StorageError::PermissionDenied(_)));
    }

    #[test]
    fn remote_bodies_are_logged_not_shown() {
        let quoted = "Error performing PUT http://h/b/k in 2ms - Server returned non-2xx status code: 403 Forbidden: \
                      <Error><Code>AccessDenied</Code><Message>internal-secret</Message></Error>";
        let shown = without_remote_body(quoted);
        assert!(
            shown.contains("status code: 403 Forbidden (AccessDenied; the response is in byob's log under err_"),
            "{shown}"
        );
        assert!(!shown.contains("internal-secret"), "{shown}");
        assert_eq!(without_remote_body("plain failure"), "plain failure");
    }

    #[test]
    fn storage_errors_never_show_a_url_query() {
        let quoted = "error sending request for url (http://127.0.0.1:9/b/k?X-Amz-Signature=SECRET)".to_string();
        for e in [
            StorageError::Backend(quoted.clone()),
            StorageError::PermissionDenied(quoted.clone()),
            StorageError::Config(quoted),
        ] {
            let shown = e.to_string();
            assert!(!shown.contains("SECRET") && shown.contains("http://127.0.0.1:9/b/k?[redacted]"), "{shown}");
        }
    }
}
