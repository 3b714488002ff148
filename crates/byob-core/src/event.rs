//! Events (what happened to an org's integrations, for people and machines) and the webhook endpoints that
//! receive them, with each delivery's log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::{DeliveryId, EventId, OrgId, SecretId, WebhookId};

/// The event types, one constant each (docs/events.md describes each and its payload).
pub const VERIFICATION_COMPLETED: &str = "verification-completed";
pub const INTEGRATION_STATE_CHANGED: &str = "integration-state-changed";
pub const CHECK_DRIFTED: &str = "check-drifted";
pub const CHECK_RECOVERED: &str = "check-recovered";
pub const CREDENTIAL_EXPIRING: &str = "credential-expiring";
pub const CREDENTIAL_EXPIRED: &str = "credential-expired";
pub const WEBHOOK_TEST: &str = "webhook-test";
pub const EXPORT_SUCCEEDED: &str = "export-succeeded";
pub const EXPORT_FAILED: &str = "export-failed";
pub const ATTACHMENT_AVAILABLE: &str = "attachment-available";
pub const ATTACHMENT_REJECTED: &str = "attachment-rejected";
pub const ASSET_TAMPERED: &str = "asset-tampered";
pub const MIGRATION_COMPLETED: &str = "migration-completed";
pub const MIGRATION_FAILED: &str = "migration-failed";

/// Every event type byob emits.
pub const EVENT_TYPES: [&str; 14] = [
    VERIFICATION_COMPLETED,
    INTEGRATION_STATE_CHANGED,
    CHECK_DRIFTED,
    CHECK_RECOVERED,
    CREDENTIAL_EXPIRING,
    CREDENTIAL_EXPIRED,
    WEBHOOK_TEST,
    EXPORT_SUCCEEDED,
    EXPORT_FAILED,
    ATTACHMENT_AVAILABLE,
    ATTACHMENT_REJECTED,
    ASSET_TAMPERED,
    MIGRATION_COMPLETED,
    MIGRATION_FAILED,
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub id: EventId,
    pub org_id: OrgId,
    /// One of [`EVENT_TYPES`].
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    /// The type's own fields (e.g. `integration`, `check`, `expires_at`).
    pub payload: Value,
}

/// An admin-registered endpoint. Its signing secret is shown once, at creation, and kept encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    pub id: WebhookId,
    pub org_id: OrgId,
    pub url: String,
    /// Event types delivered; empty means all.
    pub event_types: Vec<String>,
    #[serde(skip)]
    pub secret_id: Option<SecretId>,
    pub created_at: DateTime<Utc>,
}

impl Webhook {
    #[must_use]
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types.is_empty() || self.event_types.iter().any(|t| t == event_type)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    Delivered,
    /// Given up after the last attempt.
    Failed,
}

impl DeliveryStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One event on its way to one endpoint: the delivery log's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    pub id: DeliveryId,
    pub org_id: OrgId,
    pub webhook_id: WebhookId,
    pub event_id: EventId,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod contract_tests {
    #[test]
    fn every_event_type_is_documented_and_every_documented_type_exists() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/events.md");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut documented: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("| `"))
            .filter_map(|l| l.trim_start_matches("| `").split('`').next())
            .filter(|t| !t.contains('.') && !t.contains(' '))
            .collect();
        documented.sort_unstable();
        let mut all = super::EVENT_TYPES.to_vec();
        all.sort_unstable();
        assert_eq!(documented, all, "docs/events.md's table");
    }
}
