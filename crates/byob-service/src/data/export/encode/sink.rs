//! Where an encoder's bytes go: cut into parts of a fixed size and handed to the uploader over a bounded
//! channel, hashed and counted on the way. At most a few parts are ever in memory.

use std::io::{self, Write};

use bytes::Bytes;
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

pub(crate) struct PartSink {
    tx: mpsc::Sender<Piece>,
    buffer: Vec<u8>,
    part_size: usize,
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
        Ok(Self { tx, buffer: Vec::with_capacity(part_size), part_size, hasher: Sha256::new(), written: 0, handle })
    }

    /// Bytes written to this file so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.part_size));
        self.tx.blocking_send(Piece::Data(Bytes::from(full))).map_err(|_| gone())
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
