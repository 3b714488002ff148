//! One root cause, one failure. The checks run concurrently, so each sees the same broken bucket; afterwards a
//! check that could not really run because of an earlier failure — a missing bucket, a region mismatch, a refused
//! write — is reported `skipped` with that failure rather than failing again for the same cause with a fix that
//! would not help.

use crate::reports::{CheckResult, CheckStatus, RootCause};

/// Checks that hold or fail without the bucket: credentials, trust, and the storage server's clock.
const WITHOUT_BUCKET: [&str; 6] = [
    "credentials-obtain",
    "credentials-sas-permissions",
    "location-bucket-exists",
    "trust-wrong-external-id",
    "trust-byob-identity-refused",
    "clock-skew",
];

/// Checks that write to the bucket (the object round trip, the scoping probe, the browser uploads, the KMS probe).
const WRITING: [&str; 8] = [
    "objects-write",
    "objects-read-back",
    "objects-list",
    "objects-delete",
    "scoping-outside-prefix",
    "uploads-presigned-put",
    "uploads-presigned-multipart",
    "encryption-kms-write",
];

fn has_cause(results: &[CheckResult], cause: RootCause) -> Option<usize> {
    results.iter().position(|c| c.cause == Some(cause) && c.status != CheckStatus::Passed)
}

fn skip(check: &mut CheckResult, reason: &str) {
    check.status = CheckStatus::Skipped;
    check.message = reason.to_string();
    check.remediation = None;
    check.cause = None;
}

/// Checks that hold or fail without usable credentials.
const WITHOUT_CREDENTIALS: [&str; 5] = [
    "credentials-obtain",
    "credentials-sas-permissions",
    "trust-wrong-external-id",
    "trust-byob-identity-refused",
    "clock-skew",
];

/// Moves the failure a check noticed to the check it belongs to, unless that one failed already.
fn blame(results: &mut [CheckResult], root: usize, owner: &str) {
    let noticed = results[root].clone();
    if let Some(check) = results.iter_mut().find(|c| c.name == owner)
        && check.status != CheckStatus::Failed
    {
        check.status = CheckStatus::Failed;
        check.message = noticed.message;
        check.remediation = noticed.remediation;
    }
}

/// Rewrites the results so each root cause fails once.
pub(super) fn skip_dependents(results: &mut [CheckResult]) {
    if let Some(root) = has_cause(results, RootCause::CredentialsRefused) {
        blame(results, root, "credentials-obtain");
        for check in results.iter_mut().filter(|c| !WITHOUT_CREDENTIALS.contains(&c.name.as_str())) {
            skip(check, "the credentials are not usable (credentials-obtain)");
        }
        return;
    }
    if let Some(root) = has_cause(results, RootCause::BucketMissing) {
        // The failure belongs to `location-bucket-exists`, whichever check noticed it (a write answered "no such
        // bucket" where the bucket's metadata could not be read).
        blame(results, root, "location-bucket-exists");
        for check in results.iter_mut().filter(|c| !WITHOUT_BUCKET.contains(&c.name.as_str())) {
            skip(check, "the bucket does not exist (location-bucket-exists)");
        }
        return;
    }
    if has_cause(results, RootCause::RegionMismatch).is_some() {
        for check in results.iter_mut() {
            if WRITING.contains(&check.name.as_str()) && check.status != CheckStatus::Passed {
                skip(check, "the bucket is in another region than configured (location-region)");
            }
        }
    }
    if let Some(root) = has_cause(results, RootCause::WriteRefused) {
        let root_name = results[root].name.clone();
        for check in results.iter_mut().filter(|c| c.name != root_name && WRITING.contains(&c.name.as_str())) {
            // A refusal outside the prefix proves nothing when writes inside it are refused too.
            if check.status != CheckStatus::Passed || check.name == "scoping-outside-prefix" {
                skip(check, "byob may not write under the prefix (objects-write)");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, status: CheckStatus, cause: Option<RootCause>) -> CheckResult {
        CheckResult {
            name: name.into(),
            status,
            duration_ms: 1,
            message: format!("{name} said something"),
            remediation: None,
            error_id: None,
            cause,
        }
    }

    #[test]
    fn a_missing_bucket_noticed_by_the_write_fails_once_on_the_bucket_check() {
        let mut results = vec![
            check("credentials-obtain", CheckStatus::Passed, None),
            check("location-bucket-exists", CheckStatus::Warning, None),
            check("objects-write", CheckStatus::Failed, Some(RootCause::BucketMissing)),
            check("cors-rules", CheckStatus::Failed, None),
            check("clock-skew", CheckStatus::Passed, None),
        ];
        skip_dependents(&mut results);
        let status: Vec<_> = results.iter().map(|c| c.status).collect();
        assert_eq!(
            status,
            [CheckStatus::Passed, CheckStatus::Failed, CheckStatus::Skipped, CheckStatus::Skipped, CheckStatus::Passed]
        );
        assert_eq!(results[1].message, "objects-write said something");
        assert_eq!(results[3].message, "the bucket does not exist (location-bucket-exists)");
    }

    #[test]
    fn a_region_mismatch_skips_the_writes_it_broke_and_keeps_those_that_held() {
        let mut results = vec![
            check("location-region", CheckStatus::Failed, Some(RootCause::RegionMismatch)),
            check("objects-write", CheckStatus::Failed, None),
            check("uploads-presigned-put", CheckStatus::Passed, None),
            check("cors-rules", CheckStatus::Failed, None),
        ];
        skip_dependents(&mut results);
        let status: Vec<_> = results.iter().map(|c| c.status).collect();
        assert_eq!(status, [CheckStatus::Failed, CheckStatus::Skipped, CheckStatus::Passed, CheckStatus::Failed]);
        assert_eq!(results[1].message, "the bucket is in another region than configured (location-region)");
    }

    #[test]
    fn a_refused_write_skips_the_writes_that_depend_on_it() {
        let mut results = vec![
            check("objects-write", CheckStatus::Failed, Some(RootCause::WriteRefused)),
            check("scoping-outside-prefix", CheckStatus::Passed, None),
            check("uploads-presigned-put", CheckStatus::Failed, None),
            check("cors-rules", CheckStatus::Failed, None),
        ];
        skip_dependents(&mut results);
        let status: Vec<_> = results.iter().map(|c| c.status).collect();
        assert_eq!(status, [CheckStatus::Failed, CheckStatus::Skipped, CheckStatus::Skipped, CheckStatus::Failed]);
    }
}
