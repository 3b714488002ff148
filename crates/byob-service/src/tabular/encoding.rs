//! Text encodings: UTF-8 (with or without BOM) and UTF-16 with a BOM are read as such; a file that is not valid
//! UTF-8 is read as Latin-1 (Windows-1252) and flagged, since any byte sequence is valid Latin-1 and the guess
//! may be wrong.

use std::io::Read;

use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TextEncoding {
    Utf8,
    Utf16le,
    Utf16be,
    /// Windows-1252, the superset of ISO-8859-1 that spreadsheets write.
    Latin1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DetectedEncoding {
    pub encoding: TextEncoding,
    /// Whether the file starts with a byte-order mark (skipped when reading).
    pub bom: bool,
    /// A guess (Latin-1 because the bytes are not UTF-8) that the user should confirm.
    pub guessed: bool,
}

/// Looks at the first bytes of a file (the whole sample, which may end in the middle of a character).
#[must_use]
pub fn detect_encoding(sample: &[u8]) -> DetectedEncoding {
    let found = |encoding, bom, guessed| DetectedEncoding { encoding, bom, guessed };
    if sample.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return found(TextEncoding::Utf8, true, false);
    }
    if sample.starts_with(&[0xFF, 0xFE]) {
        return found(TextEncoding::Utf16le, true, false);
    }
    if sample.starts_with(&[0xFE, 0xFF]) {
        return found(TextEncoding::Utf16be, true, false);
    }
    match std::str::from_utf8(sample) {
        Ok(_) => found(TextEncoding::Utf8, false, false),
        // A character cut by the end of the sample is not an error.
        Err(e) if e.error_len().is_none() => found(TextEncoding::Utf8, false, false),
        Err(_) => found(TextEncoding::Latin1, false, true),
    }
}

/// Where a file that is UTF-8 elsewhere holds bytes that are not: the 1-based line and the first bad byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixedEncoding {
    pub line: u64,
    pub byte: u8,
}

impl MixedEncoding {
    /// What is wrong and how to fix it, for the preview's warnings and the load's refusal.
    #[must_use]
    pub fn message(&self) -> String {
        format!(
            "the file is UTF-8 but line {} holds a byte that is not (0x{:02X}); re-save the file as UTF-8, or set \
             `encoding` (e.g. `latin1`) to read the whole file in one encoding",
            self.line, self.byte
        )
    }
}

/// What a load or a preview says when it read a file as Latin-1 because its bytes are not UTF-8.
pub const LATIN1_GUESS: &str =
    "the file is not valid UTF-8 and was read as Latin-1 (Windows-1252); set `encoding` if that is wrong";

/// A sample that holds well-formed multi-byte UTF-8 characters *and* invalid bytes is UTF-8 damaged in places,
/// not Latin-1: reading it as Latin-1 would turn every correct character into mojibake. (A Latin-1 file
/// throughout has no valid multi-byte sequences, except by a rare accident of two adjacent accented letters.)
#[must_use]
pub fn mixed_encoding(sample: &[u8]) -> Option<MixedEncoding> {
    let mut rest = sample;
    let mut offset = 0usize;
    let mut first_bad: Option<usize> = None;
    let mut multibyte = false;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                multibyte |= !valid.is_ascii();
                break;
            }
            Err(e) => {
                let valid = &rest[..e.valid_up_to()];
                multibyte |= !valid.is_ascii();
                let Some(len) = e.error_len() else { break };
                first_bad.get_or_insert(offset + e.valid_up_to());
                offset += e.valid_up_to() + len;
                rest = &rest[e.valid_up_to() + len..];
            }
        }
    }
    let at = first_bad.filter(|_| multibyte)?;
    let line = sample[..at].iter().filter(|b| **b == b'\n').count() as u64 + 1;
    Some(MixedEncoding { line, byte: sample[at] })
}

/// A reader that yields UTF-8 (without BOM) from a file in `encoding`. UTF-8 passes through untouched, so
/// invalid bytes later in the file are still caught, with their line, when fields are read.
#[must_use]
pub fn utf8_reader<'a>(input: impl Read + Send + 'a, detected: DetectedEncoding) -> Box<dyn Read + Send + 'a> {
    let encoding = match detected.encoding {
        TextEncoding::Utf8 => {
            return if detected.bom { Box::new(SkipBom { inner: input, skipped: false }) } else { Box::new(input) };
        }
        TextEncoding::Utf16le => UTF_16LE,
        TextEncoding::Utf16be => UTF_16BE,
        TextEncoding::Latin1 => WINDOWS_1252,
    };
    Box::new(
        DecodeReaderBytesBuilder::new()
            .encoding(Some(encoding))
            .bom_override(detected.bom)
            .strip_bom(true)
            .build(input),
    )
}

/// Drops the three bytes of a UTF-8 byte-order mark.
struct SkipBom<R> {
    inner: R,
    skipped: bool,
}

impl<R: Read> Read for SkipBom<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.skipped {
            let mut bom = [0u8; 3];
            self.inner.read_exact(&mut bom)?;
            self.skipped = true;
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> String {
        let mut out = String::new();
        utf8_reader(bytes, detect_encoding(bytes)).read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn boms_and_guesses() {
        assert_eq!(decode(b"\xEF\xBB\xBFa,b\n"), "a,b\n");
        assert_eq!(decode(b"\xFF\xFEa\x00,\x00b\x00"), "a,b");
        assert_eq!(decode(b"\xFE\xFF\x00a\x00,\x00b"), "a,b");
        let latin = b"caf\xE9,1\n";
        let detected = detect_encoding(latin);
        assert_eq!((detected.encoding, detected.guessed), (TextEncoding::Latin1, true));
        assert_eq!(decode(latin), "café,1\n");
        // A sample cut inside a character is still UTF-8.
        assert_eq!(detect_encoding("caf\u{e9}".as_bytes().split_last().unwrap().1).encoding, TextEncoding::Utf8);
    }

    #[test]
    fn utf8_damaged_in_places_is_told_from_latin1_throughout() {
        let damaged = "id,name\n1,caf\u{e9}\n".bytes().chain(*b"2,na\xEFve\n3,ok\n").collect::<Vec<u8>>();
        assert_eq!(mixed_encoding(&damaged), Some(MixedEncoding { line: 3, byte: 0xEF }));
        assert_eq!(mixed_encoding(b"id,name\n1,caf\xE9\n2,na\xEFve\n"), None, "Latin-1 throughout");
        assert_eq!(mixed_encoding("id,name\n1,caf\u{e9}\n".as_bytes()), None, "UTF-8 throughout");
        // A character cut by the end of the sample is not damage.
        assert_eq!(mixed_encoding("1,\u{e9}\n2,\u{e9}".as_bytes().split_last().unwrap().1), None);
    }
}
