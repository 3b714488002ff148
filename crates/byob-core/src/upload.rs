//! Uploads: files a browser or the CLI sends straight to the bucket through presigned URLs, staged there until
//! they are loaded or their time to live passes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{IntegrationId, JobId, OrgId, UploadId};

/// How the bytes reach the bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transfer {
    /// One presigned PUT.
    Single,
    /// The provider's multipart upload (S3 upload id, Azure block list, GCS resumable session).
    Multipart {
        #[serde(skip)]
        session: String,
        part_size: u64,
        part_count: u32,
    },
    /// Parts sent to byob itself, for storage that has no URLs to hand out (a local directory). The URLs carry
    /// a per-upload token whose hash is kept here.
    Relay {
        part_size: u64,
        part_count: u32,
        #[serde(skip)]
        token_hash: String,
        /// When the part URLs stop working (refresh them for new ones).
        token_expires_at: DateTime<Utc>,
    },
}

impl Transfer {
    #[must_use]
    pub fn part_size(&self) -> Option<u64> {
        match self {
            Self::Single => None,
            Self::Multipart { part_size, .. } | Self::Relay { part_size, .. } => Some(*part_size),
        }
    }

    #[must_use]
    pub fn part_count(&self) -> u32 {
        match self {
            Self::Single => 1,
            Self::Multipart { part_count, .. } | Self::Relay { part_count, .. } => *part_count,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// Waiting for the bytes.
    Pending,
    /// Complete and checked; may be loaded.
    Uploaded,
    Aborted,
}

impl UploadState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Uploaded => "uploaded",
            Self::Aborted => "aborted",
        }
    }

    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Uploaded, Self::Aborted].into_iter().find(|s| s.as_str() == text)
    }
}

/// The purpose of the upload sessions that carry attachments' bytes: byob's own (users' purposes cannot start
/// with `byob:`), hidden from the uploads API.
pub const ATTACHMENT_PURPOSE: &str = "byob:attachment";
/// The purpose of the upload sessions that carry an asset's bytes through an upload plan.
pub const ASSET_PURPOSE: &str = "byob:asset";
/// The prefix of byob's own purposes: their uploads are reached only through what they carry.
pub const RESERVED_PURPOSE_PREFIX: &str = "byob:";

/// What became of the staged object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Staged {
    /// In the bucket (or not yet written).
    Present,
    /// Deleted by byob after a successful load.
    DeletedAfterLoad,
    /// Deleted by the janitor when its time to live passed.
    Expired,
    /// Deleted when the upload was aborted.
    DeletedOnAbort,
    /// byob may not delete in this bucket; the bucket's lifecycle rule removes it.
    LeftToLifecycle,
    /// Kept as an attachment's object, until the attachment is deleted.
    Attachment,
    /// Copied into the asset store under its hash, then deleted.
    Asset,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Upload {
    pub id: UploadId,
    pub org_id: OrgId,
    /// The name as given.
    pub filename: String,
    /// Size in bytes, declared at creation and checked at completion.
    pub size: u64,
    pub content_type: String,
    /// What the file is for (`csv-load`, `attachment`, …): free text for the platform's own bookkeeping.
    pub purpose: String,
    /// The integration holding the object; `None` for the default storage.
    pub integration_id: Option<IntegrationId>,
    /// The key under the storage's prefix: `uploads/{yyyy}/{mm}/{dd}/{id}/{sanitised filename}`.
    pub key: String,
    pub transfer: Transfer,
    pub state: UploadState,
    pub staged: Staged,
    /// When the janitor may delete the staged object.
    pub expires_at: DateTime<Utc>,
    /// Where rejected rows of the last load were written, next to the upload.
    pub rejected_key: Option<String>,
    pub load_job: Option<JobId>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A file name reduced to characters that are safe in every provider's keys: letters, digits, `.`, `-`, `_`;
/// anything else becomes `_`, leading dots are dropped, and the result is at most 100 characters (keeping the
/// extension). Never empty.
#[must_use]
pub fn sanitise_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut safe: String =
        base.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    safe = safe.trim_start_matches('.').to_string();
    if safe.len() > 100 {
        let ext = safe.rfind('.').map(|i| safe[i..].to_string()).filter(|e| e.len() <= 16).unwrap_or_default();
        safe = format!("{}{ext}", &safe[..100 - ext.len()]);
    }
    if safe.is_empty() || safe.chars().all(|c| c == '_' || c == '.') { "file".to_string() } else { safe }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::sanitise_filename;

    #[test]
    fn filenames_become_safe_keys() {
        assert_eq!(sanitise_filename("Q3 sales (final).csv"), "Q3_sales__final_.csv");
        assert_eq!(sanitise_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitise_filename("C:\\Users\\me\\data.csv"), "data.csv");
        assert_eq!(sanitise_filename(".."), "file");
        assert_eq!(sanitise_filename(".hidden"), "hidden");
        assert_eq!(sanitise_filename("données.csv"), "donn_es.csv");
        let long = format!("{}.csv", "a".repeat(300));
        let safe = sanitise_filename(&long);
        assert_eq!(safe.len(), 100);
        assert!(safe.ends_with(".csv"));
    }
}
