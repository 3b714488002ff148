//! Attachments: long-lived files tied to one field of one record of the platform (seed 000's "file upload column"),
//! kept only in the customer's bucket. This module holds what needs no I/O: the slot a file belongs to, the
//! admin's policy for a collection's field, and how a download presents the file to a browser.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{AttachmentId, IntegrationId, JobId, OrgId, UploadId, location::FieldError};

/// Where an attachment belongs, as the platform names it: a table (`orders`), a row key (`42`), a column
/// (`invoice`). Never part of an object key: byob's keys are opaque (`{prefix}/attachments/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Slot {
    pub collection: String,
    pub record: String,
    pub field: String,
}

/// The longest collection or field name.
pub const MAX_NAME_BYTES: usize = 128;
/// The longest record key (composite keys and UUIDs fit).
pub const MAX_RECORD_BYTES: usize = 256;

impl Slot {
    /// Checks the three names: a collection or field is 1-128 letters, digits, `_`, `-` or `.` (a table or column
    /// name); a record key is 1-256 bytes of any text without control characters or surrounding spaces.
    ///
    /// # Errors
    /// A [`FieldError`] naming the field and the rule.
    pub fn parse(collection: &str, record: &str, field: &str) -> Result<Self, FieldError> {
        Self::names(collection, field)?;
        Self::record(record)?;
        Ok(Self { collection: collection.into(), record: record.into(), field: field.into() })
    }

    /// Checks a record key alone (a listing narrowed to one record).
    ///
    /// # Errors
    /// `slot-record`.
    pub fn record(record: &str) -> Result<(), FieldError> {
        if record.is_empty() || record.len() > MAX_RECORD_BYTES {
            return Err(FieldError::new(
                "record",
                crate::rules::SLOT_RECORD,
                format!("a record key has 1-{MAX_RECORD_BYTES} bytes, not {}", record.len()),
            ));
        }
        if record.chars().any(char::is_control) || record.trim() != record {
            return Err(FieldError::new(
                "record",
                crate::rules::SLOT_RECORD,
                "a record key has no control characters and no leading or trailing spaces",
            ));
        }
        Ok(())
    }
}

impl Slot {
    /// Checks a collection and a field name (what a policy is set for).
    ///
    /// # Errors
    /// `slot-name` naming the field.
    pub fn names(collection: &str, field: &str) -> Result<(), FieldError> {
        Self::name("collection", collection)?;
        Self::name("field", field)
    }

    /// Checks one collection or field name; `which` names it in the error.
    ///
    /// # Errors
    /// `slot-name`.
    pub fn name(which: &str, text: &str) -> Result<(), FieldError> {
        name(which, text)
    }
}

fn name(field: &str, text: &str) -> Result<(), FieldError> {
    let ok = !text.is_empty()
        && text.len() <= MAX_NAME_BYTES
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        return Ok(());
    }
    Err(FieldError::new(
        field,
        crate::rules::SLOT_NAME,
        format!("`{text}` is not a {field} name: 1-{MAX_NAME_BYTES} letters, digits, `_`, `-` or `.`"),
    ))
}

/// Media types a browser may show inline when the policy allows previews: raster images and PDF. SVG, HTML, XML
/// and anything else run code or markup in the platform's origin, so they are always downloaded.
pub const INLINE_TYPES: [&str; 5] = ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"];

/// How a download presents a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presentation {
    /// Shown in the browser (an allowlisted type, and the policy allows previews).
    Inline,
    /// Saved as a file.
    Attachment,
}

impl Presentation {
    /// `Inline` only for an allowlisted type when previews are allowed.
    #[must_use]
    pub fn for_type(media_type: &str, preview_allowed: bool) -> Self {
        if preview_allowed && INLINE_TYPES.contains(&media_type) { Self::Inline } else { Self::Attachment }
    }

    /// The `Content-Disposition` value (RFC 6266): an ASCII `filename` for old clients and the exact name as
    /// `filename*=UTF-8''…` (RFC 8187).
    #[must_use]
    pub fn content_disposition(self, filename: &str) -> String {
        let kind = match self {
            Self::Inline => "inline",
            Self::Attachment => "attachment",
        };
        let fallback: String = filename
            .chars()
            .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
            .collect();
        format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{}", rfc8187(filename))
    }
}

/// Percent-encodes everything but RFC 8187's `attr-char`.
fn rfc8187(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What an admin allows for one collection's field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The largest file accepted, in bytes.
    pub max_bytes: u64,
    /// The most files one record may hold in this field.
    pub max_files_per_record: u32,
    /// Media types accepted, as detected from the file's bytes (e.g. `image/png`, `application/pdf`).
    pub allowed_types: Vec<String>,
    /// Whether allowlisted types ([`INLINE_TYPES`]) may be shown inline.
    pub inline_preview: bool,
}

impl Default for Policy {
    /// Office documents, PDF, raster images, text and CSV up to 25 MiB, ten per record, no inline previews.
    fn default() -> Self {
        let types = [
            "application/pdf",
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "text/plain",
            "text/csv",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ];
        Self {
            max_bytes: 25 * 1024 * 1024,
            max_files_per_record: 10,
            allowed_types: types.map(String::from).to_vec(),
            inline_preview: false,
        }
    }
}

/// The largest `max_bytes` a policy may set: one presigned PUT's limit on S3 (5 GiB) and GCS.
pub const MAX_POLICY_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// The most files a policy may allow per record.
pub const MAX_POLICY_FILES: u32 = 1000;
/// The most media types one policy lists.
pub const MAX_POLICY_TYPES: usize = 64;
/// The longest file name kept (in metadata and in downloads' `Content-Disposition`).
pub const MAX_FILENAME_BYTES: usize = 255;

impl Policy {
    /// Checks the limits and that every type is a lowercase `type/subtype` media type.
    ///
    /// # Errors
    /// A [`FieldError`] naming the field and the rule.
    pub fn validate(&self) -> Result<(), FieldError> {
        if !(1..=MAX_POLICY_BYTES).contains(&self.max_bytes) {
            return Err(FieldError::new(
                "max_bytes",
                crate::rules::ATTACHMENT_POLICY_SIZE,
                format!("max_bytes is 1-{MAX_POLICY_BYTES} (5 GiB), not {}", self.max_bytes),
            ));
        }
        if !(1..=MAX_POLICY_FILES).contains(&self.max_files_per_record) {
            return Err(FieldError::new(
                "max_files_per_record",
                crate::rules::ATTACHMENT_POLICY_FILES,
                format!("max_files_per_record is 1-{MAX_POLICY_FILES}, not {}", self.max_files_per_record),
            ));
        }
        if self.allowed_types.is_empty() || self.allowed_types.len() > MAX_POLICY_TYPES {
            return Err(FieldError::new(
                "allowed_types",
                crate::rules::ATTACHMENT_POLICY_TYPES,
                format!("list 1-{MAX_POLICY_TYPES} media types, e.g. [\"application/pdf\", \"image/png\"]"),
            ));
        }
        for t in &self.allowed_types {
            media_type("allowed_types", t)?;
        }
        Ok(())
    }

    #[must_use]
    pub fn allows(&self, media_type: &str) -> bool {
        self.allowed_types.iter().any(|t| t == media_type)
    }
}

/// Checks a media type: lowercase `type/subtype` (letters, digits, `.`, `+`, `-`), no parameters.
///
/// # Errors
/// `attachment-media-type` naming `field`.
pub fn media_type(field: &str, text: &str) -> Result<(), FieldError> {
    let token = |t: &str| {
        !t.is_empty()
            && t.len() <= 127
            && t.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '+' | '-'))
    };
    match text.split_once('/') {
        Some((kind, sub)) if token(kind) && token(sub) => Ok(()),
        _ => Err(FieldError::new(
            field,
            crate::rules::ATTACHMENT_MEDIA_TYPE,
            format!(
                "`{text}` is not a media type: lowercase `type/subtype` without parameters, e.g. `application/pdf`"
            ),
        )),
    }
}

/// Checks a file name as kept: 1-255 bytes, no control characters, no path (`/` or `\`).
///
/// # Errors
/// `attachment-filename`.
pub fn filename(text: &str) -> Result<(), FieldError> {
    if text.trim().is_empty()
        || text.len() > MAX_FILENAME_BYTES
        || text.chars().any(char::is_control)
        || text.contains(['/', '\\'])
    {
        return Err(FieldError::new(
            "filename",
            crate::rules::ATTACHMENT_FILENAME,
            format!("give the file's own name: 1-{MAX_FILENAME_BYTES} bytes, no control characters, no `/` or `\\`"),
        ));
    }
    Ok(())
}

/// Where an attachment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentState {
    /// Waiting for the bytes.
    Pending,
    /// Checked; waiting for the scanner's verdict (retried while the scanner is unreachable).
    Scanning,
    /// Checked (and scanned, when a scanner is configured): may be downloaded.
    Available,
    /// Refused; `rejection` says why, and the object was deleted.
    Rejected,
}

impl AttachmentState {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Scanning, Self::Available, Self::Rejected];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Scanning => "scanning",
            Self::Available => "available",
            Self::Rejected => "rejected",
        }
    }

    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Why an attachment was refused: a stable code (`attachment-type-mismatch`, `attachment-infected`, …) and what
/// happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rejection {
    pub code: String,
    pub message: String,
}

/// A file attached to one field of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Attachment {
    pub id: AttachmentId,
    pub org_id: OrgId,
    pub collection: String,
    pub record: String,
    pub field: String,
    /// The name as given; served in downloads' `Content-Disposition`, never part of the key.
    pub filename: String,
    /// Size in bytes, declared at creation and checked at completion.
    pub size: u64,
    /// The type the uploader declared.
    pub declared_type: String,
    /// The type byob found in the bytes, once checked: what downloads are served as.
    pub content_type: Option<String>,
    pub state: AttachmentState,
    pub rejection: Option<Rejection>,
    /// The integration holding the object.
    pub integration_id: IntegrationId,
    /// The object's key under the integration's prefix: `attachments/{id}`.
    pub key: String,
    /// The thumbnail's key, beside the object, for images byob could decode within its limits.
    pub thumbnail_key: Option<String>,
    /// The scanner that passed the file (`clamd`, `http`), or none when the server scans nothing.
    pub scanned_by: Option<String>,
    /// The job scanning it, while it is `scanning`.
    pub scan_job: Option<JobId>,
    /// The upload session that carries the bytes.
    #[serde(skip)]
    pub upload_id: UploadId,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// When it became available or was rejected.
    pub settled_at: Option<DateTime<Utc>>,
}

impl Attachment {
    #[must_use]
    pub fn slot(&self) -> Slot {
        Slot { collection: self.collection.clone(), record: self.record.clone(), field: self.field.clone() }
    }
}

/// The key of an attachment's object under its integration's prefix: opaque, built from byob's own id only.
#[must_use]
pub fn object_key(id: AttachmentId) -> String {
    format!("attachments/{id}")
}

/// The key of an attachment's thumbnail, beside its object.
#[must_use]
pub fn thumbnail_key(id: AttachmentId) -> String {
    format!("attachments/{id}.thumbnail.png")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rule(collection: &str, record: &str, field: &str) -> Option<&'static str> {
        Slot::parse(collection, record, field).err().map(|e| e.rule)
    }

    #[test]
    fn slots_are_names_and_a_record_key() {
        assert_eq!(rule("orders", "42", "invoice"), None);
        assert_eq!(rule("public.orders", "a1b2-c3:7", "invoice_pdf"), None);
        assert_eq!(rule("orders", "clé 42", "invoice"), None, "a record key may be any text");
        assert_eq!(rule("", "42", "invoice"), Some("slot-name"));
        assert_eq!(rule("orders/../x", "42", "invoice"), Some("slot-name"));
        assert_eq!(rule("orders", "42", "in voice"), Some("slot-name"));
        assert_eq!(rule(&"o".repeat(129), "42", "invoice"), Some("slot-name"));
        assert_eq!(rule("orders", "", "invoice"), Some("slot-record"));
        assert_eq!(rule("orders", " 42", "invoice"), Some("slot-record"));
        assert_eq!(rule("orders", "4\n2", "invoice"), Some("slot-record"));
        assert_eq!(rule("orders", &"9".repeat(257), "invoice"), Some("slot-record"));
    }

    #[test]
    fn only_allowlisted_types_are_inline_and_only_when_previews_are_allowed() {
        assert_eq!(Presentation::for_type("image/png", true), Presentation::Inline);
        assert_eq!(Presentation::for_type("image/png", false), Presentation::Attachment);
        for never in ["image/svg+xml", "text/html", "application/xml", "application/octet-stream", "text/plain"] {
            assert_eq!(Presentation::for_type(never, true), Presentation::Attachment, "{never}");
        }
    }

    #[test]
    fn dispositions_carry_the_exact_name_and_an_ascii_fallback() {
        assert_eq!(
            Presentation::Attachment.content_disposition("résumé Q1.pdf"),
            "attachment; filename=\"r_sum_ Q1.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20Q1.pdf"
        );
        assert_eq!(
            Presentation::Inline.content_disposition("a\"b\\c\r\n.png"),
            "inline; filename=\"a_b_c__.png\"; filename*=UTF-8''a%22b%5Cc%0D%0A.png"
        );
    }

    #[test]
    fn the_default_policy_serves_no_previews() {
        let policy = Policy::default();
        assert!(!policy.inline_preview);
        assert!(policy.allowed_types.iter().all(|t| !t.contains("svg") && !t.contains("html")));
    }

    #[test]
    fn policies_are_checked() {
        let ok = Policy::default();
        assert!(ok.validate().is_ok());
        let rule = |p: Policy| p.validate().err().map(|e| e.rule);
        assert_eq!(rule(Policy { max_bytes: 0, ..ok.clone() }), Some("attachment-policy-size"));
        assert_eq!(rule(Policy { max_bytes: MAX_POLICY_BYTES + 1, ..ok.clone() }), Some("attachment-policy-size"));
        assert_eq!(rule(Policy { max_files_per_record: 0, ..ok.clone() }), Some("attachment-policy-files"));
        assert_eq!(rule(Policy { allowed_types: vec![], ..ok.clone() }), Some("attachment-policy-types"));
        assert_eq!(
            rule(Policy { allowed_types: vec!["Image/PNG".into()], ..ok.clone() }),
            Some("attachment-media-type")
        );
        assert_eq!(
            rule(Policy { allowed_types: vec!["text/plain; charset=x".into()], ..ok }),
            Some("attachment-media-type")
        );
    }

    #[test]
    fn filenames_are_names_not_paths() {
        assert!(filename("résumé.pdf").is_ok());
        for bad in ["", "  ", "../x.pdf", "a\\b.pdf", "a\nb.pdf"] {
            assert_eq!(filename(bad).err().map(|e| e.rule), Some("attachment-filename"), "{bad:?}");
        }
        assert!(filename(&"a".repeat(256)).is_err());
    }

    #[test]
    fn keys_are_opaque() {
        let id = AttachmentId::generate();
        assert_eq!(object_key(id), format!("attachments/{id}"));
        assert!(thumbnail_key(id).starts_with(&object_key(id)));
    }
}
