//! Reading CSV files: which encoding, delimiter and header a file has, what type each column holds, and the
//! conversion of each field to that type. Pure code over `Read`: the load and the preview feed it bytes
//! streamed from the bucket.

mod encoding;
mod reader;
mod sniff;
mod values;

pub use encoding::{
    DetectedEncoding, LATIN1_GUESS, MixedEncoding, TextEncoding, detect_encoding, mixed_encoding, utf8_reader,
};
pub use reader::{BadRow, CsvOptions, FileError, RecordGuard, RowError, RowReader};
pub use sniff::{Dialect, InspectError, Inspection, inspect};
pub use values::{convert, infer};
