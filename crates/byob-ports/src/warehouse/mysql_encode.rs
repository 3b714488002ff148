//! The rows of a MySQL load as `LOAD DATA`'s default text format (tab-separated, backslash escapes, `\N` for
//! NULL), written in segments. A new table's decimal columns start narrow; a segment ends just before a row whose
//! decimals they cannot hold as written, byob widens them (an `ALTER` of the rows so far: usually none, since
//! scales show in the first rows) and the next segment goes on from that row. The table ends with each decimal
//! column at its data's own scale, without a copy of the whole table at the end.

use bytes::Bytes;
use chrono::{NaiveDateTime, Timelike};
use tokio::sync::mpsc;

use super::{
    Batch, Cell, LoadItem,
    decimal::DecimalShape,
    text::{push_date, push_datetime},
};

/// Bytes gathered before each chunk goes to the server.
const CHUNK: usize = 256 * 1024;
/// MySQL's widest decimal: 65 digits, at most 30 after the point.
pub(super) const MAX_PRECISION: u32 = 65;
pub(super) const MAX_SCALE: u32 = 30;
/// Whole digits a new decimal column keeps room for, whatever its scale (later appends may be larger).
const WHOLE_DIGITS: u32 = 35;

/// What a decimal column of the table being built holds: whole digits and digits after the point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Capacity {
    pub integer: u32,
    pub scale: u32,
}

impl Capacity {
    pub(super) const START: Self = Self { integer: WHOLE_DIGITS, scale: 0 };

    pub(super) fn sql_type(self) -> String {
        format!("DECIMAL({},{})", self.integer + self.scale, self.scale)
    }

    fn holds(self, shape: DecimalShape) -> bool {
        shape.scale <= self.scale && shape.integer <= self.integer
    }

    /// The narrowest capacity holding both this one and `shape`, or why MySQL has none.
    fn widened(self, shape: DecimalShape) -> Result<Self, String> {
        let scale = self.scale.max(shape.scale);
        if scale > MAX_SCALE {
            return Err(format!("has {scale} digits after the point; MySQL's decimals hold at most {MAX_SCALE}"));
        }
        let integer = self.integer.max(shape.integer);
        if integer + scale > MAX_PRECISION {
            return Err(format!("needs {} digits; MySQL's decimals hold at most {MAX_PRECISION}", integer + scale));
        }
        Ok(Self { integer: integer.max(WHOLE_DIGITS.min(MAX_PRECISION - scale)), scale })
    }
}

/// Why a segment ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum SegmentEnd {
    /// Every row is written.
    Finished,
    /// The next row's decimals need wider columns (now in [`Encoder::capacity`]).
    Outgrown,
    /// The producer stopped before its end: the load is undone.
    Stopped,
    /// The server stopped reading (its statement failed).
    Unread,
    /// A value no MySQL decimal holds.
    Refused(String),
}

/// Appends `text` escaped for LOAD DATA's default format.
pub(super) fn push_text(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    if memchr::memchr3(b'\\', b'\t', b'\n', bytes).is_none() && memchr::memchr2(b'\r', 0, bytes).is_none() {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => out.extend_from_slice(b"\\0"),
            other => out.push(other),
        }
    }
}

/// A timestamp at `DATETIME(6)`'s precision (microseconds; the server would round finer ones with a warning).
fn micros(t: NaiveDateTime) -> NaiveDateTime {
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

fn push_cell(out: &mut Vec<u8>, scratch: &mut String, cell: &Cell, batch: &Batch) {
    scratch.clear();
    match cell {
        Cell::Null => out.extend_from_slice(b"\\N"),
        Cell::Integer(v) => out.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes()),
        Cell::Float(v) => out.extend_from_slice(v.to_string().as_bytes()),
        Cell::Decimal(v) => out.extend_from_slice(batch.str(*v).as_bytes()),
        Cell::Boolean(v) => out.push(if *v { b'1' } else { b'0' }),
        Cell::Date(d) => push_date(scratch, *d),
        Cell::Timestamp(t) => push_datetime(scratch, micros(*t), ' '),
        Cell::TimestampTz(t) => push_datetime(scratch, micros(t.naive_utc()), ' '),
        Cell::Text(v) => push_text(out, batch.str(*v)),
    }
    out.extend_from_slice(scratch.as_bytes());
}

/// The producer's rows, written segment by segment.
pub(super) struct Encoder {
    rows: mpsc::Receiver<LoadItem>,
    width: usize,
    /// Each decimal column and what the table's column holds; empty when the table's types are fixed (`append`:
    /// the server's warnings refuse what does not fit).
    pub capacity: Vec<(usize, Capacity)>,
    /// A batch not yet fully written, and its next row.
    carry: Option<(Batch, usize)>,
    /// Rows written so far, all segments.
    pub written: u64,
}

impl Encoder {
    pub(super) fn new(rows: mpsc::Receiver<LoadItem>, width: usize, capacity: Vec<(usize, Capacity)>) -> Self {
        Self { rows, width: width.max(1), capacity, carry: None, written: 0 }
    }

    /// Whether the row's decimals fit the columns; if not, widens them to hold the rest of its batch too (so
    /// scales growing row by row cost one widening, not one each).
    fn outgrows(&mut self, batch: &Batch, row: usize) -> Result<bool, String> {
        let width = self.width;
        let shape_at = |r: usize, column: usize| match batch.cells.get(r * width + column) {
            Some(Cell::Decimal(span)) => {
                let mut shape = DecimalShape::default();
                shape.fit(batch.str(*span));
                Some(shape)
            }
            _ => None,
        };
        if self.capacity.iter().all(|(c, cap)| shape_at(row, *c).is_none_or(|s| cap.holds(s))) {
            return Ok(false);
        }
        let rows = batch.cells.len() / width;
        for (column, capacity) in &mut self.capacity {
            for r in row..rows {
                if let Some(shape) = shape_at(r, *column)
                    && !capacity.holds(shape)
                {
                    *capacity = capacity.widened(shape)?;
                }
            }
        }
        Ok(true)
    }

    /// Writes rows to `out` until their end, or until a row outgrows the table's decimal columns.
    pub(super) async fn segment(&mut self, out: mpsc::Sender<std::io::Result<Bytes>>) -> SegmentEnd {
        let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK + 64 * 1024);
        let mut scratch = String::new();
        let end = loop {
            let (batch, start) = match self.carry.take() {
                Some(carried) => carried,
                None => match self.rows.recv().await {
                    Some(LoadItem::Batch(batch)) => (batch, 0),
                    Some(LoadItem::End) => break SegmentEnd::Finished,
                    None => break SegmentEnd::Stopped,
                },
            };
            let rows = batch.cells.len() / self.width;
            let mut stopped = None;
            for r in start..rows {
                match self.outgrows(&batch, r) {
                    Ok(false) => {}
                    Ok(true) => {
                        stopped = Some((r, SegmentEnd::Outgrown));
                        break;
                    }
                    Err(why) => {
                        stopped = Some((r, SegmentEnd::Refused(why)));
                        break;
                    }
                }
                let row = &batch.cells[r * self.width..(r + 1) * self.width];
                for (i, cell) in row.iter().enumerate() {
                    if i > 0 {
                        chunk.push(b'\t');
                    }
                    push_cell(&mut chunk, &mut scratch, cell, &batch);
                }
                chunk.push(b'\n');
                self.written += 1;
                if chunk.len() >= CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK + 64 * 1024));
                    if out.send(Ok(Bytes::from(full))).await.is_err() {
                        return SegmentEnd::Unread;
                    }
                }
            }
            match stopped {
                Some((r, end)) => {
                    self.carry = Some((batch, r));
                    break end;
                }
                None => batch.done(),
            }
        };
        let last = match end {
            SegmentEnd::Stopped => Err(std::io::Error::other("byob: the rows stopped before their end")),
            _ => Ok(Bytes::from(chunk)),
        };
        if out.send(last).await.is_err() && end != SegmentEnd::Stopped {
            return SegmentEnd::Unread;
        }
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::push_span;

    fn batch(values: &[&str]) -> Batch {
        let mut b = Batch { width: 1, ..Batch::default() };
        for v in values {
            let span = push_span(&mut b.text, v);
            b.cells.push(Cell::Decimal(span));
        }
        b
    }

    async fn segments(values: &[&[&str]]) -> (Vec<(SegmentEnd, String)>, Vec<Capacity>) {
        let (tx, rx) = mpsc::channel(8);
        for v in values {
            tx.send(LoadItem::Batch(batch(v))).await.ok();
        }
        tx.send(LoadItem::End).await.ok();
        let mut encoder = Encoder::new(rx, 1, vec![(0, Capacity::START)]);
        let mut out = Vec::new();
        let mut capacities = Vec::new();
        loop {
            let (btx, mut brx) = mpsc::channel(16);
            let end = encoder.segment(btx).await;
            let mut text = String::new();
            while let Some(Ok(bytes)) = brx.recv().await {
                text.push_str(&String::from_utf8_lossy(&bytes));
            }
            capacities.push(encoder.capacity[0].1);
            let done = end != SegmentEnd::Outgrown;
            out.push((end, text));
            if done {
                return (out, capacities);
            }
        }
    }

    #[tokio::test]
    async fn a_segment_ends_before_the_row_that_needs_wider_decimals() {
        let (segments, capacities) = segments(&[&["1", "2"], &["3", "4.5", "6.25", "7"], &["8.125"]]).await;
        assert_eq!(segments[0], (SegmentEnd::Outgrown, "1\n2\n3\n".into()));
        // One widening holds the rest of the batch (4.5 and 6.25 → two places).
        assert_eq!(capacities[0], Capacity { integer: 35, scale: 2 });
        assert_eq!(segments[1], (SegmentEnd::Outgrown, "4.5\n6.25\n7\n".into()));
        assert_eq!(segments[2], (SegmentEnd::Finished, "8.125\n".into()));
        assert_eq!(capacities[2].sql_type(), "DECIMAL(38,3)");
    }

    #[tokio::test]
    async fn a_value_no_mysql_decimal_holds_is_refused() {
        let (segments, _) = segments(&[&["0.1234567890123456789012345678901"]]).await;
        assert!(matches!(&segments[0].0, SegmentEnd::Refused(why) if why.contains("at most 30")), "{segments:?}");
    }

    #[test]
    fn text_is_escaped_for_load_data() {
        let mut out = Vec::new();
        push_text(&mut out, "a\tb\nc\\d\re\0f");
        assert_eq!(out, b"a\\tb\\nc\\\\d\\re\\0f");
        let mut plain = Vec::new();
        push_text(&mut plain, "unicode é 中文 🎉");
        assert_eq!(plain, "unicode é 中文 🎉".as_bytes());
    }
}
