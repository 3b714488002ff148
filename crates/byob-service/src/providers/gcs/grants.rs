//! Google Cloud IAM's vocabulary: which permission an operation needs, and which binding grants it.

use serde_json::Value;

use crate::{
    artifacts::ArtifactName,
    permissions::{Needed, Operation, Subject, features, fix},
};

/// The IAM permission an operation needs.
fn permission(op: Operation) -> &'static str {
    match op {
        Operation::Write => "storage.objects.create",
        Operation::Read => "storage.objects.get",
        Operation::List => "storage.objects.list",
        Operation::Delete => "storage.objects.delete",
        Operation::EncryptWithKms => "cloudkms.cryptoKeyVersions.useToEncrypt",
        Operation::AssumeRole => "iam.serviceAccounts.getAccessToken",
        Operation::ReadSetting(_) => "storage.buckets.get",
    }
}

/// The Azure RBAC action (`false`) or data action (`true`).
/// What an operation needs: an IAM permission on the bucket or prefix, and the binding of the integration's setup
/// that grants it.
pub(super) fn needs(s: &Subject<'_>, op: Operation) -> Needed {
    let i = s.i;
    let permission = permission(op);
    let scope = match op {
        Operation::ReadSetting(_) => format!("gs://{}", i.bucket),
        _ => format!("gs://{}/{}", i.bucket, i.key_prefix()),
    };
    // The object role's binding (with the prefix condition), or for impersonation the Token Creator one.
    let wanted = |b: &&Value| match op {
        Operation::AssumeRole => b["role"] == "roles/iam.serviceAccountTokenCreator",
        _ => b["role"] != "roles/iam.serviceAccountTokenCreator",
    };
    let binding = s
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
