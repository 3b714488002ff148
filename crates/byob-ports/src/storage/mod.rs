//! Object storage: one adapter per provider, each yielding a [`StorageClient`], the primitive every file flow
//! uses (data access, presigned GET/PUT, presigned multipart), always confined to the integration's prefix.

pub mod azure;
mod client;
mod error;
pub mod gcs;
pub mod inspect;
mod local;
pub mod s3;
mod sts;

pub use client::{PartRules, PresignPolicy, PresignedUrl, StorageClient};
pub use error::StorageError;
pub use local::{LocalStorageError, local_default_storage, local_storage_client};
pub use sts::{AssumeRole, StsSettings};
