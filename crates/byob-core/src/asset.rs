//! Assets: an org's project files, kept in its bucket under keys byob builds from their SHA-256 (written once,
//! never overwritten), with a version history that is also in the bucket as a chain of signed manifests (seed
//! 004: "modifying files manually corrupts the hash"). This module holds what needs no I/O: names, versions,
//! the manifest's payload, and the store check's report.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{IntegrationId, OrgId, location::FieldError};

/// The longest asset name, in bytes.
pub const MAX_NAME_BYTES: usize = 512;
/// The longest segment of a name (between `/`).
pub const MAX_SEGMENT_BYTES: usize = 128;
/// Names the asset routes use for themselves (`/assets/public-key`, …).
pub const RESERVED_NAMES: [&str; 5] = ["public-key", "verify", "rebuild", "settings", "reports"];

/// Checks an asset name: 1-512 bytes of segments joined by `/`, each 1-128 letters, digits, `.`, `_` or `-`, not
/// `.` or `..`, and not one of [`RESERVED_NAMES`]. The name is never part of an object key.
///
/// # Errors
/// `asset-name`.
pub fn check_name(name: &str) -> Result<(), FieldError> {
    let refuse = |why: String| Err(FieldError::new("name", crate::rules::ASSET_NAME, why));
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return refuse(format!("an asset name has 1-{MAX_NAME_BYTES} bytes, not {}", name.len()));
    }
    if RESERVED_NAMES.contains(&name) {
        return refuse(format!("`{name}` is reserved; choose another asset name"));
    }
    for segment in name.split('/') {
        let ok = !segment.is_empty()
            && segment.len() <= MAX_SEGMENT_BYTES
            && segment != "."
            && segment != ".."
            && segment.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok {
            let shown: String = segment.chars().take(40).collect();
            return refuse(format!(
                "`{shown}` is not a segment of an asset name: 1-{MAX_SEGMENT_BYTES} letters, digits, `.`, `_` or `-` \
                 between `/` (send `/` as `%2F` in the URL), not `.` or `..`"
            ));
        }
    }
    Ok(())
}

/// Checks a lowercase hex SHA-256 digest (64 characters).
///
/// # Errors
/// `asset-sha256`.
pub fn check_sha256(field: &str, value: &str) -> Result<(), FieldError> {
    if value.len() == 64 && value.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) {
        return Ok(());
    }
    Err(FieldError::new(
        field,
        crate::rules::ASSET_SHA256,
        "a SHA-256 digest is 64 lowercase hexadecimal characters (e.g. the output of `sha256sum`)",
    ))
}

/// One version of an asset: a write, a restore, or a deletion (a tombstone, with no content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AssetVersion {
    #[serde(skip)]
    pub org_id: OrgId,
    pub name: String,
    /// 1 for the first write, then one more each time.
    pub version: u64,
    /// The content's SHA-256 (lowercase hex); none for a deletion.
    pub sha256: Option<String>,
    pub size: u64,
    /// The deletion of the asset (its versions stay, for a restore, until the retention passes).
    pub deleted: bool,
    /// The member or token that made the version.
    pub author: String,
    pub created_at: DateTime<Utc>,
    /// The version this one follows.
    pub previous: Option<u64>,
    /// The version whose content a restore brought back.
    pub restored_from: Option<u64>,
    /// Where the content is: an integration, or byob's default storage (none).
    pub integration_id: Option<IntegrationId>,
    /// The SHA-256 of this version's manifest file in the bucket; the next version's manifest names it.
    pub manifest_sha256: String,
    /// Whether the manifest is in the bucket (the janitor writes one a failed write left out).
    #[serde(skip)]
    pub manifest_written: bool,
    /// When the content was removed, the asset having been deleted for longer than the retention.
    pub purged_at: Option<DateTime<Utc>>,
}

impl AssetVersion {
    /// The entity tag of this version (`If-Match`).
    #[must_use]
    pub fn etag(&self) -> String {
        format!("\"v{}\"", self.version)
    }
}

/// The media type of a manifest's DSSE envelope payload.
pub const MANIFEST_PAYLOAD_TYPE: &str = "application/vnd.byob.asset-manifest+json";
/// The manifest format's name and version.
pub const MANIFEST_FORMAT: &str = "byob-asset-manifest/1";

/// What a version's manifest says, signed. Field order is the serialization order, and the bytes signed are the
/// envelope's payload exactly, so a verifier never re-serializes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestPayload {
    pub format: String,
    pub org: OrgId,
    pub name: String,
    pub version: u64,
    pub sha256: Option<String>,
    pub size: u64,
    pub deleted: bool,
    pub author: String,
    pub created_at: DateTime<Utc>,
    pub previous: Option<u64>,
    /// The SHA-256 of the previous version's manifest file: the chain.
    pub previous_manifest_sha256: Option<String>,
    pub restored_from: Option<u64>,
    /// The content's key under the store's prefix.
    pub object: Option<String>,
    /// The signing key's id (`GET …/assets/public-key`).
    pub key_id: String,
}

impl ManifestPayload {
    /// The payload of `v`'s manifest, chained to the previous manifest.
    #[must_use]
    pub fn of(v: &AssetVersion, previous_manifest_sha256: Option<String>, key_id: &str) -> Self {
        Self {
            format: MANIFEST_FORMAT.into(),
            org: v.org_id,
            name: v.name.clone(),
            version: v.version,
            sha256: v.sha256.clone(),
            size: v.size,
            deleted: v.deleted,
            author: v.author.clone(),
            created_at: v.created_at,
            previous: v.previous,
            previous_manifest_sha256,
            restored_from: v.restored_from,
            object: v.sha256.as_deref().map(content_key),
            key_id: key_id.into(),
        }
    }
}

/// The signed file a manifest is: a DSSE envelope (<https://github.com/secure-systems-lab/dsse>).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload_type: String,
    /// The payload's bytes, base64 (standard alphabet, padded).
    pub payload: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    pub keyid: String,
    /// Ed25519 over the pre-authentication encoding of the payload, base64.
    pub sig: String,
}

/// DSSE's pre-authentication encoding: what is signed, so a payload cannot be taken for one of another type.
#[must_use]
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The key of a content object under the store's prefix: `assets/objects/sha256/ab/cdef…`.
#[must_use]
pub fn content_key(sha256: &str) -> String {
    let (head, rest) = sha256.split_at(sha256.len().min(2));
    format!("assets/objects/sha256/{head}/{rest}")
}

/// Where an asset's manifests are: a folder named by the SHA-256 of its name (`name_sha256`), so no user text is
/// in a key.
#[must_use]
pub fn manifest_folder(name_sha256: &str) -> String {
    format!("assets/manifests/{name_sha256}/")
}

/// The key of one version's manifest; versions sort by key.
#[must_use]
pub fn manifest_key(name_sha256: &str, version: u64) -> String {
    format!("{}{version:012}.json", manifest_folder(name_sha256))
}

/// Where writes stream before their hash is known.
pub const STAGING_FOLDER: &str = "assets/staging/";

/// What an admin sets for the org's asset store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetSettings {
    /// Days a deleted asset's content is kept for a restore before it is removed (0-3650; default 30).
    pub retention_days: u32,
}

impl Default for AssetSettings {
    fn default() -> Self {
        Self { retention_days: 30 }
    }
}

/// The longest retention.
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// What the store check found wrong with one thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// A version's content object is not in the bucket.
    ObjectMissing,
    /// A content object's bytes do not hash to its key.
    ObjectTampered,
    /// A version's manifest is not in the bucket.
    ManifestMissing,
    /// A manifest is not a valid signed envelope, its signature fails, or it says something else than the catalog.
    ManifestInvalid,
    /// A manifest does not name the hash of its predecessor's manifest.
    ChainBroken,
    /// An object under the asset store's folders that no version accounts for.
    UnexpectedObject,
}

impl ProblemKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ObjectMissing => "object-missing",
            Self::ObjectTampered => "object-tampered",
            Self::ManifestMissing => "manifest-missing",
            Self::ManifestInvalid => "manifest-invalid",
            Self::ChainBroken => "chain-broken",
            Self::UnexpectedObject => "unexpected-object",
        }
    }
}

/// One problem the store check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoreProblem {
    pub kind: ProblemKind,
    /// The asset, when the problem is one of its versions.
    pub name: Option<String>,
    pub version: Option<u64>,
    /// The object's key under the store's prefix.
    pub key: String,
    pub message: String,
}

/// How many things the store check looked at and found wrong.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoreCounts {
    pub assets: u64,
    pub versions: u64,
    pub objects_checked: u64,
    pub bytes_checked: u64,
    /// Objects checked by the SHA-256 the store itself keeps of them (S3), without reading them.
    pub objects_checked_by_store_checksum: u64,
    pub manifests_checked: u64,
    pub objects_missing: u64,
    pub objects_tampered: u64,
    pub manifests_missing: u64,
    pub manifests_invalid: u64,
    pub chain_broken: u64,
    pub unexpected_objects: u64,
}

impl StoreCounts {
    #[must_use]
    pub fn problems(&self) -> u64 {
        self.objects_missing
            + self.objects_tampered
            + self.manifests_missing
            + self.manifests_invalid
            + self.chain_broken
            + self.unexpected_objects
    }

    pub fn count(&mut self, kind: ProblemKind) {
        let counter = match kind {
            ProblemKind::ObjectMissing => &mut self.objects_missing,
            ProblemKind::ObjectTampered => &mut self.objects_tampered,
            ProblemKind::ManifestMissing => &mut self.manifests_missing,
            ProblemKind::ManifestInvalid => &mut self.manifests_invalid,
            ProblemKind::ChainBroken => &mut self.chain_broken,
            ProblemKind::UnexpectedObject => &mut self.unexpected_objects,
        };
        *counter += 1;
    }
}

/// The store check's report: `passed` when nothing is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoreReport {
    /// `passed` or `failed`.
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub counts: StoreCounts,
    /// The first problems found (at most [`MAX_REPORTED_PROBLEMS`]); `counts` has them all.
    pub problems: Vec<StoreProblem>,
}

/// How many problems a report names.
pub const MAX_REPORTED_PROBLEMS: usize = 100;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_segments_of_safe_characters() {
        for good in ["model.json", "projects/42/diagram-v2.svg", "a", "A_b-c.d"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "/a", "a/", "a//b", "../x", "a/./b", "sp ace", "ü", "verify", "public-key", "a\u{0}"] {
            let e = check_name(bad).unwrap_err();
            assert_eq!(e.rule, "asset-name", "{bad}");
        }
        assert!(check_name(&"a".repeat(129)).is_err());
        assert!(check_name(&["a"; 300].join("/")).is_err());
    }

    #[test]
    fn digests_are_lowercase_hex() {
        assert!(check_sha256("sha256", &"ab".repeat(32)).is_ok());
        assert!(check_sha256("sha256", &"AB".repeat(32)).is_err());
        assert!(check_sha256("sha256", "abc").is_err());
    }

    #[test]
    fn keys_come_from_hashes_only() {
        let sha = format!("ab{}", "c".repeat(62));
        assert_eq!(content_key(&sha), format!("assets/objects/sha256/ab/{}", "c".repeat(62)));
        assert_eq!(manifest_key("ff", 7), "assets/manifests/ff/000000000007.json");
    }

    #[test]
    fn pae_follows_dsse() {
        // The example of the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }
}
