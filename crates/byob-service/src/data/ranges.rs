//! Reading a large object as several ranges at once, in order: one stream from the bucket is bounded by its
//! round trips, and the store serves parallel ranges at several times the rate. Memory stays at the ranges in
//! flight.

use byob_ports::storage::StorageClient;
use bytes::Bytes;
use futures::{StreamExt, stream::BoxStream};
use object_store::{ObjectStoreExt, path::Path};

/// The size of one range.
const RANGE: u64 = 8 << 20;
/// Ranges read at once.
const IN_FLIGHT: usize = 4;

/// The object's bytes from its start, `size` of them: one plain stream for a small object, ranges read side by
/// side for a large one.
pub(crate) async fn read(
    client: &StorageClient,
    key: &Path,
    size: u64,
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
    Ok(futures::stream::iter(ranges).buffered(IN_FLIGHT).boxed())
}
