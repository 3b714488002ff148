//! Where a customer's data lives and how byob reaches it, validated without any I/O. Every rejection is a
//! [`FieldError`] naming the field, a stable rule code (listed in docs/validation.md) and what to fix.

mod arn;
mod bucket;
mod endpoint;
mod prefix;
mod provider;
mod region;
mod sas;
mod service_account;

use std::fmt;

pub use arn::{KmsKeyArn, Partition, RoleArn};
pub use bucket::{BucketName, BucketNaming};
pub use endpoint::{Endpoint, HttpPolicy};
pub use prefix::{Prefix, check_existing_key};
pub use provider::Provider;
pub use region::{Region, RegionShape};
pub use sas::{SasKind, SasToken};
pub use service_account::ServiceAccountKey;

/// A rejected input: which field, which rule, and how to fix it. Built only by [`FieldError::new`] (so every rule
/// comes from [`crate::rules`]); read freely.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldError {
    pub field: String,
    /// Stable kebab-case rule code, e.g. `bucket-name-length`.
    pub rule: &'static str,
    pub message: String,
}

impl FieldError {
    /// `rule` is one of [`crate::rules`], so every rule byob reports is in the one list docs are checked against.
    pub fn new(field: &str, rule: crate::rules::Rule, message: impl Into<String>) -> Self {
        Self { field: field.to_string(), rule: rule.as_str(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.rule)
    }
}

impl std::error::Error for FieldError {}

/// Whether `text` is a dotted-quad IPv4 address (bucket names must not look like one).
pub(crate) fn looks_like_ipv4(text: &str) -> bool {
    text.parse::<std::net::Ipv4Addr>().is_ok()
}
