//! Streaming rows out of a CSV file: one record at a time (never the whole file), each field converted to its
//! column's type, every problem reported with its line and column.

use std::io::Read;

use byob_core::table::Column;
use byob_ports::warehouse::Cell;
use serde::Serialize;
use utoipa::ToSchema;

use super::values::convert;

/// How to read the file: its dialect and what counts as NULL.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    pub delimiter: u8,
    pub has_header: bool,
    /// Fields equal to one of these are NULL (default: the empty field).
    pub null_tokens: Vec<String>,
    /// Longest record accepted; a longer one is an error rather than unbounded memory.
    pub max_record_bytes: usize,
}

/// Why one row cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowError {
    /// 1-based line where the record starts.
    pub line: u64,
    /// The column, when one field is at fault.
    pub column: Option<String>,
    /// `ragged-row`, `unclosed-quote`, `invalid-utf8`, `bad-value`, `null-not-allowed`.
    pub code: &'static str,
    pub reason: String,
}

/// A rejected row: why, and its fields as read (invalid bytes replaced).
#[derive(Debug, Clone)]
pub struct BadRow {
    pub error: RowError,
    pub fields: Vec<String>,
}

/// Bounds the bytes of one record: counts bytes since the last line break outside a quoted field (RFC 4180:
/// a quote opens a field only at its start, `""` inside is a quote), so neither a line without breaks nor a
/// quoted field that never closes can grow a record without limit.
///
/// It also sees a quote that is still open when the file ends (which the `csv` crate accepts silently, swallowing
/// the rest of the file into one field), and remembers where that record and that quote began.
pub struct RecordGuard<R> {
    inner: R,
    limit: usize,
    delimiter: u8,
    current: usize,
    state: Quoting,
    /// The 1-based line being read, the line the current record began on, and where the open quote opened.
    line: u64,
    record_line: u64,
    quote: Option<UnclosedQuote>,
    /// Set at the end of the input when a quote never closed.
    unclosed: Option<UnclosedQuote>,
}

/// A quoted field still open at the end of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnclosedQuote {
    /// Where its record began.
    pub record_line: u64,
    /// Where the quote opened.
    pub quote_line: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoting {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: it closes the field unless another quote follows.
    QuoteInQuoted,
}

impl<R> RecordGuard<R> {
    pub fn new(inner: R, limit: usize, delimiter: u8) -> Self {
        Self {
            inner,
            limit,
            delimiter,
            current: 0,
            state: Quoting::FieldStart,
            line: 1,
            record_line: 1,
            quote: None,
            unclosed: None,
        }
    }

    /// A quote that was still open when the input ended.
    pub fn unclosed_quote(&self) -> Option<UnclosedQuote> {
        self.unclosed
    }

    fn check(&self) -> std::io::Result<()> {
        if self.current > self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a record is longer than {} bytes (an unclosed quote, or a field over the limit)", self.limit),
            ));
        }
        Ok(())
    }

    fn step(&mut self, b: u8) {
        if b == b'\n' {
            self.line += 1;
        }
        self.state = match (self.state, b) {
            (Quoting::FieldStart, b'"') => {
                self.quote = Some(UnclosedQuote { record_line: self.record_line, quote_line: self.line });
                Quoting::Quoted
            }
            (Quoting::QuoteInQuoted, b'"') => Quoting::Quoted,
            (Quoting::Quoted, b'"') => Quoting::QuoteInQuoted,
            (Quoting::Quoted, _) => Quoting::Quoted,
            (_, b'\n') => {
                self.current = 0;
                self.record_line = self.line;
                Quoting::FieldStart
            }
            (_, b) if b == self.delimiter => Quoting::FieldStart,
            _ => Quoting::Unquoted,
        };
    }
}

impl<R: Read> Read for RecordGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && self.state == Quoting::Quoted {
            self.unclosed = self.quote;
        }
        let data = &buf[..n];
        // Only quotes, line breaks and delimiters change the state; the bytes between them are skipped at once.
        let mut at = 0;
        for special in memchr::memchr3_iter(b'"', b'\n', self.delimiter, data) {
            if special > at {
                self.step(b'x');
            }
            self.current += special + 1 - at;
            self.step(data[special]);
            at = special + 1;
            self.check()?;
        }
        if n > at {
            self.step(b'x');
            self.current += n - at;
            self.check()?;
        }
        Ok(n)
    }
}

/// Converted rows of a CSV file whose columns are known.
pub struct RowReader<R: Read> {
    csv: csv::Reader<RecordGuard<R>>,
    record: csv::ByteRecord,
    columns: Vec<Column>,
    nulls: Vec<Vec<u8>>,
}

/// Reading stopped: the file (or the stream under it) cannot be read on.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct FileError {
    pub line: u64,
    pub message: String,
}

fn lossy(record: &csv::ByteRecord) -> Vec<String> {
    record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()
}

impl<R: Read> RowReader<R> {
    /// Reads UTF-8 `input`; skips the header line when the options say there is one.
    pub fn new(input: R, options: &CsvOptions, columns: Vec<Column>) -> Self {
        let csv = csv::ReaderBuilder::new()
            .delimiter(options.delimiter)
            .has_headers(options.has_header)
            .flexible(true)
            .buffer_capacity(256 * 1024)
            .from_reader(RecordGuard::new(input, options.max_record_bytes, options.delimiter));
        let nulls = options.null_tokens.iter().map(|t| t.as_bytes().to_vec()).collect();
        Self { csv, record: csv::ByteRecord::new(), columns, nulls }
    }

    /// Appends the next row's cells to `out` (and its text to `text`). `Ok(None)` at the end; `Ok(Some(Err(bad)))`
    /// for a row that cannot be loaded (nothing appended).
    ///
    /// # Errors
    /// [`FileError`] when reading cannot go on.
    pub fn next_into(
        &mut self,
        out: &mut Vec<Cell>,
        text: &mut String,
    ) -> Result<Option<Result<(), BadRow>>, FileError> {
        match self.csv.read_byte_record(&mut self.record) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or_else(|| self.csv.position().line(), csv::Position::line);
                let message = match e.into_kind() {
                    csv::ErrorKind::Io(io) => io.to_string(),
                    other => format!("{other:?}"),
                };
                return Err(FileError { line, message });
            }
        }
        let line = self.record.position().map_or(0, csv::Position::line);
        if let Some(open) = self.csv.get_ref().unclosed_quote()
            && open.record_line == line
        {
            let error = RowError {
                line,
                column: None,
                code: "unclosed-quote",
                reason: format!(
                    "the quote opened on line {} is never closed, so the rest of the file would be one field; close \
                     it, or double a quote inside a quoted field (`\"\"`)",
                    open.quote_line
                ),
            };
            return Ok(Some(Err(BadRow { error, fields: lossy(&self.record) })));
        }
        if self.record.len() != self.columns.len() {
            let error = RowError {
                line,
                column: None,
                code: "ragged-row",
                reason: format!("expected {} fields, found {}", self.columns.len(), self.record.len()),
            };
            return Ok(Some(Err(BadRow { error, fields: lossy(&self.record) })));
        }
        let (start, text_start) = (out.len(), text.len());
        for (field, column) in self.record.iter().zip(&self.columns) {
            let fail = |code, reason: String| RowError { line, column: Some(column.name.clone()), code, reason };
            let result = if self.nulls.iter().any(|n| n == field) {
                if column.nullable {
                    Ok(Cell::Null)
                } else {
                    Err(fail("null-not-allowed", "the column does not accept NULL".into()))
                }
            } else {
                match std::str::from_utf8(field) {
                    Err(e) => Err(fail(
                        "invalid-utf8",
                        format!("the field is not valid UTF-8 at byte {}; re-save the file as UTF-8", e.valid_up_to()),
                    )),
                    Ok(value) => convert(value, column.column_type, text).map_err(|reason| fail("bad-value", reason)),
                }
            };
            match result {
                Ok(cell) => out.push(cell),
                Err(error) => {
                    out.truncate(start);
                    text.truncate(text_start);
                    return Ok(Some(Err(BadRow { error, fields: lossy(&self.record) })));
                }
            }
        }
        Ok(Some(Ok(())))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Read;

    use super::RecordGuard;

    fn read_all(input: &[u8], limit: usize) -> std::io::Result<usize> {
        let mut out = Vec::new();
        // A small buffer, so records span reads.
        let mut guard = RecordGuard::new(input, limit, b',');
        let mut buf = [0u8; 7];
        loop {
            let n = guard.read(&mut buf)?;
            if n == 0 {
                return Ok(out.len());
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn records_are_bounded_whatever_the_quoting() {
        assert!(read_all(b"a,b\nc,d\n", 8).is_ok());
        assert!(read_all(b"a,\"multi\nline\",b\nc\n", 20).is_ok());
        assert!(
            read_all(b"a,\"never closed\nand on\nand on\n", 20).is_err(),
            "line breaks inside quotes do not end a record"
        );
        assert!(read_all(b"a,5\" screen,b\nc,d\ne,f\n", 16).is_ok(), "a quote inside an unquoted field is a character");
        assert!(read_all(b"a,\"x\"\"y\",b\nc\n", 16).is_ok(), "an escaped quote keeps the field open");
        assert!(read_all(&[b'x'; 100], 50).is_err());
    }

    fn rows(input: &[u8], has_header: bool) -> Vec<Result<Vec<String>, super::RowError>> {
        use byob_core::table::{Column, ColumnType};
        let columns =
            ["id", "name"].map(|n| Column { name: n.into(), column_type: ColumnType::Text, nullable: true }).to_vec();
        let options = super::CsvOptions { delimiter: b',', has_header, null_tokens: vec![], max_record_bytes: 1 << 20 };
        let mut reader = super::RowReader::new(input, &options, columns);
        let mut out = Vec::new();
        loop {
            let (mut cells, mut text) = (Vec::new(), String::new());
            match reader.next_into(&mut cells, &mut text) {
                Ok(None) => return out,
                Ok(Some(Ok(()))) => out.push(Ok(vec![text])),
                Ok(Some(Err(bad))) => out.push(Err(bad.error)),
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn a_quote_never_closed_is_a_bad_row_naming_where_it_opened() {
        let read = rows(b"1,\"never closed\n2,b\n", false);
        assert_eq!(read.len(), 1, "{read:?}");
        let error = read[0].clone().unwrap_err();
        assert_eq!((error.code, error.line), ("unclosed-quote", 1));
        assert!(error.reason.contains("opened on line 1"), "{}", error.reason);

        let read = rows(b"id,name\n1,a\n2,\"multi\nline\"\n3,\"open\n4,d\n", true);
        assert_eq!(read.len(), 3, "{read:?}");
        assert!(read[0].is_ok() && read[1].is_ok(), "{read:?}");
        let error = read[2].clone().unwrap_err();
        assert_eq!((error.code, error.line), ("unclosed-quote", 5));
        assert!(error.reason.contains("opened on line 5"), "{}", error.reason);

        let read = rows(b"id,name\n1,\"closed at the end\"", true);
        assert!(read.iter().all(Result::is_ok), "a quote closed by the last byte is fine: {read:?}");
    }
}
