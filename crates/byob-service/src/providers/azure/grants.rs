//! Azure's vocabulary: the RBAC action or SAS letter an operation needs, and where it is granted.

use serde_json::json;

use crate::{
    artifacts::ArtifactName,
    permissions::{BucketSetting, Needed, Operation, Subject, features, fix},
};

/// The Azure RBAC action (`false`) or data action (`true`) an operation needs.
fn action(op: Operation) -> (&'static str, bool) {
    match op {
        Operation::Write => ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", true),
        Operation::Read | Operation::List => {
            ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", true)
        }
        Operation::Delete => ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete", true),
        Operation::EncryptWithKms | Operation::AssumeRole => {
            ("Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action", false)
        }
        Operation::ReadSetting(BucketSetting::Cors) => ("Microsoft.Storage/storageAccounts/blobServices/read", false),
        Operation::ReadSetting(_) => ("Microsoft.Storage/storageAccounts/blobServices/containers/read", false),
    }
}

/// The SAS permission letter an operation needs.
fn letter(op: Operation) -> char {
    match op {
        Operation::Write | Operation::EncryptWithKms | Operation::AssumeRole => 'w',
        Operation::Read | Operation::ReadSetting(_) => 'r',
        Operation::List => 'l',
        Operation::Delete => 'd',
    }
}

/// What an operation needs of a SAS: its letter, and a SAS granting it with the rest the features need.
pub(super) fn sas(s: &Subject<'_>, op: Operation, granted: &str) -> Needed {
    let letter = letter(op);
    let needed = byob_core::integration::sas_permissions_needed(&s.i.features);
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
            s.i.bucket
        )
        .into(),
    }
}

/// What an operation needs of a role: the action, and byob's custom role holding it.
pub(super) fn role(s: &Subject<'_>, op: Operation) -> Needed {
    let (action, data) = action(op);
    let list = if data { "DataActions" } else { "Actions" };
    let in_role = s
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
            s.i.bucket,
            features(s.i),
            op.verb()
        )
        .into()
    };
    Needed { permission: format!("`{action}` on container `{}`", s.i.bucket), fix }
}
