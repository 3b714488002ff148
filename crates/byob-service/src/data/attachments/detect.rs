//! What a file really is, from its first bytes, against what the uploader declared: binary formats by their
//! signatures (the `infer` crate), text formats by being text. A `.png` whose bytes are an ELF or a script is
//! refused here; the declared type is kept only when the bytes agree with it.

/// How much of the file is read to decide (ZIP-based office formats name their parts in the first entries).
pub(super) const HEAD_BYTES: u64 = 64 * 1024;

/// Types with no signature of their own: accepted when the bytes are text.
const TEXT_TYPES: [&str; 9] = [
    "text/plain",
    "text/csv",
    "text/tab-separated-values",
    "text/markdown",
    "application/json",
    "image/svg+xml",
    "application/xml",
    "text/xml",
    "text/html",
];

/// Formats that are ZIP archives inside: a ZIP's signature agrees with any of them.
const ZIP_BASED: [&str; 8] = [
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/epub+zip",
];

/// Any bytes at all: the admin allowed arbitrary files.
const ANY_BINARY: &str = "application/octet-stream";

/// The type the file is served as, or why its bytes do not match `declared`.
pub(super) fn check(declared: &str, head: &[u8]) -> Result<String, String> {
    if declared == ANY_BINARY {
        return Ok(declared.to_string());
    }
    let found = infer::get(head).map(|k| k.mime_type());
    match found {
        Some(found) if found == declared => Ok(declared.to_string()),
        Some("application/zip") if ZIP_BASED.contains(&declared) => Ok(declared.to_string()),
        // An SVG may open with an XML declaration.
        Some("text/xml") if declared == "image/svg+xml" || declared == "application/xml" => text(declared, head),
        Some(found) => Err(format!("the file was declared as `{declared}`, but its bytes are `{found}`")),
        None if TEXT_TYPES.contains(&declared) => text(declared, head),
        None => Err(format!("the file was declared as `{declared}`, but its bytes are not a `{declared}` file")),
    }
}

/// Accepts `declared` when the bytes are UTF-8 text without NUL bytes (a character cut at the end of the head
/// is fine), and an SVG only when it has an `<svg` element.
fn text(declared: &str, head: &[u8]) -> Result<String, String> {
    let utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    if !utf8 || memchr::memchr(0, head).is_some() {
        return Err(format!("the file was declared as `{declared}`, but its bytes are not text"));
    }
    if declared == "image/svg+xml" && memchr::memmem::find(head, b"<svg").is_none() {
        return Err("the file was declared as `image/svg+xml`, but it has no `<svg` element".into());
    }
    Ok(declared.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::check;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

    #[test]
    fn binary_types_are_known_by_their_signature() {
        assert_eq!(check("image/png", PNG).unwrap(), "image/png");
        assert_eq!(check("application/pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n").unwrap(), "application/pdf");
        let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0".to_vec();
        elf.resize(64, 0);
        assert!(check("image/png", &elf).unwrap_err().contains("application/x-executable"));
        assert!(check("image/png", b"#!/bin/sh\nrm -rf /\n").is_err());
        assert!(check("image/jpeg", PNG).is_err());
        assert!(check("application/pdf", b"just text").is_err());
    }

    #[test]
    fn text_types_must_be_text() {
        assert_eq!(check("text/csv", b"a,b\n1,2\n").unwrap(), "text/csv");
        assert_eq!(check("text/plain", "caf\u{e9}".as_bytes()).unwrap(), "text/plain");
        assert!(check("text/plain", &[0xe9, 0x00, 0x01]).is_err());
        assert_eq!(check("text/plain", &"é".as_bytes()[..1]).unwrap(), "text/plain", "a cut character is fine");
        assert!(check("text/plain", PNG).is_err());
    }

    #[test]
    fn svg_needs_an_svg_element_and_may_start_with_xml() {
        let svg = b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
        assert_eq!(check("image/svg+xml", svg).unwrap(), "image/svg+xml");
        assert!(check("image/svg+xml", b"<?xml version=\"1.0\"?><html/>").is_err());
    }

    #[test]
    fn octet_stream_takes_anything() {
        assert_eq!(check("application/octet-stream", b"\x7fELF").unwrap(), "application/octet-stream");
    }
}
