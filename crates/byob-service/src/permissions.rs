//! What a refused operation needs, in the provider's own words — `s3:PutObject` on `arn:aws:s3:::bucket/prefix/*`,
//! `storage.objects.create`, the SAS letter `w`, `Microsoft.Storage/…/blobs/write` — and where its fix is: the
//! statement or grant of this integration's own setup artifact, or an inline instruction where the setup holds
//! none for this store. A check knows which operation it attempted, so it says so even when the store's error
//! does not name the permission.

use byob_core::integration::{Feature, Integration};
use serde_json::Value;

use crate::{
    artifacts::{ArtifactName, SetupDocument},
    reports::{Fix, Remediation},
};

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

    pub(crate) fn verb(self) -> &'static str {
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

pub(crate) fn fix(action: String, artifact: Option<ArtifactName>, statement: Option<Value>) -> Fix {
    Fix(Remediation { action, artifact: artifact.map(|a| a.as_str().to_string()), statement })
}

/// Whether an IAM statement's `Action` (a string or a list) holds the action.
pub(crate) fn grants(statement: &Value, action: &str) -> bool {
    match &statement["Action"] {
        Value::String(a) => a == action,
        Value::Array(list) => list.iter().any(|a| a == action),
        _ => false,
    }
}

impl<'a> Subject<'a> {
    pub(crate) fn artifact(&self, name: ArtifactName) -> Option<&'a Value> {
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
    pub(crate) fn inline(&self, artifact: ArtifactName) -> String {
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
}

/// The enabled features, for messages.
pub(crate) fn features(i: &Integration) -> String {
    if i.features.is_empty() {
        return "none".into();
    }
    i.features.iter().map(|f: &Feature| f.as_str()).collect::<Vec<_>>().join(", ")
}

/// Why these credentials reach beyond a prefix, and what to use instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Limit {
    pub reason: String,
    pub instead: String,
}

/// ` (CODE)` when the store's answer named one.
pub(crate) fn code_of(err: &byob_ports::storage::StorageError) -> String {
    err.store_code().map(|code| format!(" ({code})")).unwrap_or_default()
}
