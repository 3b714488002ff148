//! byob's own AWS principal and the roles it assumes: what is missing when the operator has not configured it, and
//! the `AssumeRole` request for an integration (its external id, a session policy limited to its prefix).

use byob_core::integration::Integration;
use byob_ports::storage::AssumeRole;

use crate::ServiceError;

/// Why an assume-role integration cannot be reached: byob has no AWS principal of its own.
pub(crate) const AWS_CREDENTIALS_MISSING: &str =
    "the operator has not configured byob's AWS credentials (integrations.aws_access_key_id)";

pub(crate) fn aws_credentials_missing() -> ServiceError {
    ServiceError::Refused {
        code: byob_core::codes::CREDENTIAL_MODE_UNAVAILABLE,
        message: AWS_CREDENTIALS_MISSING.into(),
    }
}

/// The request byob makes to assume an integration's role: the given external id, and a session policy limited
/// to the integration's prefix.
pub(crate) fn assume_role(
    i: &Integration,
    role_arn: &str,
    external_id: &str,
    duration: std::time::Duration,
) -> AssumeRole {
    AssumeRole {
        role_arn: role_arn.to_string(),
        external_id: external_id.to_string(),
        session_policy: Some(super::setup::iam_policy(&crate::artifacts::Spec { integration: i }).to_string()),
        session_name: format!("byob-{}", i.id),
        duration,
    }
}
