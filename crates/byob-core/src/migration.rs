//! Migrations: an org's files moved from one store to another (byob's default storage or an integration), each
//! object copied and verified by SHA-256 on the destination, then the features' routing switched at once (seed
//! 004's move of existing data into the customer's bucket, self-served instead of a support ticket).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{IntegrationId, JobId, MigrationId, OrgId, integration::Feature};

/// The features whose files a migration moves.
pub const MOVABLE: [Feature; 3] = [Feature::Uploads, Feature::Attachments, Feature::Assets];

/// The folders (under the store's prefix) holding a feature's files; none for a feature a migration does not
/// move. Staging writes of assets stay where they are (they end, or the janitor clears them).
#[must_use]
pub fn folders(feature: Feature) -> &'static [&'static str] {
    match feature {
        Feature::Uploads => &["uploads/"],
        Feature::Attachments => &["attachments/"],
        Feature::Assets => &["assets/objects/", "assets/manifests/"],
        Feature::Exports | Feature::Imports => &[],
    }
}

/// Where a migration starts or ends: byob's default storage, or an integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Store {
    Default,
    Integration(IntegrationId),
}

impl Store {
    /// `default`, or an integration id.
    ///
    /// # Errors
    /// What the text should be.
    pub fn parse(field: &str, text: &str) -> Result<Self, crate::location::FieldError> {
        if text == "default" {
            return Ok(Self::Default);
        }
        text.parse().map(Self::Integration).map_err(|_| {
            crate::location::FieldError::new(
                field,
                crate::rules::MIGRATION_STORE,
                format!("`{text}` is neither `default` nor an integration id (`int_…`)"),
            )
        })
    }

    #[must_use]
    pub fn integration(self) -> Option<IntegrationId> {
        match self {
            Self::Default => None,
            Self::Integration(id) => Some(id),
        }
    }
}

impl std::fmt::Display for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::Integration(id) => write!(f, "{id}"),
        }
    }
}

/// Where a migration is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MigrationState {
    /// Listing both sides.
    Planning,
    /// Copying and verifying objects, then catching up with writes made meanwhile.
    Copying,
    /// The last catch-up and the switch: writes of the features answer `migration-switching` (retry shortly).
    Switching,
    /// The features go to the destination now; with `delete_source`, the copied objects are being deleted.
    DeletingSource,
    Completed,
    Failed,
    Cancelled,
}

impl MigrationState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planning => "planning",
            Self::Copying => "copying",
            Self::Switching => "switching",
            Self::DeletingSource => "deleting_source",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the migration still runs (one at a time per org).
    #[must_use]
    pub fn active(self) -> bool {
        matches!(self, Self::Planning | Self::Copying | Self::Switching | Self::DeletingSource)
    }
}

/// An object present on both sides with other content: the migration stops rather than overwrite it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Conflict {
    pub key: String,
    pub message: String,
}

/// What a migration found and did, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MigrationCounts {
    /// Objects to move, found on the source (with catch-up passes).
    pub objects: u64,
    pub bytes: u64,
    /// Copied and verified on the destination.
    pub copied: u64,
    pub bytes_copied: u64,
    /// Already on the destination with the same SHA-256: not copied.
    pub skipped: u64,
    pub conflicts: u64,
    /// Catch-up passes that found writes made during the copy.
    pub catch_up_passes: u64,
    /// Objects deleted from the source after the switch.
    pub deleted_from_source: u64,
}

/// A migration of an org's files between two stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Migration {
    pub id: MigrationId,
    pub org_id: OrgId,
    /// `default` or an integration id.
    pub from: String,
    pub to: String,
    pub features: Vec<Feature>,
    /// Plan and report only: nothing is copied or switched.
    pub dry_run: bool,
    /// Delete the copied objects from the source once the features go to the destination.
    pub delete_source: bool,
    pub state: MigrationState,
    pub job_id: Option<JobId>,
    pub counts: MigrationCounts,
    /// The first conflicts found (at most 100; `counts.conflicts` has them all).
    pub conflicts: Vec<Conflict>,
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub switched_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Migration {
    #[must_use]
    pub fn source(&self) -> Store {
        Store::parse("from", &self.from).unwrap_or(Store::Default)
    }

    #[must_use]
    pub fn destination(&self) -> Store {
        Store::parse("to", &self.to).unwrap_or(Store::Default)
    }
}

/// How many conflicts a migration names.
pub const MAX_CONFLICTS: usize = 100;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stores_are_default_or_an_integration() {
        assert_eq!(Store::parse("from", "default").unwrap(), Store::Default);
        let id = IntegrationId::generate();
        assert_eq!(Store::parse("to", &id.to_string()).unwrap(), Store::Integration(id));
        assert_eq!(Store::parse("to", "s3://x").unwrap_err().rule, "migration-store");
    }

    #[test]
    fn only_file_features_have_folders() {
        for f in MOVABLE {
            assert!(!folders(f).is_empty());
        }
        assert!(folders(Feature::Exports).is_empty());
    }
}
