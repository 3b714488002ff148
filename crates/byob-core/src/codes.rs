//! The stable error codes of byob's problem+json answers, each with the HTTP status it answers with. This is the
//! one list: docs/errors.md documents each code, and a test fails when the two differ.

/// A stable code (`urn:byob:problem:<code>`) and its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode {
    code: &'static str,
    status: u16,
}

impl ErrorCode {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        self.code
    }

    #[must_use]
    pub const fn status(self) -> u16 {
        self.status
    }

    /// What a `…-not-found` code says is missing (`export run` for `export-run-not-found`).
    #[must_use]
    pub fn missing_kind(self) -> String {
        self.code.trim_end_matches("-not-found").replace('-', " ")
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code)
    }
}

macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $status:literal;)*) => {
        $($(#[$doc])* pub const $name: ErrorCode = ErrorCode { code: $code, status: $status };)*
        /// Every code byob answers with.
        pub const ALL: &[ErrorCode] = &[$($name),*];
    };
}

error_codes! {
    // The request itself.
    MALFORMED_JSON = "malformed-json", 400;
    UNREADABLE_BODY = "unreadable-body", 400;
    INVALID_ID = "invalid-id", 400;
    INVALID_QUERY = "invalid-query", 400;
    /// A request header byob reads is malformed (`If-None-Match` other than `*` on a write, non-ASCII text).
    INVALID_HEADER = "invalid-header", 400;
    BAD_REQUEST = "bad-request", 400;
    INVALID_KEY = "invalid-key", 400;
    UNAUTHENTICATED = "unauthenticated", 401;
    FORBIDDEN = "forbidden", 403;
    ROUTE_NOT_FOUND = "route-not-found", 404;
    METHOD_NOT_ALLOWED = "method-not-allowed", 405;
    REQUEST_TIMEOUT = "request-timeout", 408;
    PAYLOAD_TOO_LARGE = "payload-too-large", 413;
    UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type", 415;
    INVALID_BODY = "invalid-body", 422;
    VALIDATION_FAILED = "validation-failed", 422;
    // Records that do not exist in the org (or belong to another: never 403).
    ORGANIZATION_NOT_FOUND = "organization-not-found", 404;
    MEMBER_NOT_FOUND = "member-not-found", 404;
    TOKEN_NOT_FOUND = "token-not-found", 404;
    SECRET_NOT_FOUND = "secret-not-found", 404;
    INTEGRATION_NOT_FOUND = "integration-not-found", 404;
    WEBHOOK_NOT_FOUND = "webhook-not-found", 404;
    CONNECTION_NOT_FOUND = "connection-not-found", 404;
    TABLE_NOT_FOUND = "table-not-found", 404;
    UPLOAD_NOT_FOUND = "upload-not-found", 404;
    JOB_NOT_FOUND = "job-not-found", 404;
    IMPORT_NOT_FOUND = "import-not-found", 404;
    IMPORT_RUN_NOT_FOUND = "import-run-not-found", 404;
    EXPORT_NOT_FOUND = "export-not-found", 404;
    EXPORT_RUN_NOT_FOUND = "export-run-not-found", 404;
    ATTACHMENT_NOT_FOUND = "attachment-not-found", 404;
    /// The attachment has no thumbnail (not an image, too large to decode, or not yet available).
    ATTACHMENT_THUMBNAIL_NOT_FOUND = "attachment-thumbnail-not-found", 404;
    OBJECT_NOT_FOUND = "object-not-found", 404;
    ASSET_NOT_FOUND = "asset-not-found", 404;
    MIGRATION_NOT_FOUND = "migration-not-found", 404;
    ASSET_VERSION_NOT_FOUND = "asset-version-not-found", 404;
    /// No store check has run for the org yet.
    ASSET_REPORT_NOT_FOUND = "asset-report-not-found", 404;
    /// An integration never verified has no latest report.
    VERIFICATION_OF_INTEGRATION_NOT_FOUND = "verification-of-integration-not-found", 404;
    /// A connection never verified has no report.
    CONNECTION_REPORT_NOT_FOUND = "connection-report-not-found", 404;
    // The state of things.
    CONFLICT = "conflict", 409;
    LAST_ADMIN = "last-admin", 409;
    INTEGRATION_DISABLED = "integration-disabled", 409;
    INTEGRATION_GONE = "integration-gone", 409;
    INTEGRATION_CHECK_FAILED = "integration-check-failed", 409;
    FEATURE_NEEDS_INTEGRATION = "feature-needs-integration", 409;
    CREDENTIAL_MODE_UNAVAILABLE = "credential-mode-unavailable", 409;
    NOT_ASSUME_ROLE = "not-assume-role", 409;
    NO_PENDING_EXTERNAL_ID = "no-pending-external-id", 409;
    EXTERNAL_ID_NOT_TRUSTED = "external-id-not-trusted", 409;
    IDENTITY_IN_USE = "identity-in-use", 409;
    IDENTITY_POOL_EXHAUSTED = "identity-pool-exhausted", 409;
    ENDPOINT_NOT_ALLOWED = "endpoint-not-allowed", 422;
    ADDRESS_NOT_ALLOWED = "address-not-allowed", 422;
    QUOTA_EXCEEDED = "quota-exceeded", 429;
    /// More requests than a token's or an org's rate allows; `Retry-After` says when to send again.
    RATE_LIMITED = "rate-limited", 429;
    CONNECTION_ACCESS_DENIED = "connection-access-denied", 403;
    CONNECTION_BUILTIN = "connection-builtin", 409;
    /// A host key to confirm on a connection that has no SSH bastion.
    CONNECTION_NOT_SSH = "connection-not-ssh", 409;
    /// The bastion offers another host key than the one an admin asked to confirm.
    SSH_HOST_KEY_MISMATCH = "ssh-host-key-mismatch", 409;
    CONNECTION_FAILED = "connection-failed", 502;
    PLATFORM_UNSUPPORTED = "platform-unsupported", 409;
    TABLE_EXISTS = "table-exists", 409;
    TABLE_MISSING = "table-missing", 409;
    LOAD_REJECTED = "load-rejected", 409;
    JOB_FINISHED = "job-finished", 409;
    // The customer's bucket.
    STORAGE_UNUSABLE = "storage-unusable", 422;
    STORAGE_PERMISSION_DENIED = "storage-permission-denied", 502;
    STORAGE_UNAVAILABLE = "storage-unavailable", 502;
    // Uploads.
    UPLOAD_TOO_LARGE = "upload-too-large", 413;
    CONTENT_TYPE_NOT_ALLOWED = "content-type-not-allowed", 415;
    UPLOAD_TOKEN_INVALID = "upload-token-invalid", 403;
    RELAY_TOO_SLOW = "relay-too-slow", 408;
    UPLOAD_NOT_PENDING = "upload-not-pending", 409;
    UPLOAD_ABORTED = "upload-aborted", 409;
    UPLOAD_INCOMPLETE = "upload-incomplete", 409;
    UPLOAD_SIZE_MISMATCH = "upload-size-mismatch", 422;
    UPLOAD_NOT_READY = "upload-not-ready", 409;
    CSV_EMPTY = "csv-empty", 422;
    CSV_COLUMN_NAME = "csv-column-name", 422;
    CSV_UNREADABLE = "csv-unreadable", 422;
    CSV_TOO_MANY_COLUMNS = "csv-too-many-columns", 422;
    CSV_ENCODING_MIXED = "csv-encoding-mixed", 422;
    // Attachments.
    ATTACHMENT_TOO_LARGE = "attachment-too-large", 413;
    ATTACHMENT_TYPE_NOT_ALLOWED = "attachment-type-not-allowed", 415;
    ATTACHMENT_TYPE_MISMATCH = "attachment-type-mismatch", 422;
    ATTACHMENT_SLOT_FULL = "attachment-slot-full", 409;
    ATTACHMENT_NOT_PENDING = "attachment-not-pending", 409;
    ATTACHMENT_NOT_AVAILABLE = "attachment-not-available", 409;
    // Assets.
    /// The asset's current version is its deletion; restore a version to bring it back.
    ASSET_DELETED = "asset-deleted", 410;
    /// The version's content was removed when the deleted asset's retention passed.
    ASSET_CONTENT_PURGED = "asset-content-purged", 410;
    /// `If-Match` / `If-None-Match` did not hold: another write came first.
    ASSET_PRECONDITION_FAILED = "asset-precondition-failed", 412;
    /// Other writes of the same asset kept winning; send it again.
    ASSET_WRITE_CONFLICT = "asset-write-conflict", 409;
    /// The bytes do not hash to the SHA-256 the client declared.
    ASSET_HASH_MISMATCH = "asset-hash-mismatch", 422;
    /// The object in the bucket no longer matches the version's recorded hash.
    ASSET_TAMPERED = "asset-tampered", 409;
    /// `byob assets rebuild` needs an org whose catalog holds no asset versions.
    ASSET_CATALOG_NOT_EMPTY = "asset-catalog-not-empty", 409;
    // Migrations.
    /// The org already has a migration running; one at a time.
    MIGRATION_ACTIVE = "migration-active", 409;
    /// A migration is switching the feature's store: retry in a few seconds.
    MIGRATION_SWITCHING = "migration-switching", 409;
    /// The migration has ended; it cannot be cancelled.
    MIGRATION_FINISHED = "migration-finished", 409;
    // Imports and exports.
    IMPORT_RUN_ACTIVE = "import-run-active", 409;
    IMPORT_NOT_SCHEDULED = "import-not-scheduled", 409;
    IMPORT_LIST_DENIED = "import-list-denied", 502;
    IMPORT_READ_DENIED = "import-read-denied", 502;
    EXPORT_RUN_ACTIVE = "export-run-active", 409;
    EXPORT_NOT_SCHEDULED = "export-not-scheduled", 409;
    EXPORT_NOT_STAGING = "export-not-staging", 409;
    EXPORT_RUN_NOT_DELIVERED = "export-run-not-delivered", 409;
    // byob itself.
    INTERNAL = "internal", 500;
    CATALOG_BUSY = "catalog-busy", 503;
    CATALOG_UNAVAILABLE = "catalog-unavailable", 503;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/errors.md's table: each row's codes and its status cell. Rows whose status is `(run)` are a job's
    /// failure codes, not answers.
    fn documented() -> Vec<(String, String)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/errors.md");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut rows = Vec::new();
        for line in text.lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = line.split(" | ").collect();
            let status = cells.get(1).map(|s| s.trim().to_string()).unwrap_or_default();
            if status == "(run)" {
                continue;
            }
            for code in cells[0].trim_start_matches("| ").split(", ") {
                rows.push((code.trim_matches('`').to_string(), status.clone()));
            }
        }
        rows
    }

    #[test]
    fn every_code_is_documented_with_its_status_and_every_documented_code_exists() {
        let documented = documented();
        for code in ALL {
            let row = documented.iter().find(|(c, _)| c == code.as_str());
            let Some((_, status)) = row else { panic!("docs/errors.md lacks `{code}`") };
            assert!(
                status.contains(&code.status().to_string()),
                "docs/errors.md gives `{code}` {status}, not {}",
                code.status()
            );
        }
        for (code, _) in &documented {
            assert!(
                ALL.iter().any(|c| c.as_str() == code),
                "docs/errors.md lists `{code}`, which byob never answers with"
            );
        }
    }

    #[test]
    fn codes_are_unique_kebab_case_with_a_real_status() {
        let mut seen = std::collections::HashSet::new();
        for code in ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert!(code.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{code}");
            assert!((400..600).contains(&code.status()), "{code}");
        }
        assert_eq!(EXPORT_RUN_NOT_FOUND.missing_kind(), "export run");
    }
}
