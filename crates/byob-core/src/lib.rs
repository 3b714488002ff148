//! Domain types shared by every byob layer. Nothing here does I/O.
#![deny(missing_debug_implementations)]

pub mod config;
pub mod event;
pub mod id;
pub mod integration;
pub mod location;
pub mod model;
pub mod random;
pub mod sensitive;

pub use id::{
    AuditId, DeliveryId, EventId, IdError, IntegrationId, MemberId, OrgId, SecretId, TokenId, VerificationId, WebhookId,
};
pub use model::{Actor, AuditEntry, AuditOutcome, Member, Org, Role, SecretMeta, TokenMeta};
pub use sensitive::Sensitive;
