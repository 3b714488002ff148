//! The IAM vocabulary: which action an operation needs, on which resource, and which statement of the
//! integration's policy (or trust or key policy) grants it.

use byob_core::integration::Credentials;

use crate::{
    artifacts::{ArtifactName, Spec},
    permissions::{BucketSetting, Needed, Operation, Subject, features, fix, grants},
};

/// The IAM action an operation needs.
pub(super) fn action(op: Operation) -> &'static str {
    match op {
        Operation::Write => "s3:PutObject",
        Operation::Read => "s3:GetObject",
        Operation::List => "s3:ListBucket",
        Operation::Delete => "s3:DeleteObject",
        Operation::EncryptWithKms => "kms:GenerateDataKey",
        Operation::AssumeRole => "sts:AssumeRole",
        Operation::ReadSetting(BucketSetting::Location) => "s3:GetBucketLocation",
        Operation::ReadSetting(BucketSetting::Cors) => "s3:GetBucketCORS",
        Operation::ReadSetting(BucketSetting::Encryption) => "s3:GetEncryptionConfiguration",
        Operation::ReadSetting(BucketSetting::Versioning) => "s3:GetBucketVersioning",
        Operation::ReadSetting(BucketSetting::PublicAccess) => "s3:GetBucketPublicAccessBlock",
        Operation::ReadSetting(BucketSetting::Lifecycle) => "s3:GetLifecycleConfiguration",
    }
}

/// What an operation needs: an IAM action on the role, key or bucket, and the statement of the integration's own
/// policy that grants it (for an S3-compatible store, the statement in AWS's grammar for the store's own policy).
pub(super) fn needs(s: &Subject<'_>, op: Operation) -> Needed {
    let i = s.i;
    let action = action(op);
    match op {
        Operation::AssumeRole => {
            let role = match &i.credentials {
                Credentials::S3AssumeRole { role_arn, .. } => role_arn.as_str(),
                _ => "the role",
            };
            let statement = s.artifact(ArtifactName::TrustPolicy).map(|t| t["Statement"][0].clone());
            return Needed {
                permission: format!("`{action}` on `{role}`"),
                fix: match statement {
                    Some(statement) => fix(
                        format!("make this statement the trust relationship of `{role}`"),
                        Some(ArtifactName::TrustPolicy),
                        Some(statement),
                    ),
                    None => "this integration does not assume a role".into(),
                },
            };
        }
        Operation::EncryptWithKms => {
            let key = i.kms_key.as_deref().unwrap_or("the key");
            let statement = s.artifact(ArtifactName::KmsKeyPolicyStatement).cloned();
            let also = if s.artifact(ArtifactName::IamPolicy).is_some() {
                " and keep the `ByobKmsKey` statement of the IAM policy"
            } else {
                ""
            };
            return Needed {
                permission: format!("`{action}` on `{key}`"),
                fix: match statement {
                    Some(statement) => fix(
                        format!("add this statement to the key policy of `{key}`{also}"),
                        Some(ArtifactName::KmsKeyPolicyStatement),
                        Some(statement),
                    ),
                    None => format!("let the credentials use `{key}` ({action}) in its key policy").into(),
                },
            };
        }
        _ => {}
    }
    let emitted = s.artifact(ArtifactName::IamPolicy).cloned();
    let policy = emitted.clone().unwrap_or_else(|| super::setup::iam_policy(&Spec { integration: i }));
    let statements = policy["Statement"].as_array().cloned().unwrap_or_default();
    // The statement that holds the action; for one the enabled features leave out, the statement of its kind.
    let sid = match op {
        Operation::List => "ByobListPrefix",
        Operation::ReadSetting(_) => "ByobReadBucketSettings",
        _ => "ByobObjects",
    };
    let granting = statements.iter().find(|s| grants(s, action)).cloned();
    let resource = granting
        .as_ref()
        .or_else(|| statements.iter().find(|s| s["Sid"] == sid))
        .and_then(|s| s["Resource"].as_str())
        .unwrap_or(&i.bucket)
        .to_string();
    let permission = format!("`{action}` on `{resource}`");
    let fix = match (granting, emitted.is_some()) {
        (Some(statement), true) => {
            let holder = match &i.credentials {
                Credentials::S3AssumeRole { role_arn, .. } => format!("the inline policy of `{role_arn}`"),
                _ => "the policy of the IAM user that owns the access key".into(),
            };
            let sid = statement["Sid"].as_str().unwrap_or(sid).to_string();
            fix(format!("add statement `{sid}` to {holder}"), Some(ArtifactName::IamPolicy), Some(statement))
        }
        (Some(statement), false) => fix(
            "allow it for the access key in the store's own access policy (this statement is in AWS's policy \
                 grammar, which S3-compatible stores such as MinIO and Ceph read too)"
                .into(),
            None,
            Some(statement),
        ),
        (None, _) => format!(
            "grant {permission}: byob's policy leaves it out because the enabled features ({}) never {}",
            features(i),
            op.verb()
        )
        .into(),
    };
    Needed { permission, fix }
}
