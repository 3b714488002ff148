//! Ports: the traits byob's services depend on, and one implementation per backend.
//!
//! - [`catalog`]: where byob keeps its own records (SQLite by default, PostgreSQL for scale-out).
//! - [`secretbox`]: encryption of secrets at rest.
//! - [`storage`]: object storage (the local-directory default storage for now).
//! - [`warehouse`]: the embedded SQLite warehouse.
//! - [`net`]: where byob may connect on a tenant's behalf.
//! - [`clock`]: time, replaceable in tests.

pub mod catalog;
pub mod clock;
pub mod net;
pub mod secretbox;
pub mod storage;
pub mod warehouse;
