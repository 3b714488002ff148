//! The local-directory default storage (development and single-host deployments).

use std::{path::Path, sync::Arc};

use byob_core::location::Prefix;
use object_store::{ObjectStore, local::LocalFileSystem};
use thiserror::Error;

use super::{StorageClient, leftovers::LocalLeftovers};

#[derive(Debug, Error)]
#[error("default storage directory {path}: {reason}")]
pub struct LocalStorageError {
    path: String,
    reason: String,
}

/// Opens (creating it if needed) the directory that backs the default storage.
///
/// # Errors
/// When the directory cannot be created or opened.
pub fn local_default_storage(dir: &Path) -> Result<Arc<dyn ObjectStore>, LocalStorageError> {
    let err = |reason: String| LocalStorageError { path: dir.display().to_string(), reason };
    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    let store = LocalFileSystem::new_with_prefix(dir).map_err(|e| err(e.to_string()))?;
    Ok(Arc::new(store))
}

/// The local default storage as a storage client. It cannot presign: byob moves the bytes itself.
///
/// # Errors
/// When the directory cannot be created or opened.
pub fn local_storage_client(dir: &Path) -> Result<StorageClient, LocalStorageError> {
    let store = local_default_storage(dir)?;
    // object_store resolves the directory the same way, so staging files are found under the same root.
    let root = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    Ok(StorageClient::without_urls(
        store,
        Prefix::default(),
        "a local directory has no URLs to hand out; byob moves the bytes itself",
    )
    .with_leftovers(Arc::new(LocalLeftovers { root })))
}
