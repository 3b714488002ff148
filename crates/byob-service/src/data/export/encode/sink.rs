//! Where an encoder's bytes go: cut into parts of a fixed size and handed to the uploader over a bounded
//! channel, hashed and counted on the way. At most a few parts are ever in memory.

use std::io::{self, Write};

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::jobs::JobHandle;

/// What the encoding thread tells the uploader.
#[derive(Debug)]
pub(crate) enum Piece {
    /// File `part` (1-based) starts.
    Begin {
        part: u32,
    },
    Data(Bytes),
    /// The file is complete.
    End {
        rows: u64,
        bytes: u64,
        sha256: String,
    },
}

/// Parts grow with the file: the first size (5 MiB) for 2,000 parts, then doubling every 2,000, so a file of up
/// to ~310 GB fits in S3's 10,000 parts while small files keep small buffers.
fn part_size(first: usize, parts_sent: usize) -> usize {
    first << (parts_sent / 2000).min(6)
}

/// Sent parts kept for reuse once the uploader has dropped them.
const REUSE: usize = 6;

pub(crate) struct PartSink {
    tx: mpsc::Sender<Piece>,
    buffer: BytesMut,
    /// Parts handed to the uploader, oldest first: once only this copy is left, its buffer is reused. Reusing
    /// a few buffers instead of allocating one per part keeps the allocator from holding freed multi-MiB
    /// blocks in its per-thread arenas.
    sent: VecDeque<Bytes>,
    first_part_size: usize,
    part_size: usize,
    parts_sent: usize,
    hasher: Sha256,
    written: u64,
    handle: JobHandle,
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the upload stopped")
}

impl PartSink {
    /// Announces file `part` and returns its sink.
    pub(crate) fn begin(tx: mpsc::Sender<Piece>, part: u32, part_size: usize, handle: JobHandle) -> io::Result<Self> {
        tx.blocking_send(Piece::Begin { part }).map_err(|_| gone())?;
        Ok(Self {
            tx,
            buffer: BytesMut::with_capacity(part_size),
            sent: VecDeque::new(),
            first_part_size: part_size,
            part_size,
            parts_sent: 0,
            hasher: Sha256::new(),
            written: 0,
            handle,
        })
    }

    /// Bytes written to this file so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.parts_sent += 1;
        self.part_size = part_size(self.first_part_size, self.parts_sent);
        let next = self.reusable().unwrap_or_else(|| BytesMut::with_capacity(self.part_size));
        let full = std::mem::replace(&mut self.buffer, next).freeze();
        self.sent.push_back(full.clone());
        if self.sent.len() > REUSE {
            self.sent.pop_front();
        }
        self.tx.blocking_send(Piece::Data(full)).map_err(|_| gone())
    }

    /// The buffer of a sent part nobody else holds any more, emptied.
    fn reusable(&mut self) -> Option<BytesMut> {
        for _ in 0..self.sent.len() {
            let part = self.sent.pop_front()?;
            match part.try_into_mut() {
                Ok(mut buffer) if buffer.capacity() >= self.part_size => {
                    buffer.clear();
                    return Some(buffer);
                }
                Ok(_) => {}
                Err(still_held) => self.sent.push_back(still_held),
            }
        }
        None
    }

    /// Sends the rest and ends the file.
    pub(crate) fn close(mut self, rows: u64) -> io::Result<mpsc::Sender<Piece>> {
        self.send_buffer()?;
        let sha256 = hex::encode(self.hasher.finalize_reset());
        self.tx.blocking_send(Piece::End { rows, bytes: self.written, sha256 }).map_err(|_| gone())?;
        Ok(self.tx)
    }
}

impl Write for PartSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.hasher.update(data);
        self.written += data.len() as u64;
        self.handle.add_bytes(data.len() as u64);
        let mut rest = data;
        while !rest.is_empty() {
            let room = self.part_size - self.buffer.len();
            let take = room.min(rest.len());
            self.buffer.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buffer.len() >= self.part_size {
                self.send_buffer()?;
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
