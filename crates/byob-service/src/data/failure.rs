//! How a job's failure is told: storage, catalog and platform errors mapped to stable codes, transient ones
//! marked for retry.

use byob_ports::{storage::StorageError, warehouse::WarehouseError};

use super::connections::warehouse_error;
use crate::{ServiceError, jobs::JobFailure};

pub(crate) fn storage_failure(e: StorageError) -> JobFailure {
    match e {
        StorageError::Backend(m) => JobFailure::retryable("storage-unavailable", m),
        StorageError::NotFound(m) => JobFailure::new("upload-object-missing", format!("the staged file is gone: {m}")),
        other => JobFailure::new("storage-refused", other.to_string()),
    }
}

/// `generic` is the code of anything without a more precise one.
pub(crate) fn service_failure(e: ServiceError, generic: &'static str) -> JobFailure {
    match e {
        ServiceError::Storage(s) => storage_failure(s),
        ServiceError::Refused { code, message } => JobFailure::new(code.as_str(), message),
        ServiceError::NotFound { code, id } => {
            JobFailure::new("not-found", format!("{} `{id}` no longer exists", code.missing_kind()))
        }
        ServiceError::Catalog(c) => JobFailure::retryable("catalog-unavailable", c.to_string()),
        other => JobFailure::new(generic, other.to_string()),
    }
}

pub(crate) fn platform_failure(e: WarehouseError, generic: &'static str) -> JobFailure {
    match warehouse_error(e) {
        ServiceError::Refused { code: byob_core::codes::CONNECTION_FAILED, message } => {
            JobFailure::retryable("connection-failed", message)
        }
        ServiceError::Refused { code, message } => JobFailure::new(code.as_str(), message),
        other => JobFailure::new(generic, other.to_string()),
    }
}
