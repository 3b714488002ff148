//! Encoders of the export formats, writing into a [`PartSink`] (through gzip or zstd for CSV and JSON Lines).

mod csv;
mod jsonl;
mod parquet;
pub(crate) mod sink;
mod text;

use std::io::{self, Write};

use byob_core::export::{Compression, ExportFormat, ExportOptions, LineEnding};
use byob_ports::warehouse::{Batch, Field};

use sink::PartSink;

/// Writes rows of one file.
pub(crate) trait Encoder: Send {
    /// Writes rows `rows` of the batch.
    fn batch(&mut self, batch: &Batch, rows: std::ops::Range<usize>) -> io::Result<()>;
    /// Bytes of the file so far (as stored: after compression).
    fn written(&self) -> u64;
    /// Writes what the format needs at the end and returns the sink.
    fn finish(self: Box<Self>) -> io::Result<PartSink>;
}

/// A whole-file compression around the sink.
pub(crate) enum Compressed {
    Plain(PartSink),
    Gzip(flate2::write::GzEncoder<PartSink>),
    Zstd(zstd::stream::write::Encoder<'static, PartSink>),
}

impl Compressed {
    fn new(sink: PartSink, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::Gzip => Self::Gzip(flate2::write::GzEncoder::new(sink, flate2::Compression::fast())),
            Compression::Zstd => Self::Zstd(zstd::stream::write::Encoder::new(sink, 3)?),
            Compression::None | Compression::Snappy => Self::Plain(sink),
        })
    }

    fn written(&self) -> u64 {
        match self {
            Self::Plain(s) => s.written(),
            Self::Gzip(g) => g.get_ref().written(),
            Self::Zstd(z) => z.get_ref().written(),
        }
    }

    fn finish(self) -> io::Result<PartSink> {
        match self {
            Self::Plain(s) => Ok(s),
            Self::Gzip(g) => g.finish(),
            Self::Zstd(z) => z.finish(),
        }
    }
}

impl Write for Compressed {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.write(data),
            Self::Gzip(g) => g.write(data),
            Self::Zstd(z) => z.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The encoder of one file of `format`.
pub(crate) fn encoder(
    sink: PartSink,
    format: ExportFormat,
    compression: Compression,
    options: &ExportOptions,
    fields: &[Field],
) -> io::Result<Box<dyn Encoder>> {
    Ok(match format {
        ExportFormat::Csv => Box::new(csv::CsvEncoder::new(
            Compressed::new(sink, compression)?,
            fields,
            options.line_ending == LineEnding::Crlf,
            options.null_value.clone(),
        )?),
        ExportFormat::Jsonl => {
            Box::new(jsonl::JsonlEncoder::new(Compressed::new(sink, compression)?, fields, options.decimals))
        }
        ExportFormat::Parquet => Box::new(parquet::ParquetEncoder::new(sink, fields, compression)?),
    })
}
