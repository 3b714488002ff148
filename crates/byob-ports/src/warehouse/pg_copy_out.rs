//! Reading PostgreSQL's binary COPY output into batches: integers, floats, numerics, dates and timestamps
//! arrive as the server keeps them, so nothing is parsed from text. Wire forms as in PostgreSQL's `int8send`,
//! `float8send`, `numeric_send`, `date_send` and `timestamp_send`; layout as in
//! <https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4>.

use bytes::{Buf, BytesMut};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime};

use super::{Batch, Cell, FieldKind, WarehouseError, push_span};

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default()
}

fn bad(what: &str) -> WarehouseError {
    WarehouseError::Database(format!("unreadable COPY data from PostgreSQL: {what}"))
}

/// Cuts complete tuples out of the byte stream, whatever the chunk boundaries.
#[derive(Debug)]
pub(super) struct CopyDecoder {
    kinds: Vec<FieldKind>,
    buffer: BytesMut,
    header_read: bool,
    pub(super) finished: bool,
}

impl CopyDecoder {
    pub(super) fn new(kinds: Vec<FieldKind>) -> Self {
        Self { kinds, buffer: BytesMut::new(), header_read: false, finished: false }
    }

    pub(super) fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// Decodes the complete tuples buffered into `batch`, stopping once it holds `max_rows` rows or `max_text`
    /// bytes of text; returns whether it stopped for that (more may be buffered).
    pub(super) fn decode(
        &mut self,
        batch: &mut Batch,
        max_rows: usize,
        max_text: usize,
    ) -> Result<bool, WarehouseError> {
        if !self.header_read {
            if self.buffer.len() < SIGNATURE.len() + 8 {
                return Ok(false);
            }
            if &self.buffer[..SIGNATURE.len()] != SIGNATURE {
                return Err(bad("no binary COPY signature"));
            }
            let extension = u32::from_be_bytes([self.buffer[15], self.buffer[16], self.buffer[17], self.buffer[18]]);
            let header = SIGNATURE.len() + 8 + extension as usize;
            if self.buffer.len() < header {
                return Ok(false);
            }
            self.buffer.advance(header);
            self.header_read = true;
        }
        let width = self.kinds.len();
        loop {
            if batch.cells.len() / width.max(1) >= max_rows || batch.text.len() >= max_text {
                return Ok(true);
            }
            let Some(end) = self.tuple_end()? else { return Ok(false) };
            if end == 2 {
                self.buffer.advance(2);
                self.finished = true;
                return Ok(false);
            }
            let tuple = self.buffer.split_to(end);
            let mut at = 2;
            for kind in &self.kinds {
                let len = i32::from_be_bytes([tuple[at], tuple[at + 1], tuple[at + 2], tuple[at + 3]]);
                at += 4;
                if len < 0 {
                    batch.cells.push(Cell::Null);
                    continue;
                }
                let value = &tuple[at..at + len as usize];
                at += len as usize;
                let cell = decode_value(*kind, value, &mut batch.text)?;
                batch.cells.push(cell);
            }
        }
    }

    /// The length of the first complete tuple in the buffer (2 for the trailer), or `None` while incomplete.
    fn tuple_end(&self) -> Result<Option<usize>, WarehouseError> {
        let b = &self.buffer;
        if b.len() < 2 {
            return Ok(None);
        }
        let count = i16::from_be_bytes([b[0], b[1]]);
        if count == -1 {
            return Ok(Some(2));
        }
        if usize::try_from(count).ok() != Some(self.kinds.len()) {
            return Err(bad(&format!("a row of {count} fields where {} were expected", self.kinds.len())));
        }
        let mut at = 2;
        for _ in 0..count {
            if b.len() < at + 4 {
                return Ok(None);
            }
            let len = i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
            at += 4;
            if len > 0 {
                at += len as usize;
            }
        }
        Ok((b.len() >= at).then_some(at))
    }
}

fn fixed<const N: usize>(value: &[u8]) -> Result<[u8; N], WarehouseError> {
    value.try_into().map_err(|_| bad(&format!("a {}-byte value where {N} were expected", value.len())))
}

pub(super) fn decode_value(kind: FieldKind, value: &[u8], text: &mut String) -> Result<Cell, WarehouseError> {
    Ok(match kind {
        FieldKind::Int16 => Cell::Integer(i64::from(i16::from_be_bytes(fixed(value)?))),
        FieldKind::Int32 => Cell::Integer(i64::from(i32::from_be_bytes(fixed(value)?))),
        FieldKind::Int64 => Cell::Integer(i64::from_be_bytes(fixed(value)?)),
        FieldKind::Float32 => Cell::Float(f64::from(f32::from_be_bytes(fixed(value)?))),
        FieldKind::Float64 => Cell::Float(f64::from_be_bytes(fixed(value)?)),
        FieldKind::Boolean => Cell::Boolean(fixed::<1>(value)?[0] != 0),
        FieldKind::Date => {
            let days = i32::from_be_bytes(fixed(value)?);
            let date = epoch().date().checked_add_signed(Duration::days(i64::from(days)));
            Cell::Date(date.ok_or_else(|| infinite("date"))?)
        }
        FieldKind::Timestamp => Cell::Timestamp(timestamp(i64::from_be_bytes(fixed(value)?))?),
        FieldKind::TimestampTz => Cell::TimestampTz(DateTime::from_naive_utc_and_offset(
            timestamp(i64::from_be_bytes(fixed(value)?))?,
            chrono::Utc,
        )),
        FieldKind::Decimal { .. } => {
            let start = text.len();
            numeric(value, text)?;
            let end = text.len();
            Cell::Decimal(super::Span {
                start: u32::try_from(start).unwrap_or(u32::MAX),
                end: u32::try_from(end).unwrap_or(u32::MAX),
            })
        }
        FieldKind::Text => {
            let s = std::str::from_utf8(value).map_err(|_| bad("text that is not UTF-8"))?;
            Cell::Text(push_span(text, s))
        }
    })
}

fn infinite(what: &str) -> WarehouseError {
    WarehouseError::Unsupported(format!(
        "an infinite or out-of-range {what} cannot be exported; filter it out or cast the column to text in the query"
    ))
}

fn timestamp(micros: i64) -> Result<NaiveDateTime, WarehouseError> {
    if micros == i64::MAX || micros == i64::MIN {
        return Err(infinite("timestamp"));
    }
    epoch().checked_add_signed(Duration::microseconds(micros)).ok_or_else(|| infinite("timestamp"))
}

/// `numeric_send`: digit count, weight (of the first base-10000 digit), sign, display scale, then the digits.
/// Written in plain notation with exactly `dscale` decimals, as PostgreSQL prints it.
fn numeric(value: &[u8], out: &mut String) -> Result<(), WarehouseError> {
    if value.len() < 8 {
        return Err(bad("a short numeric"));
    }
    let ndigits = usize::from(u16::from_be_bytes([value[0], value[1]]));
    let weight = i32::from(i16::from_be_bytes([value[2], value[3]]));
    let sign = u16::from_be_bytes([value[4], value[5]]);
    let dscale = usize::from(u16::from_be_bytes([value[6], value[7]]));
    if value.len() < 8 + 2 * ndigits {
        return Err(bad("a numeric shorter than its digits"));
    }
    match sign {
        0xC000 => return Err(WarehouseError::Unsupported("NaN cannot be exported as a decimal; filter it out".into())),
        0xD000 | 0xF000 => return Err(infinite("decimal")),
        _ => {}
    }
    let digit = |i: i32| -> u16 {
        usize::try_from(i)
            .ok()
            .filter(|&i| i < ndigits)
            .map_or(0, |i| u16::from_be_bytes([value[8 + 2 * i], value[9 + 2 * i]]))
    };
    if sign == 0x4000 && (0..ndigits).any(|i| digit(i32::try_from(i).unwrap_or(0)) != 0) {
        out.push('-');
    }
    // Integer part: base-10000 digits 0..=weight.
    if weight < 0 {
        out.push('0');
    } else {
        for i in 0..=weight {
            let d = digit(i);
            if i == 0 {
                out.push_str(&d.to_string());
            } else {
                out.push_str(&format!("{d:04}"));
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut written = 0;
        let mut i = weight + 1;
        while written < dscale {
            let group = format!("{:04}", digit(i));
            for c in group.chars() {
                if written < dscale {
                    out.push(c);
                    written += 1;
                }
            }
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn numeric_bytes(ndigits: &[u16], weight: i16, sign: u16, dscale: u16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&u16::try_from(ndigits.len()).unwrap().to_be_bytes());
        v.extend_from_slice(&weight.to_be_bytes());
        v.extend_from_slice(&sign.to_be_bytes());
        v.extend_from_slice(&dscale.to_be_bytes());
        for d in ndigits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    fn text(bytes: &[u8]) -> String {
        let mut out = String::new();
        numeric(bytes, &mut out).unwrap();
        out
    }

    #[test]
    fn numerics_print_as_postgresql_does() {
        assert_eq!(text(&numeric_bytes(&[12, 5000], 0, 0, 2)), "12.50");
        assert_eq!(text(&numeric_bytes(&[], 0, 0, 0)), "0");
        assert_eq!(text(&numeric_bytes(&[], 0, 0, 3)), "0.000");
        assert_eq!(text(&numeric_bytes(&[1, 0], 1, 0x4000, 0)), "-10000");
        assert_eq!(text(&numeric_bytes(&[1], -2, 0, 8)), "0.00000001");
        assert_eq!(text(&numeric_bytes(&[9999, 9999, 9999], 2, 0, 0)), "999999999999");
        assert_eq!(text(&numeric_bytes(&[1234, 5678], 0, 0x4000, 5)), "-1234.56780");
    }
}
