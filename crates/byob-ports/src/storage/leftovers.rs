//! What unfinished writes leave in a bucket, found by listing rather than by a recorded id: a process that dies
//! between starting a multipart upload and recording its id (or while object_store drives an upload whose id it
//! never hands out) leaves an upload no one knows of. Flows record the *keys* they will write before they
//! start, and recovery lists and aborts every unfinished write of those keys.
//!
//! S3 (and S3-compatible stores) list open multipart uploads (`ListMultipartUploads`); a local directory holds
//! object_store's staging files (`{file}#{n}`). Azure's uncommitted blocks and GCS's resumable sessions cannot be
//! listed; neither is ever visible, and the provider discards them after a week (docs/uploads.md).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use object_store::path::Path;

use super::StorageError;

/// An unfinished write found in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedWrite {
    /// The object's full key.
    pub key: String,
    /// The provider's upload id (the staging file's name in a local directory).
    pub upload_id: String,
    /// When it started, where the provider says.
    pub started: Option<DateTime<Utc>>,
}

/// Lists and removes unfinished writes, per provider.
#[async_trait::async_trait]
pub(crate) trait Leftovers: Send + Sync {
    /// Unfinished writes of exactly `key`, or with `folder` of every key under `key/`.
    async fn list(&self, key: &Path, folder: bool) -> Result<Vec<UnfinishedWrite>, StorageError>;
    async fn remove(&self, write: &UnfinishedWrite) -> Result<(), StorageError>;
}

/// object_store's local uploads write `{file}#{n}` beside the file and rename it into place when they finish.
pub(crate) struct LocalLeftovers {
    pub(crate) root: PathBuf,
}

fn staging_name_of(name: &str) -> Option<&str> {
    let (file, suffix) = name.rsplit_once('#')?;
    (!file.is_empty() && !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit())).then_some(file)
}

impl LocalLeftovers {
    fn scan(&self, dir: &std::path::Path, only: Option<&str>, out: &mut Vec<UnfinishedWrite>) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type()?;
            if kind.is_dir() && only.is_none() {
                self.scan(&entry.path(), None, out)?;
            } else if kind.is_file()
                && let Some(file) = staging_name_of(&name)
                && only.is_none_or(|o| o == file)
            {
                let path = entry.path();
                let relative = path.strip_prefix(&self.root).unwrap_or(&path);
                let key = relative.parent().map(|p| p.join(file)).unwrap_or_else(|| PathBuf::from(file));
                let started = entry.metadata()?.modified().ok().map(DateTime::<Utc>::from);
                out.push(UnfinishedWrite { key: key.to_string_lossy().into_owned(), upload_id: name, started });
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Leftovers for LocalLeftovers {
    async fn list(&self, key: &Path, folder: bool) -> Result<Vec<UnfinishedWrite>, StorageError> {
        let mut out = Vec::new();
        let path = self.root.join(key.as_ref());
        let scanned = if folder {
            self.scan(&path, None, &mut out)
        } else {
            match (path.parent(), path.file_name()) {
                (Some(dir), Some(name)) => self.scan(dir, Some(&name.to_string_lossy()), &mut out),
                _ => Ok(()),
            }
        };
        scanned.map_err(|e| StorageError::Backend(format!("listing unfinished writes: {e}")))?;
        Ok(out)
    }

    async fn remove(&self, write: &UnfinishedWrite) -> Result<(), StorageError> {
        let path = self.root.join(&write.key);
        let staging = path.with_file_name(&write.upload_id);
        match std::fs::remove_file(staging) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::Backend(format!("removing an unfinished write: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::staging_name_of;

    #[test]
    fn staging_files_are_told_from_names_with_a_hash() {
        assert_eq!(staging_name_of("part-00001.csv#3"), Some("part-00001.csv"));
        assert_eq!(staging_name_of("a#1.csv"), None);
        assert_eq!(staging_name_of("a#"), None);
        assert_eq!(staging_name_of("#12"), None);
    }
}
