//! The checks, provider-independent: they talk to the bucket through the integration's storage client.

use byob_core::{
    integration::{Credentials, Integration},
    location::Provider,
};
use byob_ports::storage::{StorageClient, StorageError, StsSettings, s3};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload, path::Path};

use super::report::Outcome;

/// The setup artifact that grants object access, per provider.
fn access_artifact(i: &Integration) -> Option<&'static str> {
    match (&i.provider, &i.credentials) {
        // The setup emits the IAM policy for AWS, and for any endpoint when byob assumes a role.
        (Provider::S3, Credentials::S3AssumeRole { .. }) => Some("iam-policy"),
        (Provider::S3, _) if i.endpoint.is_none() => Some("iam-policy"),
        (Provider::Gcs, _) => Some("iam-bindings"),
        (Provider::Azure, Credentials::AzureServicePrincipal { .. } | Credentials::AzureBroker { .. }) => {
            Some("custom-role")
        }
        _ => None,
    }
}

fn denied(err: &StorageError) -> bool {
    matches!(err, StorageError::PermissionDenied(_))
}

/// An Azure SAS grants the permissions the enabled features need (the features may have changed since the SAS
/// was checked on input).
pub(super) fn sas_permissions(i: &Integration) -> super::CheckResult {
    let outcome = match &i.credentials {
        Credentials::AzureSas { permissions, .. } => {
            let needed = crate::integrations::sas_permissions_needed(&i.features);
            let missing: String = needed.chars().filter(|p| !permissions.contains(*p)).collect();
            if !missing.is_empty() {
                let features: Vec<&str> = i.features.iter().map(|f| f.as_str()).collect();
                Outcome::failed(
                    format!(
                        "the SAS grants `{permissions}`, but the enabled features ({}) need `{needed}`: `{missing}` is missing",
                        features.join(", ")
                    ),
                    format!("generate a SAS with permissions `{needed}d` and replace the integration's credentials"),
                    None,
                )
            } else if !permissions.contains('d') {
                Outcome::warning(
                    format!("the SAS grants `{permissions}` without `d`: byob cannot delete staged files or probes"),
                    "add `d` to the SAS, or rely on a lifecycle management rule",
                    Some("lifecycle"),
                )
            } else {
                Outcome::passed(format!("the SAS grants `{permissions}`, enough for the enabled features"))
            }
        }
        _ => Outcome::skipped("not a SAS credential"),
    };
    super::result("credentials-sas-permissions", outcome, 0)
}

/// A SAS's or key's own expiry: failed once past, a warning within 14 days.
pub(super) fn credential_expiry(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Outcome {
    match expires_at {
        Some(at) if at <= now => Outcome::failed(
            format!("the credential expired at {at}"),
            "issue a new credential and replace it on the integration",
            None,
        ),
        Some(at) if at - now < chrono::Duration::days(14) => Outcome::warning(
            format!("the credential expires at {at}, in {} day(s)", (at - now).num_days()),
            "issue a new credential before then and replace it on the integration",
            None,
        ),
        _ => Outcome::passed("credentials obtained"),
    }
}

pub(super) async fn assume_with(sts: &StsSettings, i: &Integration, external_id: &str) -> Result<(), StorageError> {
    let Credentials::S3AssumeRole { role_arn, .. } = &i.credentials else { return Ok(()) };
    let role = crate::storage::assume_role(i, role_arn, external_id, std::time::Duration::from_secs(900));
    s3::check_assume_role(sts, role).await.map(|_| ())
}

/// The probe's key and contents for this run.
pub(super) fn probe(client: &StorageClient, run: &str) -> Result<(Path, Vec<u8>), StorageError> {
    Ok((client.key(&format!(".byob/verify/{run}.probe"))?, format!("byob verification {run}\n").into_bytes()))
}

pub(super) async fn write(client: &StorageClient, i: &Integration, key: &Path, body: &[u8]) -> Outcome {
    match client.store().put(key, PutPayload::from(body.to_vec())).await.map_err(StorageError::from) {
        Ok(_) => Outcome::passed(format!("wrote {key}")),
        Err(StorageError::NotFound(_)) => Outcome::failed(
            format!("the bucket `{}` does not exist (a write was answered with \"no such bucket\")", i.bucket),
            "create the bucket, or correct the integration's bucket name",
            None,
        ),
        Err(e) if denied(&e) => Outcome::failed(
            format!("byob may not write under `{}/`: {e}", i.prefix),
            "grant byob write access to the prefix",
            access_artifact(i),
        ),
        Err(e) => {
            Outcome::failed(format!("writing {key} failed: {e}"), "check the bucket name, region and endpoint", None)
        }
    }
}

pub(super) async fn read_back(client: &StorageClient, i: &Integration, key: &Path, body: &[u8]) -> Outcome {
    match client.store().get(key).await.map_err(StorageError::from) {
        Ok(result) => match result.bytes().await {
            Ok(bytes) if bytes.as_ref() == body => Outcome::passed("read the probe back unchanged"),
            Ok(_) => Outcome::failed(
                "the probe came back different from what was written",
                "check for a proxy or gateway that rewrites objects",
                None,
            ),
            Err(e) => Outcome::failed(
                format!("reading the probe failed: {e}"),
                "grant byob read access to the prefix",
                access_artifact(i),
            ),
        },
        Err(e) if denied(&e) => Outcome::failed(
            format!("byob may not read under `{}/`: {e}", i.prefix),
            "grant byob read access to the prefix",
            access_artifact(i),
        ),
        Err(e) => Outcome::failed(
            format!("reading the probe failed: {e}"),
            "grant byob read access to the prefix",
            access_artifact(i),
        ),
    }
}

pub(super) async fn list(client: &StorageClient, i: &Integration, key: &Path) -> Outcome {
    let Ok(folder) = client.key(".byob/verify") else { return Outcome::skipped("no folder to list") };
    match client.store().list(Some(&folder)).try_collect::<Vec<_>>().await.map_err(StorageError::from) {
        Ok(items) if items.iter().any(|m| &m.location == key) => Outcome::passed("listing the prefix shows the probe"),
        Ok(_) => Outcome::failed(
            "listing the prefix does not show the probe",
            "check the listing permission's prefix condition",
            access_artifact(i),
        ),
        Err(e) => Outcome::failed(
            format!("byob may not list under `{}/`: {e}", i.prefix),
            "grant byob list access to the prefix",
            access_artifact(i),
        ),
    }
}

pub(super) async fn delete(client: &StorageClient, key: &Path) -> Outcome {
    match client.store().delete(key).await.map_err(StorageError::from) {
        Ok(()) => Outcome::passed("deleted the probe"),
        Err(e) if denied(&e) => Outcome::warning(
            "byob may not delete: staged files and probes will be removed only by the lifecycle rule",
            "apply the lifecycle rules so `.byob/` and staged uploads expire",
            Some("lifecycle"),
        ),
        Err(e) => {
            Outcome::failed(format!("deleting the probe failed: {e}"), "grant byob delete access to the prefix", None)
        }
    }
}

/// A write next to the prefix (not under it) must be refused.
pub(super) async fn outside_prefix(client: &StorageClient, i: &Integration, run: &str) -> Outcome {
    if i.prefix.is_empty() {
        return Outcome::skipped("the integration uses the whole bucket: there is no outside");
    }
    let parent = i.prefix.rsplit_once('/').map_or(String::new(), |(p, _)| format!("{p}/"));
    let probe = format!("{parent}.byob-scope-probe-{run}");
    let key = Path::parse(&probe).unwrap_or_else(|_| Path::from(probe));
    match client.store().put(&key, PutPayload::from_static(b"scope probe")).await.map_err(StorageError::from) {
        Err(e) if denied(&e) => Outcome::passed(format!("a write outside `{}/` was refused", i.prefix)),
        Err(e) => Outcome::failed(
            format!("the write outside the prefix failed unexpectedly: {e}"),
            "check the endpoint",
            None,
        ),
        Ok(_) => {
            let _ = client.store().delete(&key).await;
            Outcome::failed(
                format!("byob's credentials can write outside `{}/` (wrote and removed {key})", i.prefix),
                "limit the policy to the prefix",
                access_artifact(i),
            )
        }
    }
}

/// Assuming the role with a wrong external id must fail.
pub(super) async fn wrong_external_id(sts: &StsSettings, i: &Integration, run: &str) -> Outcome {
    match assume_with(sts, i, &format!("byob-wrong-{run}")).await {
        Err(e) if denied(&e) => Outcome::passed("a wrong external id is refused"),
        Err(e) => {
            Outcome::failed(format!("the negative assume-role test could not run: {e}"), "check the STS endpoint", None)
        }
        Ok(()) => Outcome::failed(
            "the role can be assumed with any external id: the trust policy is too open (confused deputy)",
            "require byob's external id in the trust policy",
            Some("trust-policy"),
        ),
    }
}
