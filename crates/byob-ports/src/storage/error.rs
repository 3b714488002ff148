use thiserror::Error;

/// What went wrong talking to a bucket, in terms a user can act on.
#[derive(Debug, Clone, Error)]
pub enum StorageError {
    #[error("`{key}` is not a key byob builds: {reason}")]
    InvalidKey { key: String, reason: String },
    #[error("presigned URLs live at most {max_secs} s (operator setting); {requested_secs} s was asked")]
    LifetimeTooLong { requested_secs: u64, max_secs: u64 },
    #[error("{0}")]
    Config(String),
    #[error("the object `{0}` does not exist")]
    NotFound(String),
    #[error("the bucket refused the request for lack of permission: {0}")]
    PermissionDenied(String),
    #[error("storage request failed: {0}")]
    Backend(String),
}

impl From<object_store::Error> for StorageError {
    fn from(err: object_store::Error) -> Self {
        match err {
            object_store::Error::NotFound { path, .. } => Self::NotFound(path),
            object_store::Error::PermissionDenied { path, source }
            | object_store::Error::Unauthenticated { path, source } => {
                Self::PermissionDenied(format!("{path}: {source}"))
            }
            // Bulk deletes report a per-key refusal inside a successful response, which object_store passes on as
            // a generic error naming S3's code.
            other if other.to_string().contains("AccessDenied") => Self::PermissionDenied(other.to_string()),
            other => Self::Backend(other.to_string()),
        }
    }
}
