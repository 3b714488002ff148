//! How a file of a given size is sent: one PUT, or parts of a size chosen so that the part count stays within
//! every provider's limit, each with its own URL.

use std::{collections::BTreeMap, time::Duration};

use byob_core::upload::{ATTACHMENT_PURPOSE, Transfer, Upload};
use byob_ports::storage::{PartRules, PresignedUrl, PutConditions, StorageClient};
use chrono::{DateTime, Utc};
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ServiceError;

/// Files up to this size go in one PUT.
pub(crate) const SINGLE_PUT_MAX: u64 = 16 * 1024 * 1024;
/// Smallest part byob plans (S3's minimum is 5 MiB).
const MIN_PART: u64 = 8 * 1024 * 1024;
/// S3's and GCS's limits.
const MAX_PARTS: u64 = 10_000;
const MAX_PART: u64 = 5 * 1024 * 1024 * 1024;
/// How slow a client byob plans URL lifetimes for.
const SLOWEST_CLIENT_BYTES_PER_SEC: u64 = 256 * 1024;

/// The part size for `size` bytes: at least 8 MiB (or what the client asked for, at least 5 MiB), large enough
/// for at most 10,000 parts, rounded up to whole MiB (a multiple of GCS's 256 KiB).
pub(crate) fn part_size(size: u64, requested: Option<u64>) -> Result<u64, ServiceError> {
    const MIB: u64 = 1024 * 1024;
    if let Some(r) = requested
        && !(5 * MIB..=MAX_PART).contains(&r)
    {
        return Err(ServiceError::invalid("part_size", "must be between 5 MiB (5242880) and 5 GiB"));
    }
    let needed = size.div_ceil(MAX_PARTS);
    let chosen = requested.unwrap_or(MIN_PART).max(needed);
    Ok(chosen.div_ceil(MIB) * MIB)
}

/// How long URLs for `size` bytes live: long enough for a slow client to send the whole file, plus a margin.
pub(crate) fn lifetime(size: u64, max: Duration) -> Duration {
    let transfer = Duration::from_secs(size / SLOWEST_CLIENT_BYTES_PER_SEC);
    (Duration::from_secs(15 * 60) + transfer).min(max)
}

/// One request of an upload: where to send which bytes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PartUrl {
    pub part_number: u32,
    /// The part's first byte in the file, and its length.
    pub offset: u64,
    pub length: u64,
    pub method: String,
    pub url: String,
    /// Headers to send with the request exactly as given.
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

/// The plan a client follows to send the file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UploadPlan {
    pub upload: Upload,
    /// `single`, `multipart` (the provider's), or `relay` (parts sent to byob, for storage without URLs).
    pub method: String,
    pub part_size: Option<u64>,
    /// Parts must be sent one at a time, in order (a GCS resumable session); otherwise in parallel.
    pub sequential: bool,
    /// Complete with each part's `ETag` response header (quotes included).
    pub parts: Vec<PartUrl>,
}

pub(crate) fn part_span(upload: &Upload, part_number: u32) -> (u64, u64) {
    match upload.transfer.part_size() {
        None => (0, upload.size),
        Some(size) => {
            let offset = u64::from(part_number - 1) * size;
            (offset, size.min(upload.size.saturating_sub(offset)))
        }
    }
}

fn part_url(upload: &Upload, part_number: u32, url: PresignedUrl, rules: PartRules) -> PartUrl {
    let (offset, length) = part_span(upload, part_number);
    let mut headers: BTreeMap<String, String> = url.headers.into_iter().collect();
    if rules.content_range && length > 0 {
        let last = part_number == upload.transfer.part_count();
        let total = if last { upload.size.to_string() } else { "*".into() };
        headers.insert("content-range".into(), format!("bytes {offset}-{}/{total}", offset + length - 1));
    }
    PartUrl {
        part_number,
        offset,
        length,
        method: url.method.into(),
        url: url.url.to_string(),
        headers,
        expires_at: url.expires_at,
    }
}

/// Signs URLs for `parts` (all parts when empty) of an upload the provider runs.
pub(crate) async fn provider_urls(
    deps: &crate::Deps,
    client: &StorageClient,
    key: &Path,
    upload: &Upload,
    parts: &[u32],
    ttl: Duration,
) -> Result<Vec<PartUrl>, ServiceError> {
    match &upload.transfer {
        Transfer::Single => {
            // An attachment's PUT is bound to the type and length checked when it was planned.
            let conditions = if upload.purpose == ATTACHMENT_PURPOSE {
                PutConditions { content_type: Some(upload.content_type.clone()), content_length: Some(upload.size) }
            } else {
                PutConditions::default()
            };
            let url = client.presign_put_with(key, Some(ttl), &conditions).await?;
            Ok(vec![part_url(upload, 1, url, PartRules::default())])
        }
        Transfer::Multipart { session, part_count, .. } => {
            let numbers: Vec<u32> = if parts.is_empty() { (1..=*part_count).collect() } else { parts.to_vec() };
            let mut urls = Vec::with_capacity(numbers.len());
            let session =
                crate::capability::open(deps, &crate::capability::upload_session(upload.org_id, upload.id), session)?;
            for n in numbers {
                let url = client.presign_part(key, &session, n, Some(ttl)).await?;
                urls.push(part_url(upload, n, url, client.capability().parts));
            }
            Ok(urls)
        }
        Transfer::Relay { .. } => Err(ServiceError::invalid("upload", "relay uploads have byob URLs")),
    }
}

/// URLs of byob's own part endpoint, for storage that cannot presign.
pub(crate) fn relay_urls(base: &url::Url, upload: &Upload, token: &str, expires_at: DateTime<Utc>) -> Vec<PartUrl> {
    (1..=upload.transfer.part_count())
        .map(|n| {
            let (offset, length) = part_span(upload, n);
            let mut url = base.clone();
            url.set_path(&format!("/v1/orgs/{}/uploads/{}/parts/{n}", upload.org_id, upload.id));
            url.set_query(Some(&format!("token={token}")));
            PartUrl {
                part_number: n,
                offset,
                length,
                method: "PUT".into(),
                url: url.to_string(),
                headers: BTreeMap::new(),
                expires_at,
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_keep_within_ten_thousand_parts() {
        const MIB: u64 = 1024 * 1024;
        assert_eq!(part_size(50 * MIB, None).unwrap(), 8 * MIB);
        assert_eq!(part_size(50 * MIB, Some(5 * MIB)).unwrap(), 5 * MIB);
        let huge = 200 * 1024 * MIB;
        let size = part_size(huge, None).unwrap();
        assert!(huge.div_ceil(size) <= 10_000 && size.is_multiple_of(256 * 1024));
        assert!(part_size(1, Some(1024)).is_err());
        assert_eq!(lifetime(0, Duration::from_secs(3600)), Duration::from_secs(900));
        assert_eq!(lifetime(u64::MAX, Duration::from_secs(3600)), Duration::from_secs(3600));
    }
}
