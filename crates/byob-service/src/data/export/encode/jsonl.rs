//! JSON Lines: one object per row, keys in column order, typed values: integers and floats as numbers (a NaN or
//! an infinity, which JSON cannot hold, as a string), decimals as strings unless asked for numbers, booleans,
//! dates and timestamps as ISO-8601 strings, NULL as `null`.

use std::io::{self, Write};

use byob_core::export::DecimalsAs;
use byob_ports::warehouse::{Batch, Cell, Field, FieldKind};

use super::{Compressed, Encoder, text::push_plain};
use crate::data::export::encode::sink::PartSink;

pub(super) struct JsonlEncoder {
    out: Compressed,
    /// `"name":` of each column, escaped once.
    keys: Vec<String>,
    kinds: Vec<FieldKind>,
    decimals: DecimalsAs,
    scratch: String,
    value: String,
}

fn push_json_string(out: &mut String, text: &str) {
    // serde_json's escaping of a &str cannot fail.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

impl JsonlEncoder {
    pub(super) fn new(out: Compressed, fields: &[Field], decimals: DecimalsAs) -> Self {
        let keys = fields
            .iter()
            .map(|f| {
                let mut k = String::new();
                push_json_string(&mut k, &f.name);
                k.push(':');
                k
            })
            .collect();
        Self {
            out,
            keys,
            kinds: fields.iter().map(|f| f.kind).collect(),
            decimals,
            scratch: String::new(),
            value: String::new(),
        }
    }
}

impl Encoder for JsonlEncoder {
    fn batch(&mut self, batch: &Batch, rows: std::ops::Range<usize>) -> io::Result<()> {
        let width = batch.width;
        let out = &mut self.scratch;
        out.clear();
        for row in rows {
            out.push('{');
            for (i, cell) in batch.cells[row * width..(row + 1) * width].iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&self.keys[i]);
                match cell {
                    Cell::Null => out.push_str("null"),
                    Cell::Integer(_) | Cell::Boolean(_) => push_plain(out, cell, batch, self.kinds[i]),
                    Cell::Float(v) if v.is_finite() => push_plain(out, cell, batch, self.kinds[i]),
                    Cell::Decimal(span) if self.decimals == DecimalsAs::Number => out.push_str(batch.str(*span)),
                    Cell::Text(span) => push_json_string(out, batch.str(*span)),
                    other => {
                        self.value.clear();
                        push_plain(&mut self.value, other, batch, self.kinds[i]);
                        push_json_string(out, &self.value);
                    }
                }
            }
            out.push_str("}\n");
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
