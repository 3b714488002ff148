//! Object storage. The provider adapters for customer buckets arrive with integrations; what the server needs
//! from the start is the platform-owned default storage, a local directory unless configured otherwise.

mod local;

pub use local::{LocalStorageError, local_default_storage};
