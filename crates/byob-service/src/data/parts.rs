//! Gathering a stream's small chunks into parts of one size for byob's own multipart writes: every part but the
//! last exactly `PART` bytes (GCS takes multiples of 256 KiB before the last), each in a buffer of its own size,
//! so the buffer never grows by doubling.

use bytes::{Bytes, BytesMut};

/// The size of a part byob writes (S3's parts are at least 5 MiB).
pub(crate) const PART: usize = 8 << 20;
/// Room past a part for the chunk that crosses it (the HTTP layer hands over far less at once).
const SLACK: usize = 1 << 20;

pub(crate) struct Gatherer {
    buf: BytesMut,
}

impl Gatherer {
    pub(crate) fn new() -> Self {
        Self { buf: BytesMut::with_capacity(PART + SLACK) }
    }

    /// Adds a chunk; returns the parts it completed (usually none, at most a few).
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        self.buf.extend_from_slice(chunk);
        let mut parts = Vec::new();
        while self.buf.len() >= PART {
            parts.push(self.buf.split_to(PART).freeze());
            self.buf.reserve(PART + SLACK);
        }
        parts
    }

    /// Adds a chunk it may keep as it is: one of exactly a part's size that arrives on a part's boundary (a range
    /// read of `PART` bytes) becomes that part without a copy.
    pub(crate) fn push_bytes(&mut self, chunk: Bytes) -> Vec<Bytes> {
        if self.buf.is_empty() && chunk.len() == PART {
            return vec![chunk];
        }
        self.push(&chunk)
    }

    /// What is left: the last part, if any.
    pub(crate) fn finish(self) -> Option<Bytes> {
        (!self.buf.is_empty()).then(|| self.buf.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_exact_until_the_last() {
        let mut g = Gatherer::new();
        let chunk = vec![1u8; 3 << 20];
        let mut sizes = Vec::new();
        for _ in 0..6 {
            sizes.extend(g.push(&chunk).iter().map(Bytes::len));
        }
        assert_eq!(sizes, [PART, PART]);
        assert_eq!(g.finish().map(|b| b.len()), Some((18 << 20) - 2 * PART));
    }

    #[test]
    fn a_whole_part_on_a_boundary_is_kept_as_it_is() {
        let mut g = Gatherer::new();
        let whole = Bytes::from(vec![7u8; PART]);
        let parts = g.push_bytes(whole.clone());
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].as_ptr(), whole.as_ptr(), "the range's own buffer, not a copy");
        // Off a boundary it is gathered like any chunk.
        assert!(g.push_bytes(Bytes::from(vec![1u8; 10])).is_empty());
        let parts = g.push_bytes(whole);
        assert_eq!(parts.iter().map(Bytes::len).collect::<Vec<_>>(), [PART]);
        assert_eq!(g.finish().map(|b| b.len()), Some(10));
    }
}
