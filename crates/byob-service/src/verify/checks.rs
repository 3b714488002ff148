//! The checks, provider-independent: they talk to the bucket through the integration's storage client.

use byob_core::integration::Integration;
use byob_ports::storage::{StorageClient, StorageError, StsSettings, s3};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload, path::Path};

use crate::{artifacts::ArtifactName, providers::s3::aws};

use crate::permissions::{Operation, Subject, code_of};
use crate::reports::{Outcome, RootCause};

fn denied(err: &StorageError) -> bool {
    matches!(err, StorageError::PermissionDenied(_))
}

/// A refusal of byob's credentials themselves — Google IAM refusing the impersonation, STS refusing the role
/// mid-run — whichever check met it: it belongs to `credentials-obtain`, and the checks after it are skipped.
pub(super) fn credentials_refused(s: &Subject<'_>, err: &StorageError) -> Option<Outcome> {
    match err {
        StorageError::ImpersonationRefused(message) => Some(
            Outcome::failed(message.clone(), s.needs(Operation::AssumeRole).fix).because(RootCause::CredentialsRefused),
        ),
        StorageError::RoleRefused { .. } => Some(
            Outcome::failed(err.to_string(), s.needs(Operation::AssumeRole).fix).because(RootCause::CredentialsRefused),
        ),
        _ if let Some(refused) = crate::providers::of(s.i.provider).credentials_refused(s, err) => Some(refused),
        StorageError::CredentialsRejected(_) => Some(
            Outcome::failed(
                err.to_string(),
                format!(
                    "replace the integration's credentials with current ones: `byob integrations update --org {} {}` \
                     with a body of new `credentials`",
                    s.i.org_id, s.i.id
                ),
            )
            .because(RootCause::CredentialsRefused),
        ),
        _ => None,
    }
}

/// A refusal, named by the permission the operation needs (the store's own answer goes to the log: it quotes
/// endpoint URLs and bodies).
fn refused(s: &Subject<'_>, op: Operation, what: String, err: &StorageError) -> Outcome {
    tracing::info!(integration = %s.i.id, error = %err, "verification: {what}");
    if let Some(refused) = credentials_refused(s, err) {
        return refused;
    }
    let needed = s.needs(op);
    Outcome::failed(format!("{what}: the store refused {}{}", needed.permission, code_of(err)), needed.fix)
}

/// Where byob writes, as a message says it.
pub(super) fn under(i: &Integration) -> String {
    if i.prefix.is_empty() { "the bucket root".into() } else { format!("`{}/`", i.prefix) }
}

/// A SAS's or key's own expiry: failed once past, a warning within 14 days.
pub(super) fn credential_expiry(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Outcome {
    match expires_at {
        Some(at) if at <= now => Outcome::failed(
            format!("the credential expired at {at}"),
            "issue a new credential and replace it on the integration",
        ),
        Some(at) if at - now < chrono::Duration::days(14) => Outcome::warning(
            format!("the credential expires at {at}, in {} day(s)", (at - now).num_days()),
            "issue a new credential before then and replace it on the integration",
        ),
        _ => Outcome::passed("credentials obtained"),
    }
}

pub(super) async fn assume_with(sts: &StsSettings, i: &Integration, external_id: &str) -> Result<(), StorageError> {
    let Some(assumed) = crate::providers::of(i.provider).assumed_role(i) else { return Ok(()) };
    let role = aws::assume_role(i, assumed.role_arn, external_id, std::time::Duration::from_secs(900));
    s3::check_assume_role(sts, role).await.map(|_| ())
}

/// The probe's key and contents for this run.
pub(super) fn probe(client: &StorageClient, run: &str) -> Result<(Path, Vec<u8>), StorageError> {
    Ok((client.key(&format!(".byob/verify/{run}.probe"))?, format!("byob verification {run}\n").into_bytes()))
}

pub(super) async fn write(client: &StorageClient, s: &Subject<'_>, key: &Path, body: &[u8]) -> Outcome {
    let i = s.i;
    let written = client.store().put(key, PutPayload::from(body.to_vec())).await.map_err(StorageError::from);
    if let Err(e) = &written
        && let Some(refused) = credentials_refused(s, e)
    {
        return refused;
    }
    match written {
        Ok(_) => Outcome::passed(format!("wrote {key}")),
        Err(StorageError::NotFound(_)) => Outcome::failed(
            format!("the bucket `{}` does not exist (a write was answered with \"no such bucket\")", i.bucket),
            "create the bucket, or correct the integration's bucket name",
        )
        .because(RootCause::BucketMissing),
        Err(e) if denied(&e) => refused(s, Operation::Write, format!("byob may not write under {}", under(i)), &e)
            .because(RootCause::WriteRefused),
        Err(e) => Outcome::failed(format!("writing {key} failed: {e}"), "check the bucket name, region and endpoint"),
    }
}

pub(super) async fn read_back(client: &StorageClient, s: &Subject<'_>, key: &Path, body: &[u8]) -> Outcome {
    let what = || format!("byob may not read under {}", under(s.i));
    match client.store().get(key).await.map_err(StorageError::from) {
        Ok(result) => match result.bytes().await.map_err(StorageError::from) {
            Ok(bytes) if bytes.as_ref() == body => Outcome::passed("read the probe back unchanged"),
            Ok(_) => Outcome::failed(
                "the probe came back different from what was written",
                "check for a proxy or gateway that rewrites objects",
            ),
            Err(e) if denied(&e) => refused(s, Operation::Read, what(), &e),
            Err(e) => Outcome::failed(format!("reading the probe failed midway: {e}"), "check the endpoint"),
        },
        Err(e) if denied(&e) => refused(s, Operation::Read, what(), &e),
        Err(StorageError::NotFound(_)) => Outcome::failed(
            "the probe just written is not there when read: the store does not read its own writes",
            "check for a caching proxy or an eventually consistent gateway in front of the store",
        ),
        Err(e) => Outcome::failed(format!("reading the probe failed: {e}"), "check the endpoint"),
    }
}

pub(super) async fn list(client: &StorageClient, s: &Subject<'_>, key: &Path) -> Outcome {
    let Ok(folder) = client.key(".byob/verify") else { return Outcome::skipped("no folder to list") };
    match client.store().list(Some(&folder)).try_collect::<Vec<_>>().await.map_err(StorageError::from) {
        Ok(items) if items.iter().any(|m| &m.location == key) => Outcome::passed("listing the prefix shows the probe"),
        Ok(_) => {
            let needed = s.needs(Operation::List);
            Outcome::failed(
                format!(
                    "listing the prefix does not show the probe: check {} and its prefix condition",
                    needed.permission
                ),
                needed.fix,
            )
        }
        Err(e) if denied(&e) => refused(s, Operation::List, format!("byob may not list under {}", under(s.i)), &e),
        Err(e) => Outcome::failed(format!("listing under {} failed: {e}", under(s.i)), "check the endpoint"),
    }
}

pub(super) async fn delete(client: &StorageClient, s: &Subject<'_>, key: &Path) -> Outcome {
    match client.store().delete(key).await.map_err(StorageError::from) {
        Ok(()) => Outcome::passed("deleted the probe"),
        Err(e) if denied(&e) => {
            let needed = s.needs(Operation::Delete);
            Outcome::warning(
                format!(
                    "byob may not delete (the store refused {}): staged files and probes will be removed only by the \
                     lifecycle rule",
                    needed.permission
                ),
                s.fix(
                    ArtifactName::Lifecycle,
                    "apply the lifecycle rules so `.byob/` and staged uploads expire, or grant the permission",
                ),
            )
        }
        Err(e) => Outcome::failed(format!("deleting the probe failed: {e}"), "check the endpoint"),
    }
}

/// A write next to the prefix (not under it) must be refused. Credentials that cannot express a prefix at all
/// make this a warning naming their limit: no setting of theirs could pass it.
pub(super) async fn outside_prefix(client: &StorageClient, s: &Subject<'_>, run: &str) -> Outcome {
    let i = s.i;
    if i.prefix.is_empty() {
        return Outcome::skipped("the integration uses the whole bucket: there is no outside");
    }
    let parent = i.prefix.rsplit_once('/').map_or(String::new(), |(p, _)| format!("{p}/"));
    let probe = format!("{parent}.byob-scope-probe-{run}");
    let key = Path::parse(&probe).unwrap_or_else(|_| Path::from(probe));
    let written = client.store().put(&key, PutPayload::from_static(b"scope probe")).await.map_err(StorageError::from);
    if let Err(e) = &written
        && let Some(refused) = credentials_refused(s, e)
    {
        return refused;
    }
    match written {
        Err(e) if denied(&e) => Outcome::passed(format!("a write outside `{}/` was refused", i.prefix)),
        Err(StorageError::NotFound(_)) => Outcome::failed(
            format!("the bucket `{}` does not exist", i.bucket),
            "create the bucket, or correct the integration's bucket name",
        )
        .because(RootCause::BucketMissing),
        Err(e) => Outcome::failed(
            format!("the write outside the prefix failed for another reason than a refusal: {e}"),
            "check the endpoint",
        ),
        Ok(_) => {
            let _ = client.store().delete(&key).await;
            let reach = format!("byob's credentials can write outside `{}/` (wrote and removed {key})", i.prefix);
            match crate::providers::of(i.provider).prefix_limit(i) {
                Some(limit) => Outcome::warning(format!("{reach}: {}", limit.reason), limit.instead),
                None => {
                    let needed = s.needs(Operation::Write);
                    Outcome::failed(format!("{reach}: limit {} to the prefix", needed.permission), needed.fix)
                }
            }
        }
    }
}

/// Assuming the role with a wrong external id must fail.
pub(super) async fn wrong_external_id(sts: &StsSettings, s: &Subject<'_>, run: &str) -> Outcome {
    match assume_with(sts, s.i, &format!("byob-wrong-{run}")).await {
        Err(StorageError::RoleRefused { .. }) => Outcome::passed("a wrong external id is refused"),
        Err(e) => {
            Outcome::failed(format!("the negative assume-role test could not run: {e}"), "check the STS endpoint")
        }
        Ok(()) => Outcome::failed(
            "the role can be assumed with any external id: the trust policy is too open (confused deputy)",
            s.fix(ArtifactName::TrustPolicy, "require byob's external id in the trust policy (`sts:ExternalId`)"),
        ),
    }
}

/// Why byob could not assume the role, blaming the party that refused: the role's trust policy (STS gives one
/// answer for an untrusted principal and a wrong external id, so both are named with how to tell them apart), or
/// byob's own AWS key (the operator's to fix).
pub(super) fn assume_refused(s: &Subject<'_>, external_id: &str, err: &StorageError) -> Outcome {
    match err {
        StorageError::RoleRefused { role_arn, detail } => {
            let principal =
                s.setup.byob_identity.aws_principal_arn.as_deref().unwrap_or("byob's principal (ask the operator)");
            let needed = s.needs(Operation::AssumeRole);
            Outcome::failed(
                format!(
                    "the role's trust policy refused byob: STS refused `sts:AssumeRole` on `{role_arn}` ({detail}). \
                     STS gives this same answer when the trust policy's `Principal.AWS` is not byob's principal \
                     `{principal}`, when its `sts:ExternalId` condition is not this integration's external id \
                     `{external_id}`, and when the role does not exist: compare the role's trust relationship with \
                     the statement below, where both values must match"
                ),
                needed.fix,
            )
        }
        StorageError::Config(message) => {
            Outcome::failed(message.clone(), "ask the operator to correct byob's own AWS credentials")
        }
        other => Outcome::failed(
            format!("STS could not be asked to assume the role: {other}"),
            "check that byob reaches STS (the operator's integrations.sts_endpoint, or AWS's regional endpoint)",
        ),
    }
}
