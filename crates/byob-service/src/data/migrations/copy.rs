//! Moving one object: streamed from the source into the destination through SHA-256 (parts of 8 MiB, so memory
//! stays bounded whatever the size), then read back from the destination through SHA-256: it is verified only
//! when both hashes agree.

use byob_ports::{
    catalog::MigrationObject,
    storage::{StorageClient, StorageError},
};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use sha2::{Digest, Sha256};

use crate::{ServiceError, data::parts::Gatherer};

/// Every object under the features' folders of a store, by key relative to its prefix.
pub(super) async fn list(client: &StorageClient, folders: &[&str]) -> Result<Vec<MigrationObject>, ServiceError> {
    let prefix = client.prefix();
    let strip = if prefix.is_root() { String::new() } else { format!("{}/", prefix.as_str()) };
    let mut found = Vec::new();
    for folder in folders {
        let root = client.key(folder.trim_end_matches('/'))?;
        let listed: Vec<object_store::ObjectMeta> =
            client.store().list(Some(&root)).try_collect().await.map_err(StorageError::from)?;
        found.extend(listed.into_iter().map(|o| MigrationObject {
            key: o.location.as_ref().strip_prefix(&strip).unwrap_or(o.location.as_ref()).to_string(),
            size: o.size,
        }));
    }
    found.sort_by(|a, b| a.key.cmp(&b.key));
    found.dedup_by(|a, b| a.key == b.key);
    Ok(found)
}

/// The object's SHA-256 and size, read through; none when it is not there.
pub(super) async fn hash(client: &StorageClient, key: &str) -> Result<Option<(String, u64)>, ServiceError> {
    Ok(crate::data::ranges::sha256_of(client, &client.key(key)?).await?)
}

/// Copies one object and verifies it on the destination; returns its SHA-256.
///
/// # Errors
/// The stores' errors; a destination that does not read back as the source was.
pub(super) async fn copy(src: &StorageClient, dst: &StorageClient, key: &str) -> Result<String, ServiceError> {
    let from = src.key(key)?;
    let meta = src.store().head(&from).await.map_err(StorageError::from)?;
    let mut body = crate::data::ranges::read_ahead(src, &from, meta.size, crate::data::ranges::AHEAD_OF_A_WRITER)
        .await
        .map_err(StorageError::from)?;
    let mut writer = dst.object_writer(dst.key(key)?);
    let mut hasher = Sha256::new();
    let mut gathered = Gatherer::new();
    let sent = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(StorageError::from)?;
            hasher.update(&chunk);
            for part in gathered.push_bytes(chunk) {
                writer.write(part).await?;
            }
        }
        if let Some(last) = gathered.finish() {
            writer.write(last).await?;
        }
        Ok::<_, ServiceError>(())
    }
    .await;
    if let Err(e) = sent {
        writer.abort().await.ok();
        return Err(e);
    }
    writer.finish().await?;
    let sent = hex::encode(hasher.finalize());
    match hash(dst, key).await? {
        Some((landed, _)) if landed == sent => Ok(sent),
        Some((landed, _)) => Err(ServiceError::invalid(
            "destination",
            format!("`{key}` reads back from the destination as {landed}, not the {sent} sent"),
        )),
        None => Err(ServiceError::invalid("destination", format!("`{key}` is not on the destination after its copy"))),
    }
}
