//! Which file a run of an import loads, and why.
//!
//! Fixed mode reads the one key (a HEAD: read permission only). Latest mode lists only the pattern's folder,
//! narrowed to names starting with the pattern's text before `{{date}}`, with `/` as delimiter so subfolders
//! are never walked. The folder's first page comes first: when it holds the whole folder, that one request
//! decides. In a larger folder whose names begin with the date, ISO-8601 dates sort as text, so every file newer
//! than a date sorts after it: the listing starts after the date `now - 1 day`, then `- 7 days`, `- 31 days`,
//! `- 366 days`, `- 3660 days` (each two days earlier still, for names written with an offset), and finally the
//! rest of the whole folder. It stops at the first window whose best file is at least a day later than the window's start:
//! a name sorting before the start holds a local date before it, so (offsets being under a day) an instant
//! less than a day after it.
//! A folder of daily or hourly files is resolved in two requests whatever its size. Only the best file and 50
//! rejected keys are kept in memory, however many keys the folder holds.

use byob_core::import::{DatePattern, ImportSource, NameDate};
use byob_ports::storage::{StorageClient, StorageError};
use chrono::{DateTime, Duration, Utc};
use object_store::ObjectStoreExt;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ServiceError;

/// Keys shown as rejected, at most.
const REJECTED_SHOWN: usize = 50;
/// Windows (days before now) tried in turn when names begin with the date.
const WINDOWS_DAYS: [i64; 5] = [1, 7, 31, 366, 3660];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidate {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    pub version: Option<String>,
    pub last_modified: DateTime<Utc>,
    /// The date read from its name (latest mode).
    pub date: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RejectedKey {
    pub key: String,
    pub reason: String,
}

/// What a run would load, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Resolution {
    /// `fixed` or `latest`.
    pub mode: String,
    pub chosen: Option<Candidate>,
    pub reason: String,
    /// Keys looked at and not chosen (the first 50), with why.
    pub rejected: Vec<RejectedKey>,
    pub rejected_total: u64,
    /// List requests made (absent where the provider's listing pages on its own: Azure, a local directory).
    pub list_requests: Option<u32>,
    /// The chosen file is the one the import loaded last (same key and ETag or generation).
    pub already_loaded: bool,
}

fn list_denied(folder: &str, e: &StorageError) -> ServiceError {
    ServiceError::Refused {
        code: byob_core::codes::IMPORT_LIST_DENIED,
        message: format!(
            "the integration may not list `{folder}/`: a latest-file import needs list permission (s3:ListBucket, \
             storage.objects.list, or `l` in an Azure SAS); a fixed-file import needs read only ({e})"
        ),
    }
}

fn read_denied(key: &str, e: &StorageError) -> ServiceError {
    ServiceError::Refused {
        code: byob_core::codes::IMPORT_READ_DENIED,
        message: format!(
            "the integration may not read `{key}`: grant read (s3:GetObject, storage.objects.get, or `r` in an \
             Azure SAS) on the prefix ({e})"
        ),
    }
}

/// Keeps the best match and a bounded list of the rest.
struct Tally<'p> {
    pattern: &'p DatePattern,
    best: Option<(NameDate, Candidate)>,
    rejected: Vec<RejectedKey>,
    rejected_total: u64,
}

impl Tally<'_> {
    fn reject(&mut self, key: String, reason: String) {
        self.rejected_total += 1;
        if self.rejected.len() < REJECTED_SHOWN {
            self.rejected.push(RejectedKey { key, reason });
        }
    }

    fn offer(&mut self, candidate: Candidate) {
        match self.pattern.date_of(&candidate.key) {
            Err(why) => self.reject(candidate.key, why.to_string()),
            Ok(date) => {
                let better =
                    self.best.as_ref().is_none_or(|(d, c)| (date, candidate.key.as_str()) > (*d, c.key.as_str()));
                let candidate = Candidate { date: Some(date.instant), ..candidate };
                if better {
                    if let Some((_, old)) = self.best.replace((date, candidate)) {
                        let reason = format!("older than the chosen file (dated {})", old.date.unwrap_or_default());
                        self.reject(old.key, reason);
                    }
                } else {
                    let reason = format!("dated {}, older than the chosen file", date.instant);
                    self.reject(candidate.key, reason);
                }
            }
        }
    }
}

/// Resolves `source` in `client`'s prefix at `now`.
///
/// # Errors
/// `import-list-denied` / `import-read-denied` when the bucket refuses the permission the mode needs; a
/// malformed pattern; other storage errors.
pub(crate) async fn resolve(
    client: &StorageClient,
    source: &ImportSource,
    now: DateTime<Utc>,
) -> Result<Resolution, ServiceError> {
    match source {
        ImportSource::Fixed { path } => {
            let key = client.existing_key(path)?;
            match client.store().head(&key).await.map_err(StorageError::from) {
                Ok(meta) => Ok(Resolution {
                    mode: "fixed".into(),
                    chosen: Some(Candidate {
                        key: path.clone(),
                        size: meta.size,
                        etag: meta.e_tag,
                        version: meta.version,
                        last_modified: meta.last_modified,
                        date: None,
                    }),
                    reason: format!("`{path}` is the import's fixed file"),
                    rejected: Vec::new(),
                    rejected_total: 0,
                    list_requests: Some(0),
                    already_loaded: false,
                }),
                Err(StorageError::NotFound(_)) => Ok(Resolution {
                    mode: "fixed".into(),
                    chosen: None,
                    reason: format!("there is no object at `{path}`"),
                    rejected: Vec::new(),
                    rejected_total: 0,
                    list_requests: Some(0),
                    already_loaded: false,
                }),
                Err(e @ StorageError::PermissionDenied(_)) => Err(read_denied(path, &e)),
                Err(e) => Err(e.into()),
            }
        }
        ImportSource::Latest { pattern } => latest(client, &DatePattern::parse(pattern)?, now).await,
    }
}

async fn latest(client: &StorageClient, pattern: &DatePattern, now: DateTime<Utc>) -> Result<Resolution, ServiceError> {
    latest_from(client, pattern, now, FirstPage::Probe).await
}

/// Whether the folder's first page is listed before any window (always, but in the test that checks the
/// windows against a full scan on folders too small to need them).
#[derive(Clone, Copy, PartialEq, Eq)]
enum FirstPage {
    Probe,
    #[cfg(test)]
    Skip,
}

async fn latest_from(
    client: &StorageClient,
    pattern: &DatePattern,
    now: DateTime<Utc>,
    first_page: FirstPage,
) -> Result<Resolution, ServiceError> {
    let starts_with = pattern.key_prefix();
    let mut requests = 0u32;
    let mut counted = true;
    let fresh = || Tally { pattern, best: None, rejected: Vec::new(), rejected_total: 0 };
    let mut list = async |tally: &mut Tally<'_>, start_after: Option<&str>, token: Option<String>| {
        let page = client.list_page(&starts_with, start_after, token).await.map_err(|e| match e {
            StorageError::PermissionDenied(_) => list_denied(pattern.folder(), &e),
            other => other.into(),
        })?;
        requests += 1;
        counted &= page.requests_counted;
        for o in page.objects {
            tally.offer(Candidate {
                key: o.key,
                size: o.meta.size,
                etag: o.meta.e_tag,
                version: o.meta.version,
                last_modified: o.meta.last_modified,
                date: None,
            });
        }
        Ok::<_, ServiceError>(page.next)
    };

    // The folder's first page: when it holds everything (a small folder), that one request decides.
    let mut full = fresh();
    let mut full_next = None;
    let probed = first_page == FirstPage::Probe;
    if probed {
        full_next = list(&mut full, None, None).await?;
    }
    let mut tally = None;
    let mut window = String::new();
    if (!probed || full_next.is_some()) && pattern.date_first() {
        // A large folder: each window lists from where every file newer than its start sorts, and counts when its
        // best file is a day past that start.
        for days in WINDOWS_DAYS {
            let day = (now - Duration::days(days + 2)).date_naive();
            let bound = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() + Duration::days(1);
            let after = format!("{starts_with}{}", day.format("%Y-%m-%d"));
            let mut windowed = fresh();
            let mut token = None;
            loop {
                token = list(&mut windowed, Some(&after), token).await?;
                if token.is_none() {
                    break;
                }
            }
            if windowed.best.as_ref().is_some_and(|(date, _)| date.instant >= bound) {
                window = format!(" (names after `{after}`, where every newer file sorts)");
                tally = Some(windowed);
                break;
            }
        }
    }
    let tally = match tally {
        Some(tally) => tally,
        None => {
            // The whole folder, going on from its first page.
            if !probed {
                full_next = list(&mut full, None, None).await?;
            }
            while let Some(token) = full_next.take() {
                full_next = list(&mut full, None, Some(token)).await?;
            }
            full
        }
    };
    let reason = match &tally.best {
        Some((date, c)) => format!(
            "`{}` is dated {} in its name, the most recent of the files in `{}/` matching the pattern{window}",
            c.key,
            date.instant,
            pattern.folder()
        ),
        None => format!("no file in `{}/` matches the pattern", pattern.folder()),
    };
    Ok(Resolution {
        mode: "latest".into(),
        chosen: tally.best.map(|(_, c)| c),
        reason,
        rejected: tally.rejected,
        rejected_total: tally.rejected_total,
        list_requests: counted.then_some(requests),
        already_loaded: false,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! The windows are an optimisation: whatever the keys (dates near and far from now, offsets that move an
    //! instant across midnight, decoys), the resolver picks what a scan of the whole folder picks.

    use byob_core::import::{DatePattern, ImportSource, latest};
    use object_store::{ObjectStoreExt, PutPayload};
    use proptest::prelude::*;

    use super::*;

    fn key() -> impl Strategy<Value = String> {
        // Mostly within days of `now` (where windows begin), sometimes years before.
        (prop_oneof![4 => -240i64..24, 1 => -(4 * 365 * 24)..0i64], 0..4usize, -14i32..15, any::<bool>()).prop_map(
            |(hours, form, offset, decoy)| {
                let at = now() + Duration::hours(hours);
                let local = at + Duration::hours(i64::from(offset));
                let date = match form {
                    0 => at.format("%Y-%m-%d").to_string(),
                    1 => at.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    2 => at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    _ => format!(
                        "{}{}{:02}:00",
                        local.format("%Y-%m-%dT%H:%M:%S"),
                        if offset < 0 { '-' } else { '+' },
                        offset.abs()
                    ),
                };
                if decoy { format!("in/{date}-other.csv") } else { format!("in/{date}-x.csv") }
            },
        )
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-15T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn windows_pick_what_a_full_scan_picks(
            keys in prop::collection::vec(key(), 1..30),
            now_shift in -48i64..48,
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let dir = tempfile::tempdir().unwrap();
            let client = byob_ports::storage::local_storage_client(dir.path()).unwrap();
            let now = now() + Duration::hours(now_shift);
            let pattern_text = "in/{{date}}-x.csv";
            let pattern = DatePattern::parse(pattern_text).unwrap();
            let chosen = runtime.block_on(async {
                for k in &keys {
                    client.store().put(&client.existing_key(k).unwrap(), PutPayload::from_static(b"id\n")).await.unwrap();
                }
                let source = ImportSource::Latest { pattern: pattern_text.into() };
                let probed = resolve(&client, &source, now).await.unwrap();
                let windowed = latest_from(&client, &pattern, now, FirstPage::Skip).await.unwrap();
                (probed.chosen.map(|c| c.key), windowed.chosen.map(|c| c.key))
            });
            let expected = latest(&pattern, keys.iter().map(String::as_str)).map(|(k, _)| k.to_string());
            prop_assert_eq!(&chosen.0, &expected, "the first page holding the folder decides");
            prop_assert_eq!(&chosen.1, &expected, "the windows pick what a full scan picks");
        }
    }
}
