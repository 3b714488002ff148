//! Which file a run of an import loads, and why.
//!
//! Fixed mode reads the one key (a HEAD: read permission only). Latest mode lists only the pattern's folder,
//! narrowed to names starting with the pattern's text before `{{date}}`, with `/` as delimiter so subfolders
//! are never walked. When names begin with the date, ISO-8601 dates sort as text, so every file newer than a
//! date sorts after it: the listing starts after `now - 1 day`, then `- 7 days`, `- 31 days`, `- 366 days`,
//! `- 3660 days`, and finally the whole folder, stopping at the first window that holds a matching file.
//! A folder of daily or hourly files is resolved in one request whatever its size. Only the best file and 50
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
        code: "import-list-denied",
        message: format!(
            "the integration may not list `{folder}/`: a latest-file import needs list permission (s3:ListBucket, \
             storage.objects.list, or `l` in an Azure SAS); a fixed-file import needs read only ({e})"
        ),
    }
}

fn read_denied(key: &str, e: &StorageError) -> ServiceError {
    ServiceError::Refused {
        code: "import-read-denied",
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
    let starts_with = pattern.key_prefix();
    let mut starts: Vec<Option<String>> = Vec::new();
    if pattern.date_first() {
        for days in WINDOWS_DAYS {
            starts.push(Some(format!("{starts_with}{}", (now - Duration::days(days)).format("%Y-%m-%d"))));
        }
    }
    starts.push(None);
    let mut requests = 0u32;
    let mut counted = true;
    let mut tally = Tally { pattern, best: None, rejected: Vec::new(), rejected_total: 0 };
    let mut window = String::new();
    for start_after in &starts {
        tally = Tally { pattern, best: None, rejected: Vec::new(), rejected_total: 0 };
        let mut token = None;
        loop {
            let page =
                client.list_page(&starts_with, start_after.as_deref(), token.take()).await.map_err(|e| match e {
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
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        if tally.best.is_some() {
            window = match start_after {
                Some(after) => format!(" (names after `{after}`, where every newer file sorts)"),
                None => String::new(),
            };
            break;
        }
    }
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
