//! Domain types shared by every byob layer. Nothing here does I/O.
#![deny(missing_debug_implementations)]

pub mod actions;
pub mod asset;
pub mod attachment;
pub mod codes;
pub mod config;
pub mod connection;
pub mod event;
pub mod export;
pub mod id;
pub mod import;
pub mod integration;
pub mod job;
pub mod location;
pub mod migration;
pub mod model;
pub mod network;
pub mod random;
pub mod redact;
pub mod rules;
pub mod sensitive;
pub mod table;
pub mod tsql;
pub mod upload;

pub use id::{
    AttachmentId, AuditId, ConnectionId, DeliveryId, EventId, ExportId, IdError, ImportId, IntegrationId, JobId,
    MemberId, MigrationId, OrgId, SecretId, TokenId, UploadId, VerificationId, WebhookId,
};
pub use model::{Actor, AuditEntry, AuditOutcome, Member, Org, Role, SecretMeta, TokenMeta};
pub use sensitive::Sensitive;
