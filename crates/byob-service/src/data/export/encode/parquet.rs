//! Parquet through the `arrow` and `parquet` crates: logical types from the source columns (integers of their
//! width, floats, `DECIMAL(p,s)` where the column declares a precision of at most 38, DATE, TIMESTAMP in
//! microseconds, with `UTC` for zoned timestamps, BOOLEAN, UTF8 strings). A decimal without a declared precision
//! (SQLite's, PostgreSQL's bare `numeric`) is written as a UTF8 string holding the exact value. Row groups are
//! flushed once their buffers hold 8 MiB (or 512k rows), which bounds memory whatever the row count.

use std::{io, sync::Arc};

use arrow_array::{
    ArrayRef, RecordBatch,
    builder::{
        BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder, Int16Builder, Int32Builder,
        Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
    },
};
use arrow_schema::{DataType, Field as ArrowField, Schema, TimeUnit};
use byob_core::export::Compression;
use byob_ports::warehouse::{Batch, Cell, Field, FieldKind};
use chrono::NaiveDate;
use parquet::{
    arrow::ArrowWriter,
    basic::{Compression as ParquetCompression, ZstdLevel},
    file::properties::WriterProperties,
};

use super::{Encoder, sink::PartSink};

const ROW_GROUP_BYTES: usize = 8 << 20;

fn decimal_type(kind: FieldKind) -> Option<(u8, i8)> {
    match kind {
        FieldKind::Decimal { precision: Some(p), scale } if (1..=38).contains(&p) => {
            Some((u8::try_from(p).ok()?, i8::try_from(scale.unwrap_or(0)).ok()?))
        }
        _ => None,
    }
}

fn data_type(kind: FieldKind) -> DataType {
    match kind {
        FieldKind::Int16 => DataType::Int16,
        FieldKind::Int32 => DataType::Int32,
        FieldKind::Int64 => DataType::Int64,
        FieldKind::Float32 => DataType::Float32,
        FieldKind::Float64 => DataType::Float64,
        FieldKind::Decimal { .. } => match decimal_type(kind) {
            Some((p, s)) => DataType::Decimal128(p, s),
            None => DataType::Utf8,
        },
        FieldKind::Boolean => DataType::Boolean,
        FieldKind::Date => DataType::Date32,
        FieldKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        FieldKind::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        FieldKind::Text => DataType::Utf8,
    }
}

fn arrow_schema(fields: &[Field]) -> Schema {
    Schema::new(fields.iter().map(|f| ArrowField::new(&f.name, data_type(f.kind), true)).collect::<Vec<_>>())
}

pub(super) struct ParquetEncoder {
    writer: ArrowWriter<PartSink>,
    schema: Arc<Schema>,
    kinds: Vec<FieldKind>,
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl ParquetEncoder {
    pub(super) fn new(sink: PartSink, fields: &[Field], compression: Compression) -> io::Result<Self> {
        let schema = Arc::new(arrow_schema(fields));
        let codec = match compression {
            Compression::Zstd => ParquetCompression::ZSTD(ZstdLevel::default()),
            Compression::Snappy => ParquetCompression::SNAPPY,
            _ => ParquetCompression::UNCOMPRESSED,
        };
        let props =
            WriterProperties::builder().set_compression(codec).set_max_row_group_row_count(Some(512 << 10)).build();
        let writer = ArrowWriter::try_new(sink, schema.clone(), Some(props)).map_err(|e| invalid(e.to_string()))?;
        Ok(Self { writer, schema, kinds: fields.iter().map(|f| f.kind).collect() })
    }
}

/// A decimal's canonical text (`-12.50`) as an integer of `scale` decimals.
fn scaled(text: &str, scale: i8) -> Option<i128> {
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |rest| (true, rest));
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let scale = usize::try_from(scale).ok()?;
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > scale {
        return None;
    }
    let mut value: i128 = 0;
    for c in whole.chars().chain(fraction.chars()).chain(std::iter::repeat_n('0', scale - fraction.len())) {
        value = value.checked_mul(10)?.checked_add(i128::from(c.to_digit(10)?))?;
    }
    Some(if negative { -value } else { value })
}

fn column(kind: FieldKind, batch: &Batch, rows: &std::ops::Range<usize>, index: usize) -> io::Result<ArrayRef> {
    let width = batch.width;
    let cells = rows.clone().map(|r| &batch.cells[r * width + index]);
    let n = rows.len();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let wrong = |cell: &Cell| invalid(format!("a {cell:?} in a {kind:?} column"));
    Ok(match data_type(kind) {
        DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            let values: Vec<Option<i64>> = cells
                .map(|c| match c {
                    Cell::Null => Ok(None),
                    Cell::Integer(v) => Ok(Some(*v)),
                    other => Err(wrong(other)),
                })
                .collect::<io::Result<_>>()?;
            match kind {
                FieldKind::Int16 => {
                    let mut b = Int16Builder::with_capacity(n);
                    values.iter().for_each(|v| b.append_option(v.and_then(|v| i16::try_from(v).ok())));
                    Arc::new(b.finish())
                }
                FieldKind::Int32 => {
                    let mut b = Int32Builder::with_capacity(n);
                    values.iter().for_each(|v| b.append_option(v.and_then(|v| i32::try_from(v).ok())));
                    Arc::new(b.finish())
                }
                _ => {
                    let mut b = Int64Builder::with_capacity(n);
                    values.iter().for_each(|v| b.append_option(*v));
                    Arc::new(b.finish())
                }
            }
        }
        DataType::Float32 => {
            let mut b = Float32Builder::with_capacity(n);
            for c in cells {
                match c {
                    Cell::Null => b.append_null(),
                    #[allow(clippy::cast_possible_truncation)]
                    Cell::Float(v) => b.append_value(*v as f32),
                    other => return Err(wrong(other)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Float64 => {
            let mut b = Float64Builder::with_capacity(n);
            for c in cells {
                match c {
                    Cell::Null => b.append_null(),
                    Cell::Float(v) => b.append_value(*v),
                    other => return Err(wrong(other)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Decimal128(p, s) => {
            let mut b = Decimal128Builder::with_capacity(n);
            for c in cells {
                match c {
                    Cell::Null => b.append_null(),
                    Cell::Decimal(span) => {
                        let text = batch.str(*span);
                        let v = scaled(text, s)
                            .ok_or_else(|| invalid(format!("`{text}` does not fit DECIMAL({p},{s})")))?;
                        b.append_value(v);
                    }
                    other => return Err(wrong(other)),
                }
            }
            Arc::new(b.finish().with_precision_and_scale(p, s).map_err(|e| invalid(e.to_string()))?)
        }
        DataType::Boolean => {
            let mut b = BooleanBuilder::with_capacity(n);
            for c in cells {
                match c {
                    Cell::Null => b.append_null(),
                    Cell::Boolean(v) => b.append_value(*v),
                    other => return Err(wrong(other)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Date32 => {
            let mut b = Date32Builder::with_capacity(n);
            for c in cells {
                match c {
                    Cell::Null => b.append_null(),
                    Cell::Date(d) => {
                        b.append_value(i32::try_from((*d - epoch).num_days()).map_err(|_| wrong(c))?);
                    }
                    other => return Err(wrong(other)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Timestamp(_, zone) => {
            let mut b = TimestampMicrosecondBuilder::with_capacity(n);
            for c in cells {
                match c {
                    Cell::Null => b.append_null(),
                    Cell::Timestamp(t) => b.append_value(t.and_utc().timestamp_micros()),
                    Cell::TimestampTz(t) => b.append_value(t.timestamp_micros()),
                    other => return Err(wrong(other)),
                }
            }
            Arc::new(b.finish().with_timezone_opt(zone))
        }
        _ => {
            let mut b = StringBuilder::with_capacity(n, 16 * n);
            let mut text = String::new();
            for c in cells {
                match c {
                    Cell::Null => b.append_null(),
                    Cell::Text(span) | Cell::Decimal(span) => b.append_value(batch.str(*span)),
                    other => {
                        text.clear();
                        super::text::push_plain(&mut text, other, batch, kind);
                        b.append_value(&text);
                    }
                }
            }
            Arc::new(b.finish())
        }
    })
}

impl Encoder for ParquetEncoder {
    fn batch(&mut self, batch: &Batch, rows: std::ops::Range<usize>) -> io::Result<()> {
        let columns = self
            .kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| column(*kind, batch, &rows, i))
            .collect::<io::Result<Vec<_>>>()?;
        let record = RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| invalid(e.to_string()))?;
        self.writer.write(&record).map_err(|e| invalid(e.to_string()))?;
        if self.writer.memory_size() >= ROW_GROUP_BYTES {
            self.writer.flush().map_err(|e| invalid(e.to_string()))?;
        }
        Ok(())
    }

    fn written(&self) -> u64 {
        self.writer.inner().written() + self.writer.in_progress_size() as u64
    }

    fn finish(self: Box<Self>) -> io::Result<PartSink> {
        self.writer.into_inner().map_err(|e| invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::scaled;

    #[test]
    fn decimals_scale_exactly() {
        assert_eq!(scaled("12.5", 2), Some(1250));
        assert_eq!(scaled("-0.01", 2), Some(-1));
        assert_eq!(
            scaled("99999999999999999999999999999999999.999", 3),
            Some(99_999_999_999_999_999_999_999_999_999_999_999_999)
        );
        assert_eq!(scaled("1.234", 2), None);
        assert_eq!(scaled("7", 0), Some(7));
    }
}
