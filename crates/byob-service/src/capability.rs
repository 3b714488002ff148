//! Capabilities byob keeps in its catalog for a while: a GCS resumable-session URI (whoever holds it can write the
//! object), an S3 multipart upload id. They are sealed like secrets, bound to their record, so a copy of the
//! catalog (a backup, a read replica) hands nobody a way to write into a customer's bucket. They live as long as
//! the upload or the export run that made them: after `byob secrets rotate-key`, keep the previous key until
//! those have ended (`uploads.abort_incomplete_after_hours`).

use byob_ports::catalog::StoredCiphertext;

use crate::{Deps, ServiceError};

const SEALED: &str = "sealed:";

/// The sealed form of `value`, for the record `context` names.
pub(crate) fn seal(deps: &Deps, context: &str, value: &str) -> Result<String, ServiceError> {
    let stored = deps.secret_box.seal(value.as_bytes(), context)?;
    Ok(format!("{SEALED}{}:{}", stored.key_id, stored.ciphertext))
}

/// The value sealed by [`seal`]; a value stored before sealing began is returned as it is.
pub(crate) fn open(deps: &Deps, context: &str, stored: &str) -> Result<String, ServiceError> {
    let Some(rest) = stored.strip_prefix(SEALED) else { return Ok(stored.to_string()) };
    // base64 has no `:`, so the last one separates the key id from the ciphertext.
    let (key_id, ciphertext) = rest.rsplit_once(':').unwrap_or((rest, ""));
    let sealed = StoredCiphertext { key_id: key_id.to_string(), ciphertext: ciphertext.to_string() };
    let plain = deps.secret_box.open(&sealed, context)?;
    String::from_utf8(plain.into_inner()).map_err(|_| ServiceError::invalid("session", "a sealed value is not text"))
}

/// The context of an upload's provider session.
pub(crate) fn upload_session(org: byob_core::OrgId, upload: byob_core::UploadId) -> String {
    format!("upload-session/{org}/{upload}")
}

/// The context of an export run's unfinished write of one key.
pub(crate) fn export_write(org: byob_core::OrgId, run: impl std::fmt::Display, key: &str) -> String {
    format!("export-write/{org}/{run}/{key}")
}
