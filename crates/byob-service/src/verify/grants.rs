//! What a refused operation needs, in the provider's own words — `s3:PutObject` on `arn:aws:s3:::bucket/prefix/*`,
//! `storage.objects.create`, the SAS letter `w`, `Microsoft.Storage/…/blobs/write` — and where its fix is: the
//! statement or grant of this integration's own setup artifact, or an inline instruction where the setup holds
//! none for this store. A check knows which operation it attempted, so it says so even when the store's error
//! does not name the permission.

use byob_core::{
    integration::{Credentials, Feature, Integration},
    location::Provider,
};
use serde_json::{Value, json};

use crate::reports::{Fix, Remediation};
use crate::setup::{ArtifactName, SetupDocument};

/// An operation a check attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// A write, a multipart upload or a presigned PUT.
    Write,
    Read,
    List,
    Delete,
    /// A write encrypted with the integration's KMS key.
    EncryptWithKms,
    /// byob's principal assuming the customer's role.
    AssumeRole,
    /// Reading one of the bucket's own settings.
    ReadSetting(BucketSetting),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BucketSetting {
    Location,
    Cors,
    Encryption,
    Versioning,
    PublicAccess,
    Lifecycle,
}

impl Operation {
    #[cfg(test)]
    pub(crate) const ALL: [Self; 12] = [
        Self::Write,
        Self::Read,
        Self::List,
        Self::Delete,
        Self::EncryptWithKms,
        Self::AssumeRole,
        Self::ReadSetting(BucketSetting::Location),
        Self::ReadSetting(BucketSetting::Cors),
        Self::ReadSetting(BucketSetting::Encryption),
        Self::ReadSetting(BucketSetting::Versioning),
        Self::ReadSetting(BucketSetting::PublicAccess),
        Self::ReadSetting(BucketSetting::Lifecycle),
    ];

    fn s3_action(self) -> &'static str {
        match self {
            Self::Write => "s3:PutObject",
            Self::Read => "s3:GetObject",
            Self::List => "s3:ListBucket",
            Self::Delete => "s3:DeleteObject",
            Self::EncryptWithKms => "kms:GenerateDataKey",
            Self::AssumeRole => "sts:AssumeRole",
            Self::ReadSetting(BucketSetting::Location) => "s3:GetBucketLocation",
            Self::ReadSetting(BucketSetting::Cors) => "s3:GetBucketCORS",
            Self::ReadSetting(BucketSetting::Encryption) => "s3:GetEncryptionConfiguration",
            Self::ReadSetting(BucketSetting::Versioning) => "s3:GetBucketVersioning",
            Self::ReadSetting(BucketSetting::PublicAccess) => "s3:GetBucketPublicAccessBlock",
            Self::ReadSetting(BucketSetting::Lifecycle) => "s3:GetLifecycleConfiguration",
        }
    }

    fn gcs_permission(self) -> &'static str {
        match self {
            Self::Write => "storage.objects.create",
            Self::Read => "storage.objects.get",
            Self::List => "storage.objects.list",
            Self::Delete => "storage.objects.delete",
            Self::EncryptWithKms => "cloudkms.cryptoKeyVersions.useToEncrypt",
            Self::AssumeRole => "iam.serviceAccounts.getAccessToken",
            Self::ReadSetting(_) => "storage.buckets.get",
        }
    }

    /// The Azure RBAC action (`false`) or data action (`true`).
    fn azure_action(self) -> (&'static str, bool) {
        match self {
            Self::Write => ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", true),
            Self::Read | Self::List => ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", true),
            Self::Delete => ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete", true),
            Self::EncryptWithKms | Self::AssumeRole => {
                ("Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action", false)
            }
            Self::ReadSetting(BucketSetting::Cors) => ("Microsoft.Storage/storageAccounts/blobServices/read", false),
            Self::ReadSetting(_) => ("Microsoft.Storage/storageAccounts/blobServices/containers/read", false),
        }
    }

    /// The SAS permission letter.
    fn sas_letter(self) -> char {
        match self {
            Self::Write | Self::EncryptWithKms | Self::AssumeRole => 'w',
            Self::Read | Self::ReadSetting(_) => 'r',
            Self::List => 'l',
            Self::Delete => 'd',
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Self::Write => "write",
            Self::Read => "read",
            Self::List => "list",
            Self::Delete => "delete",
            Self::EncryptWithKms => "encrypt with the KMS key",
            Self::AssumeRole => "assume the role",
            Self::ReadSetting(_) => "read the bucket's settings",
        }
    }
}

/// What an operation needs: the permission, named as the provider names it, and the fix.
#[derive(Debug, Clone)]
pub(crate) struct Needed {
    /// e.g. "`s3:PutObject` on `arn:aws:s3:::bucket/prefix/*`", "the SAS letter `w` (it grants `rl`)".
    pub permission: String,
    pub fix: Fix,
}

/// The integration being verified and the setup byob generates for it: the artifacts remediations may name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub i: &'a Integration,
    pub setup: &'a SetupDocument,
}

fn fix(action: String, artifact: Option<ArtifactName>, statement: Option<Value>) -> Fix {
    Fix(Remediation { action, artifact: artifact.map(|a| a.as_str().to_string()), statement })
}

/// Whether an IAM statement's `Action` (a string or a list) holds the action.
fn grants(statement: &Value, action: &str) -> bool {
    match &statement["Action"] {
        Value::String(a) => a == action,
        Value::Array(list) => list.iter().any(|a| a == action),
        _ => false,
    }
}

impl<'a> Subject<'a> {
    fn artifact(&self, name: ArtifactName) -> Option<&'a Value> {
        self.setup.artifact(name).map(|a| &a.content)
    }

    /// A fix through one of the setup's artifacts. Where this integration's setup has no such artifact (a store
    /// byob emits nothing for), the fix is the instruction itself, inline.
    pub(crate) fn fix(&self, artifact: ArtifactName, action: &str) -> Fix {
        if self.artifact(artifact).is_some() {
            return fix(action.to_string(), Some(artifact), None);
        }
        fix(format!("{action}: {}", self.inline(artifact)), None, None)
    }

    /// What to do where the setup has no artifact of that name for this integration.
    fn inline(&self, artifact: ArtifactName) -> String {
        let i = self.i;
        match artifact {
            ArtifactName::PublicAccessBlock => {
                "byob's setup has no public-access-block for this store; turn off anonymous access to the bucket in \
                 the store's own settings"
                    .into()
            }
            ArtifactName::Versioning => "turn on versioning in the store's own settings".into(),
            ArtifactName::Cors => format!(
                "set CORS rules on the bucket allowing {} with GET, PUT, POST and HEAD and exposing ETag",
                if i.allowed_origins.is_empty() { "the browser origins".into() } else { i.allowed_origins.join(", ") }
            ),
            ArtifactName::Lifecycle => format!(
                "add a lifecycle rule in the store's own settings expiring `{}uploads/` after {} day(s)",
                i.key_prefix(),
                i.staging_ttl_days()
            ),
            ArtifactName::IamPolicy => {
                "byob's setup has no IAM policy for this store; grant the credentials the access in the store's own \
                 access policy"
                    .into()
            }
            other => format!("byob's setup for this integration has no `{}`; do it by hand", other.as_str()),
        }
    }

    /// What the operation needs on this integration, and where the fix is.
    pub(crate) fn needs(&self, op: Operation) -> Needed {
        match (&self.i.provider, &self.i.credentials) {
            (Provider::S3, _) => self.s3(op),
            (Provider::Gcs, _) => self.gcs(op),
            (Provider::Azure, Credentials::AzureSas { permissions, .. }) => self.sas(op, permissions),
            (Provider::Azure, Credentials::AzureSharedKey { account, .. }) => Needed {
                permission: format!("the account key of `{account}` (a key grants everything, so it was refused)"),
                fix: "the storage account refused its own key: it was rotated, or the account is not the one named; \
                      replace the integration's account key with a current one (Storage account → Access keys)"
                    .into(),
            },
            (Provider::Azure, _) => self.azure_role(op),
            (Provider::Local, _) => Needed {
                permission: format!("the file system's permission to {} in `{}`", op.verb(), self.i.bucket),
                fix: "give byob's user access to the directory".into(),
            },
        }
    }

    fn s3(&self, op: Operation) -> Needed {
        let i = self.i;
        let action = op.s3_action();
        match op {
            Operation::AssumeRole => {
                let role = match &i.credentials {
                    Credentials::S3AssumeRole { role_arn, .. } => role_arn.as_str(),
                    _ => "the role",
                };
                let statement = self.artifact(ArtifactName::TrustPolicy).map(|t| t["Statement"][0].clone());
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
                let statement = self.artifact(ArtifactName::KmsKeyPolicyStatement).cloned();
                let also = if self.artifact(ArtifactName::IamPolicy).is_some() {
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
        let emitted = self.artifact(ArtifactName::IamPolicy).cloned();
        let policy = emitted.clone().unwrap_or_else(|| crate::setup::s3_policy(i));
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

    fn gcs(&self, op: Operation) -> Needed {
        let i = self.i;
        let permission = op.gcs_permission();
        let scope = match op {
            Operation::ReadSetting(_) => format!("gs://{}", i.bucket),
            _ => format!("gs://{}/{}", i.bucket, i.key_prefix()),
        };
        // The object role's binding (with the prefix condition), or for impersonation the Token Creator one.
        let wanted = |b: &&Value| match op {
            Operation::AssumeRole => b["role"] == "roles/iam.serviceAccountTokenCreator",
            _ => b["role"] != "roles/iam.serviceAccountTokenCreator",
        };
        let binding = self
            .artifact(ArtifactName::IamBindings)
            .and_then(|b| b["bindings"].as_array())
            .and_then(|bindings| bindings.iter().find(wanted).cloned());
        let role = binding.as_ref().and_then(|b| b["role"].as_str()).unwrap_or_default().to_string();
        let covered = match op {
            Operation::Read | Operation::List => !role.is_empty(),
            Operation::Write | Operation::Delete => role == "roles/storage.objectUser",
            Operation::AssumeRole => !role.is_empty(),
            _ => false,
        };
        let fix = match (binding, covered) {
            (Some(binding), true) if op == Operation::AssumeRole => fix(
                format!("grant `{role}` on the customer's service account to the org's byob identity named here"),
                Some(ArtifactName::IamBindings),
                Some(binding),
            ),
            (Some(binding), true) => fix(
                format!("grant `{role}` to the service account on the bucket, with the prefix condition"),
                Some(ArtifactName::IamBindings),
                Some(binding),
            ),
            _ => match op {
                Operation::ReadSetting(_) => format!(
                    "grant `{permission}` on `{scope}` (a custom role holding just that permission is enough) so \
                     verification can read the bucket's settings"
                ),
                Operation::AssumeRole => {
                    "grant roles/iam.serviceAccountTokenCreator to the org's identity shown in the setup".into()
                }
                Operation::EncryptWithKms => {
                    "grant the Cloud Storage service agent roles/cloudkms.cryptoKeyEncrypterDecrypter on the key".into()
                }
                _ => format!(
                    "grant `{permission}` on `{scope}`: byob's bindings leave it out because the enabled features \
                     ({}) never {}",
                    features(i),
                    op.verb()
                ),
            }
            .into(),
        };
        Needed { permission: format!("`{permission}` on `{scope}`"), fix }
    }

    fn sas(&self, op: Operation, granted: &str) -> Needed {
        let letter = op.sas_letter();
        let needed = byob_core::integration::sas_permissions_needed(&self.i.features);
        let mut wanted: String = needed.to_string();
        for extra in [letter, 'd'] {
            if !wanted.contains(extra) {
                wanted.push(extra);
            }
        }
        let permission = if granted.contains(letter) {
            format!(
                "the SAS letter `{letter}`, which the SAS grants (`{granted}`) yet was refused: the SAS may be for \
                 another container or account, or limited by IP address or protocol"
            )
        } else {
            format!("the SAS letter `{letter}` (the SAS grants `{granted}`)")
        };
        Needed {
            permission,
            fix: format!(
                "generate a SAS for container `{}` with permissions `{wanted}` and replace the integration's \
                 credentials",
                self.i.bucket
            )
            .into(),
        }
    }

    fn azure_role(&self, op: Operation) -> Needed {
        let (action, data) = op.azure_action();
        let list = if data { "DataActions" } else { "Actions" };
        let in_role = self
            .artifact(ArtifactName::CustomRole)
            .and_then(|r| r[list].as_array())
            .is_some_and(|actions| actions.iter().any(|a| a == action));
        let fix = if in_role {
            fix(
                format!("assign the custom role (its {list} include this) to byob's identity on the container"),
                Some(ArtifactName::CustomRole),
                Some(json!({ list: [action] })),
            )
        } else {
            format!(
                "add `{action}` to the role byob's identity holds on container `{}`: byob's custom role leaves it out \
                 because the enabled features ({}) never {}",
                self.i.bucket,
                features(self.i),
                op.verb()
            )
            .into()
        };
        Needed { permission: format!("`{action}` on container `{}`", self.i.bucket), fix }
    }
}

fn features(i: &Integration) -> String {
    if i.features.is_empty() {
        return "none".into();
    }
    i.features.iter().map(|f: &Feature| f.as_str()).collect::<Vec<_>>().join(", ")
}
