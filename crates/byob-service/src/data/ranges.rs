//! Reading a large object as several ranges at once, in order: one stream from the bucket is bounded by its
//! round trips, and the store serves parallel ranges at several times the rate. Memory stays at the ranges in
//! flight.

use byob_ports::storage::StorageClient;
use bytes::Bytes;
use futures::{StreamExt, stream::BoxStream};
use object_store::{ObjectStoreExt, path::Path};

/// The size of one range.
const RANGE: u64 = 8 << 20;
/// Ranges read at once where the reader takes them as fast as they come (hashing).
const IN_FLIGHT: usize = 4;
/// Ranges read ahead of a writer: a copy goes at the destination's pace, and a deeper read-ahead would only hold
/// more memory while it waits.
pub(crate) const AHEAD_OF_A_WRITER: usize = 2;

/// The object's SHA-256 (lowercase hex) and size, read through in ranges; none when it is not there.
pub(crate) async fn sha256_of(
    client: &StorageClient,
    key: &Path,
) -> Result<Option<(String, u64)>, byob_ports::storage::StorageError> {
    use futures::TryStreamExt;
    use sha2::{Digest, Sha256};
    let meta = match client.store().head(key).await {
        Ok(meta) => meta,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut stream = read(client, key, meta.size).await?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.try_next().await? {
        size += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok(Some((hex::encode(hasher.finalize()), size)))
}

/// The object's bytes from its start, `size` of them: one plain stream for a small object, ranges read side by
/// side for a large one.
pub(crate) async fn read(
    client: &StorageClient,
    key: &Path,
    size: u64,
) -> Result<BoxStream<'static, Result<Bytes, object_store::Error>>, object_store::Error> {
    read_ahead(client, key, size, IN_FLIGHT).await
}

/// [`read`] with `in_flight` ranges at once.
pub(crate) async fn read_ahead(
    client: &StorageClient,
    key: &Path,
    size: u64,
    in_flight: usize,
) -> Result<BoxStream<'static, Result<Bytes, object_store::Error>>, object_store::Error> {
    if size <= 2 * RANGE {
        return Ok(client.store().get(key).await?.into_stream());
    }
    let store = client.store().clone();
    let key = key.clone();
    let ranges = (0..size.div_ceil(RANGE)).map(move |i| {
        let (store, key) = (store.clone(), key.clone());
        let range = i * RANGE..((i + 1) * RANGE).min(size);
        async move { store.get_range(&key, range).await }
    });
    Ok(futures::stream::iter(ranges).buffered(in_flight.max(1)).boxed())
}
