//! Checks of the bucket's own settings, read through the provider's [`BucketInspector`]: region, CORS rules,
//! encryption and the configured KMS key, versioning, public access, lifecycle, and the storage server's clock.

use std::sync::Arc;

use byob_core::integration::Feature;
use byob_ports::storage::{
    StorageClient, StorageError,
    inspect::{BucketInspector, CorsRule, Encryption, ExpiryRule, PublicAccess, Setting},
};
use chrono::{DateTime, Utc};
use object_store::ObjectStoreExt;

use crate::artifacts::ArtifactName;
use crate::permissions::{BucketSetting, Operation, Subject};
use crate::reports::{Outcome, RootCause};

/// A setting as read.
type Read<T> = Result<Setting<T>, StorageError>;

/// Methods a browser upload needs the CORS rules to allow.
const BROWSER_METHODS: [&str; 3] = ["GET", "PUT", "POST"];

/// What a settings read that failed means for its check: a refusal is a warning naming the read permission.
fn unreadable(s: &Subject<'_>, what: &str, setting: BucketSetting, err: &StorageError) -> Outcome {
    if let Some(refused) = super::checks::credentials_refused(s, err) {
        return refused;
    }
    match err {
        StorageError::PermissionDenied(_) => {
            tracing::info!(integration = %s.i.id, error = %err, "verification could not read the bucket's {what}");
            let needed = s.needs(Operation::ReadSetting(setting));
            Outcome::warning(
                format!(
                    "byob may not read the bucket's {what}, so it cannot confirm it: the store refused {}",
                    needed.permission
                ),
                needed.fix,
            )
        }
        StorageError::NotFound(_) => Outcome::skipped("the bucket does not exist").because(RootCause::BucketMissing),
        other => Outcome::failed(format!("reading the bucket's {what} failed: {other}"), "check the endpoint"),
    }
}

pub(super) fn bucket_exists(location: &Read<String>, s: &Subject<'_>) -> Outcome {
    let i = s.i;
    match location {
        Ok(_) => Outcome::passed(format!("`{}` exists", i.bucket)),
        Err(StorageError::NotFound(_)) => Outcome::failed(
            format!("the bucket or container `{}` does not exist (or is not visible to these credentials)", i.bucket),
            "create it, or correct the integration's bucket name",
        )
        .because(RootCause::BucketMissing),
        Err(e @ StorageError::PermissionDenied(_)) => {
            unreadable(s, "metadata (whether it exists)", BucketSetting::Location, e)
        }
        Err(other) => Outcome::failed(format!("reaching `{}` failed: {other}", i.bucket), "check the endpoint"),
    }
}

pub(super) fn region(location: &Read<String>, s: &Subject<'_>) -> Outcome {
    let i = s.i;
    match location {
        Ok(Setting::Set(actual)) => match &i.region {
            Some(configured) if !configured.eq_ignore_ascii_case(actual) => Outcome::failed(
                format!(
                    "the bucket is in `{actual}` but the integration says `{configured}`: requests are redirected or refused (this is a region mismatch, not a permission or CORS problem)"
                ),
                format!(
                    "set the integration's region to `{actual}`: `echo '{{\"region\": \"{actual}\"}}' | byob \
                     integrations update --org {} {}`",
                    i.org_id, i.id
                ),
            )
            .because(RootCause::RegionMismatch),
            Some(_) => Outcome::passed(format!("the bucket is in `{actual}`, as configured")),
            None => Outcome::passed(format!("the bucket is in `{actual}` (no region configured)")),
        },
        Ok(Setting::Unset) => Outcome::skipped("the store reports no location"),
        Ok(Setting::Unavailable(reason)) => Outcome::skipped(reason),
        Err(e) => unreadable(s, "location", BucketSetting::Location, e),
    }
}

/// Each configured origin may use GET, PUT and POST and read the ETag header.
pub(super) fn cors_rules(cors: &Read<Vec<CorsRule>>, s: &Subject<'_>) -> Outcome {
    let i = s.i;
    if i.allowed_origins.is_empty() {
        return Outcome::skipped("no allowed_origins are configured: browsers do not talk to the bucket");
    }
    let rules = match cors {
        Ok(Setting::Set(rules)) => rules,
        Ok(Setting::Unset) => {
            return Outcome::failed(
                "the bucket has no CORS rules: browsers cannot upload to it or download from it",
                s.fix(ArtifactName::Cors, "apply the CORS rules"),
            );
        }
        Ok(Setting::Unavailable(reason)) => return Outcome::skipped(reason),
        Err(e) => return unreadable(s, "CORS rules", BucketSetting::Cors, e),
    };
    let mut problems = Vec::new();
    for origin in &i.allowed_origins {
        let matching: Vec<_> = rules.iter().filter(|r| BROWSER_METHODS.iter().any(|m| r.allows(origin, m))).collect();
        if matching.is_empty() {
            let allowed: Vec<&str> = rules.iter().flat_map(|r| r.allowed_origins.iter().map(String::as_str)).collect();
            problems.push(format!("no rule allows origin `{origin}` (rules allow: {})", allowed.join(", ")));
            continue;
        }
        let missing: Vec<&str> =
            BROWSER_METHODS.into_iter().filter(|m| !matching.iter().any(|r| r.allows(origin, m))).collect();
        if !missing.is_empty() {
            problems.push(format!("origin `{origin}` may not use {}", missing.join(", ")));
        }
        if !matching.iter().any(|r| r.exposes("ETag")) {
            problems.push(format!(
                "the rules for `{origin}` do not expose the ETag header, so browsers cannot complete multipart uploads"
            ));
        }
    }
    if problems.is_empty() {
        Outcome::passed(format!("CORS allows {} with GET, PUT, POST and exposes ETag", i.allowed_origins.join(", ")))
    } else {
        Outcome::failed(problems.join("; "), s.fix(ArtifactName::Cors, "apply the CORS rules"))
    }
}

pub(super) fn encryption(encryption: &Read<Encryption>, s: &Subject<'_>) -> Outcome {
    let i = s.i;
    match encryption {
        Ok(Setting::Set(Encryption::Kms(key))) => {
            let shown = key.clone().unwrap_or_else(|| "the provider's default KMS key".into());
            match (&i.kms_key, key) {
                (Some(configured), Some(default))
                    if !default.ends_with(configured.as_str()) && !configured.ends_with(default.as_str()) =>
                {
                    Outcome::warning(
                        format!(
                            "new objects default to KMS key `{default}`, but the integration names `{configured}`; byob asks for `{configured}` on each write"
                        ),
                        "make the integration's kms_key and the bucket's default key the same",
                    )
                }
                _ => Outcome::passed(format!("default encryption: KMS with {shown}")),
            }
        }
        Ok(Setting::Set(Encryption::ProviderManaged)) => {
            Outcome::passed("default encryption: provider-managed keys (SSE-S3 or equivalent)")
        }
        Ok(Setting::Unset) => Outcome::passed(
            "no default encryption configuration is reported; S3 encrypts new objects with SSE-S3 regardless",
        ),
        Ok(Setting::Unavailable(reason)) => Outcome::skipped(reason),
        Err(e) => unreadable(s, "default encryption", BucketSetting::Encryption, e),
    }
}

/// The configured KMS key exists and a write encrypted with it succeeds.
pub(super) async fn kms_write(client: &StorageClient, s: &Subject<'_>, run: &str) -> Outcome {
    let i = s.i;
    let Some(kms_key) = &i.kms_key else { return Outcome::skipped("no kms_key is configured") };
    if !client.capability().inspect {
        return Outcome::skipped("this store has no KMS");
    }
    let inspector = client.inspector();
    match inspector.kms_key(kms_key).await {
        Ok(Setting::Unset) => {
            return Outcome::failed(
                format!("the KMS key `{kms_key}` does not exist (or is in another region or account)"),
                "correct the integration's kms_key, or create the key",
            );
        }
        Err(e @ StorageError::PermissionDenied(_)) => {
            tracing::info!(integration = %i.id, error = %e, "verification: describing the KMS key was refused");
            let needed = s.needs(Operation::EncryptWithKms);
            return Outcome::failed(
                format!("byob may not use the KMS key `{kms_key}`: the key refused {}", needed.permission),
                needed.fix,
            );
        }
        Err(e) => return Outcome::failed(format!("the KMS key `{kms_key}` is unusable: {e}"), "enable the key"),
        Ok(_) => {}
    }
    let Ok(key) = client.key(&format!(".byob/verify/{run}.kms-probe")) else {
        return Outcome::skipped("no probe key");
    };
    match inspector.put_encrypted(&key, format!("byob kms probe {run}\n").into_bytes(), kms_key).await {
        Ok(Setting::Set(())) => {
            let _ = client.store().delete(&key).await;
            Outcome::passed(format!("wrote a probe encrypted with `{kms_key}`"))
        }
        Ok(Setting::Unavailable(reason)) => Outcome::skipped(reason),
        Ok(Setting::Unset) => Outcome::skipped("the store did not say"),
        Err(e @ StorageError::PermissionDenied(_)) => {
            tracing::info!(integration = %i.id, error = %e, "verification: a KMS-encrypted write was refused");
            let needed = s.needs(Operation::EncryptWithKms);
            Outcome::failed(
                format!("byob may not encrypt with `{kms_key}`: the store refused {}", needed.permission),
                needed.fix,
            )
        }
        Err(e) => Outcome::failed(format!("a write encrypted with `{kms_key}` failed: {e}"), "check the key"),
    }
}

pub(super) fn versioning(versioning: &Read<bool>, s: &Subject<'_>) -> Outcome {
    let i = s.i;
    let assets = i.features.contains(&Feature::Assets);
    match versioning {
        Ok(Setting::Set(true)) => Outcome::passed("versioning is enabled"),
        Ok(Setting::Set(false) | Setting::Unset) if assets => Outcome::failed(
            "versioning is off, but the asset store is enabled: overwritten or deleted assets could not be recovered",
            s.fix(ArtifactName::Versioning, "enable versioning on the bucket"),
        ),
        Ok(Setting::Set(false) | Setting::Unset) => Outcome::passed("versioning is off (no feature here needs it)"),
        Ok(Setting::Unavailable(reason)) if assets => Outcome::warning(
            format!("the asset store needs versioning and byob cannot confirm it: {reason}"),
            "enable blob versioning on the storage account",
        ),
        Ok(Setting::Unavailable(reason)) => Outcome::skipped(reason),
        Err(e) => unreadable(s, "versioning", BucketSetting::Versioning, e),
    }
}

pub(super) fn public_access(public_access: &Read<PublicAccess>, s: &Subject<'_>) -> Outcome {
    let fix = || match crate::providers::of(s.i.provider).public_access_fix() {
        Some(fix) => fix.into(),
        None => s.fix(ArtifactName::PublicAccessBlock, "block public access on the bucket"),
    };
    match public_access {
        Ok(Setting::Set(p)) if p.blocked => Outcome::passed(p.detail.clone()),
        Ok(Setting::Set(p)) => Outcome::warning(format!("public access is not fully blocked ({})", p.detail), fix()),
        Ok(Setting::Unset) => Outcome::warning("the bucket has no public access block", fix()),
        Ok(Setting::Unavailable(reason)) => Outcome::skipped(reason),
        Err(e) => unreadable(s, "public access settings", BucketSetting::PublicAccess, e),
    }
}

/// A rule expires staged uploads within the staging TTL. Without one, and without delete permission, nothing
/// ever removes them: then the check fails rather than warns. Rules that exist but miss (another prefix, a longer
/// TTL, no expiry) are named with their id, prefix and days.
pub(super) fn lifecycle(lifecycle: &Read<Vec<ExpiryRule>>, s: &Subject<'_>, can_delete: bool) -> Outcome {
    let i = s.i;
    let staging = format!("{}uploads/", i.key_prefix());
    let days = i.staging_ttl_days();
    let rules = match lifecycle {
        Ok(Setting::Set(rules)) => rules.as_slice(),
        Ok(Setting::Unset) => &[],
        Ok(Setting::Unavailable(reason)) => return Outcome::skipped(reason.clone()),
        Err(e) => return unreadable(s, "lifecycle rules", BucketSetting::Lifecycle, e),
    };
    let covers = |r: &&ExpiryRule| staging.starts_with(&r.prefix) && r.expire_days.is_some_and(|d| d <= days);
    if let Some(rule) = rules.iter().find(covers) {
        let days = rule.expire_days.unwrap_or_default();
        return Outcome::passed(format!("staged files under `{staging}` expire after {days} day(s)"));
    }
    let found = if rules.is_empty() {
        "the bucket has no lifecycle rule".to_string()
    } else {
        let described: Vec<String> =
            rules.iter().enumerate().map(|(n, r)| describe_rule(n, r, &staging, days)).collect();
        format!("the bucket's rules miss it: {}", described.join("; "))
    };
    let message = format!("no lifecycle rule expires staged files under `{staging}` within {days} day(s) ({found})");
    let fix =
        s.fix(ArtifactName::Lifecycle, "apply the lifecycle rules (rule `byob-staging-ttl` covers the staged files)");
    if can_delete {
        Outcome::warning(format!("{message}; byob's janitor deletes them, but nothing does while byob is down"), fix)
    } else {
        Outcome::failed(format!("{message}, and byob may not delete: staged files would stay forever"), fix)
    }
}

/// One rule as the customer would find it in their console, and why it does not cover the staged files.
fn describe_rule(n: usize, rule: &ExpiryRule, staging: &str, days: u32) -> String {
    let name = rule.id.as_deref().map_or_else(|| format!("rule {}", n + 1), |id| format!("rule `{id}`"));
    let scope = if rule.prefix.is_empty() { "every object".to_string() } else { format!("`{}`", rule.prefix) };
    let why = if !staging.starts_with(&rule.prefix) {
        format!("it covers {scope}, not `{staging}`")
    } else {
        match rule.expire_days {
            Some(d) => format!("it expires {scope} after {d} day(s), more than {days}"),
            None => format!("it covers {scope} but expires nothing (it only aborts unfinished uploads)"),
        }
    };
    format!("{name}: {why}")
}

/// Signed requests are refused when the clocks differ by more than 15 minutes (S3) and presigned URLs' lifetimes
/// shift by the difference.
pub(super) async fn clock_skew(inspector: &Arc<dyn BucketInspector>, now: DateTime<Utc>) -> Outcome {
    match inspector.server_time().await {
        Ok(server) => {
            let skew = (now - server).num_seconds();
            let text = format!("byob's clock is {skew:+} s from the storage server's ({server})");
            match skew.unsigned_abs() {
                0..=60 => Outcome::passed(text),
                61..=300 => Outcome::warning(text, "synchronise byob's host clock (NTP)"),
                _ => Outcome::failed(
                    format!(
                        "{text}: signed requests are refused beyond 15 minutes and presigned URLs expire early or late"
                    ),
                    "synchronise byob's host clock (NTP)",
                ),
            }
        }
        Err(e) => Outcome::skipped(format!("the server's clock could not be read: {e}")),
    }
}
