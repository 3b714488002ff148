//! CSV per RFC 4180: a header, fields quoted only when they must be, quotes doubled, UTF-8. A NULL is written as
//! the configured token (empty by default) and an empty string as `""`, so the two stay apart, as PostgreSQL's
//! `COPY … CSV` does. Written by hand because the `csv` crate cannot quote one field and not the next by
//! anything but its content, which is what telling NULL from `""` needs.

use std::io::{self, Write};

use byob_ports::warehouse::{Batch, Cell, Field};

use super::{Compressed, Encoder, text::push_plain};
use crate::data::export::encode::sink::PartSink;

pub(super) struct CsvEncoder {
    out: Compressed,
    line_end: &'static str,
    null: String,
    kinds: Vec<byob_ports::warehouse::FieldKind>,
    scratch: String,
}

fn needs_quotes(text: &str) -> bool {
    text.is_empty() || text.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
}

fn push_field(out: &mut String, text: &str, null: &str) {
    if needs_quotes(text) || (!null.is_empty() && text == null) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

impl CsvEncoder {
    pub(super) fn new(out: Compressed, fields: &[Field], crlf: bool, null: String) -> io::Result<Self> {
        let line_end = if crlf { "\r\n" } else { "\n" };
        let mut header = String::new();
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                header.push(',');
            }
            push_field(&mut header, &f.name, "");
        }
        header.push_str(line_end);
        let mut encoder =
            Self { out, line_end, null, kinds: fields.iter().map(|f| f.kind).collect(), scratch: String::new() };
        encoder.out.write_all(header.as_bytes())?;
        Ok(encoder)
    }
}

impl Encoder for CsvEncoder {
    fn batch(&mut self, batch: &Batch, rows: std::ops::Range<usize>) -> io::Result<()> {
        let width = batch.width;
        let out = &mut self.scratch;
        out.clear();
        for row in rows {
            for (i, cell) in batch.cells[row * width..(row + 1) * width].iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match cell {
                    Cell::Null => out.push_str(&self.null),
                    Cell::Text(span) => push_field(out, batch.str(*span), &self.null),
                    other => push_plain(out, other, batch, self.kinds[i]),
                }
            }
            out.push_str(self.line_end);
        }
        self.out.write_all(out.as_bytes())
    }

    fn written(&self) -> u64 {
        self.out.written()
    }

    fn finish(self: Box<Self>) -> io::Result<PartSink> {
        self.out.finish()
    }
}
