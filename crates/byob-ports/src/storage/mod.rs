//! Object storage: one adapter per provider, each yielding a [`StorageClient`], the primitive every file flow
//! uses (data access, presigned GET/PUT, presigned multipart), always confined to the integration's prefix.

pub mod azure;
mod azure_delete;
mod azure_sas;
mod checksum;
mod client;
mod error;
pub mod gcs;
pub mod inspect;
mod leftovers;
mod local;
mod parts;
mod put;
pub mod s3;
mod sts;
pub mod vend;
mod writer;

pub use client::{
    Capability, ClientPolicy, ListPage, ListedObject, PartRules, PresignedUrl, ResponseHeaders, RetryPolicy,
    StorageClient,
};
pub use error::StorageError;
pub use leftovers::UnfinishedWrite;
pub use local::{LocalStorageError, local_default_storage, local_storage_client};
pub use put::PutConditions;
pub use sts::{AssumeRole, StsSettings};
pub use writer::ObjectWriter;

use crate::net::NetworkPolicy;

/// Refuses a tenant-named endpoint whose host is a forbidden address literal before any client for it exists
/// (names are checked by the clients' resolver each time they connect).
pub(crate) fn check_endpoint(endpoint: Option<&str>, network: &NetworkPolicy) -> Result<(), StorageError> {
    let Some(endpoint) = endpoint else { return Ok(()) };
    let url = url::Url::parse(endpoint).map_err(|_| StorageError::Config(format!("`{endpoint}` is not a URL")))?;
    Ok(network.check_literal(&url)?)
}

/// HTTP settings every provider client shares: no limit on a whole request (a load streams one object for as long
/// as it takes; object_store's default of 30 s would cut a long download), but a read that stalls for 60 s fails
/// (object_store then resumes the body with a range request), and connecting takes at most 5 s.
pub(crate) fn client_options() -> object_store::ClientOptions {
    object_store::ClientOptions::new()
        .with_timeout_disabled()
        .with_read_timeout(std::time::Duration::from_secs(60))
        .with_connect_timeout(std::time::Duration::from_secs(5))
}
