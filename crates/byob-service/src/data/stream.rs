//! An object's bytes for a blocking reader (the CSV parser): an async task pulls the HTTP body and hands it
//! over in chunks of about 1 MiB through a bounded channel, so the two sides switch rarely and memory stays
//! bounded (4 chunks in flight).

use std::io::Read;

use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;

use crate::jobs::JobHandle;

const CHUNK: usize = 1024 * 1024;
const IN_FLIGHT: usize = 4;

/// The prefix of an I/O error that came from the bucket rather than the file's content.
pub(crate) const STORAGE_READ: &str = "reading the object from the bucket failed";

pub(crate) struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while !self.current.has_remaining() {
            match self.rx.blocking_recv() {
                Some(Ok(next)) => self.current = next,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// Starts pulling `stream`, counting its bytes into the job's progress.
pub(crate) fn blocking_reader<S>(mut stream: S, handle: JobHandle) -> ChannelReader
where
    S: Stream<Item = Result<Bytes, object_store::Error>> + Send + Unpin + 'static,
{
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    tokio::spawn(async move {
        let mut gathered = BytesMut::with_capacity(CHUNK);
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => {
                    handle.add_bytes(bytes.len() as u64);
                    gathered.extend_from_slice(&bytes);
                    if gathered.len() >= CHUNK && tx.send(Ok(gathered.split().freeze())).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(std::io::Error::other(format!("{STORAGE_READ}: {e}")))).await;
                    return;
                }
            }
        }
        if !gathered.is_empty() {
            let _ = tx.send(Ok(gathered.freeze())).await;
        }
    });
    ChannelReader { rx, current: Bytes::new() }
}
