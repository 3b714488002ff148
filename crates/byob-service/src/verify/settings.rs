//! Checks of the bucket's own settings, read through the provider's [`BucketInspector`]: region, CORS rules,
//! encryption and the configured KMS key, versioning, public access, lifecycle, and the storage server's clock.

use std::sync::Arc;

use byob_core::integration::{Feature, Integration};
use byob_ports::storage::{
    StorageClient, StorageError,
    inspect::{BucketInspector, CorsRule, Encryption, ExpiryRule, PublicAccess, Setting},
};
use chrono::{DateTime, Utc};
use object_store::ObjectStoreExt;

use super::report::Outcome;

/// A setting as read.
type Read<T> = Result<Setting<T>, StorageError>;

/// Methods a browser upload needs the CORS rules to allow.
const BROWSER_METHODS: [&str; 3] = ["GET", "PUT", "POST"];

/// What a settings read that failed means for its check.
fn unreadable(what: &str, err: &StorageError, grant: &str, artifact: Option<&'static str>) -> Outcome {
    match err {
        StorageError::PermissionDenied(detail) => Outcome::warning(
            format!("byob may not read the bucket's {what}, so it cannot confirm it: {detail}"),
            format!("grant byob {grant} (read-only) so verification can check it"),
            artifact,
        ),
        other => Outcome::failed(format!("reading the bucket's {what} failed: {other}"), "check the endpoint", None),
    }
}

pub(super) fn bucket_exists(location: &Read<String>, i: &Integration) -> Outcome {
    match location {
        Ok(_) => Outcome::passed(format!("`{}` exists", i.bucket)),
        Err(StorageError::NotFound(_)) => Outcome::failed(
            format!("the bucket or container `{}` does not exist (or is not visible to these credentials)", i.bucket),
            "create it, or correct the integration's bucket name",
            None,
        ),
        Err(StorageError::PermissionDenied(detail)) => Outcome::warning(
            format!("byob may not read the bucket's metadata, so it cannot confirm it exists: {detail}"),
            "grant byob the bucket-settings read permissions",
            Some("iam-policy"),
        ),
        Err(other) => Outcome::failed(format!("reaching `{}` failed: {other}", i.bucket), "check the endpoint", None),
    }
}

pub(super) fn region(location: &Read<String>, i: &Integration) -> Outcome {
    match location {
        Ok(Setting::Set(actual)) => match &i.region {
            Some(configured) if !configured.eq_ignore_ascii_case(actual) => Outcome::failed(
                format!(
                    "the bucket is in `{actual}` but the integration says `{configured}`: requests are redirected or refused (this is a region mismatch, not a permission or CORS problem)"
                ),
                format!(
                    "set the integration's region to `{actual}` (byob integrations update {} --region {actual})",
                    i.id
                ),
                None,
            ),
            Some(_) => Outcome::passed(format!("the bucket is in `{actual}`, as configured")),
            None => Outcome::passed(format!("the bucket is in `{actual}` (no region configured)")),
        },
        Ok(Setting::Unset) => Outcome::skipped("the store reports no location"),
        Ok(Setting::Unavailable(reason)) => Outcome::skipped(reason),
        Err(StorageError::NotFound(_)) => Outcome::skipped("the bucket does not exist"),
        Err(e) => unreadable("location", e, "s3:GetBucketLocation / storage.buckets.get", Some("iam-policy")),
    }
}

/// Each configured origin may use GET, PUT and POST and read the ETag header.
pub(super) fn cors_rules(cors: &Read<Vec<CorsRule>>, i: &Integration) -> Outcome {
    if i.allowed_origins.is_empty() {
        return Outcome::skipped("no allowed_origins are configured: browsers do not talk to the bucket");
    }
    let rules = match cors {
        Ok(Setting::Set(rules)) => rules,
        Ok(Setting::Unset) => {
            return Outcome::failed(
                "the bucket has no CORS rules: browsers cannot upload to it or download from it",
                "apply the CORS rules",
                Some("cors"),
            );
        }
        Ok(Setting::Unavailable(reason)) => return Outcome::skipped(reason),
        Err(e) => return unreadable("CORS rules", e, "s3:GetBucketCORS / storage.buckets.get", Some("iam-policy")),
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
        Outcome::failed(problems.join("; "), "apply the CORS rules", Some("cors"))
    }
}

pub(super) fn encryption(encryption: &Read<Encryption>, i: &Integration) -> Outcome {
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
                        None,
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
        Err(e) => unreadable("default encryption", e, "s3:GetEncryptionConfiguration", Some("iam-policy")),
    }
}

/// The configured KMS key exists and a write encrypted with it succeeds.
pub(super) async fn kms_write(client: &StorageClient, i: &Integration, run: &str) -> Outcome {
    let Some(kms_key) = &i.kms_key else { return Outcome::skipped("no kms_key is configured") };
    let Some(inspector) = client.inspector() else { return Outcome::skipped("this store has no KMS") };
    match inspector.kms_key(kms_key).await {
        Ok(Setting::Unset) => {
            return Outcome::failed(
                format!("the KMS key `{kms_key}` does not exist (or is in another region or account)"),
                "correct the integration's kms_key, or create the key",
                None,
            );
        }
        Err(e) => return Outcome::failed(format!("the KMS key `{kms_key}` is unusable: {e}"), "enable the key", None),
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
        Err(StorageError::PermissionDenied(detail)) => Outcome::failed(
            format!("byob may not encrypt with `{kms_key}`: {detail}"),
            "add the statement to the key's policy",
            Some("kms-key-policy-statement"),
        ),
        Err(e) => Outcome::failed(format!("a write encrypted with `{kms_key}` failed: {e}"), "check the key", None),
    }
}

pub(super) fn versioning(versioning: &Read<bool>, i: &Integration) -> Outcome {
    let assets = i.features.contains(&Feature::Assets);
    match versioning {
        Ok(Setting::Set(true)) => Outcome::passed("versioning is enabled"),
        Ok(Setting::Set(false) | Setting::Unset) if assets => Outcome::failed(
            "versioning is off, but the asset store is enabled: overwritten or deleted assets could not be recovered",
            "enable versioning on the bucket",
            Some("versioning"),
        ),
        Ok(Setting::Set(false) | Setting::Unset) => Outcome::passed("versioning is off (no feature here needs it)"),
        Ok(Setting::Unavailable(reason)) if assets => Outcome::warning(
            format!("the asset store needs versioning and byob cannot confirm it: {reason}"),
            "enable blob versioning on the storage account",
            None,
        ),
        Ok(Setting::Unavailable(reason)) => Outcome::skipped(reason),
        Err(e) => unreadable("versioning", e, "s3:GetBucketVersioning", Some("iam-policy")),
    }
}

pub(super) fn public_access(public_access: &Read<PublicAccess>, i: &Integration) -> Outcome {
    // Azure's container access level has no setup artifact: it is set when the container is created.
    let artifact = (i.provider != byob_core::location::Provider::Azure).then_some("public-access-block");
    match public_access {
        Ok(Setting::Set(p)) if p.blocked => Outcome::passed(p.detail.clone()),
        Ok(Setting::Set(p)) => Outcome::warning(
            format!("public access is not fully blocked ({})", p.detail),
            "block public access on the bucket",
            artifact,
        ),
        Ok(Setting::Unset) => {
            Outcome::warning("the bucket has no public access block", "block public access on the bucket", artifact)
        }
        Ok(Setting::Unavailable(reason)) => Outcome::skipped(reason),
        Err(e) => unreadable("public access settings", e, "s3:GetBucketPublicAccessBlock", Some("iam-policy")),
    }
}

/// A rule expires staged uploads within the staging TTL. Without one, and without delete permission, nothing
/// ever removes them: then the check fails rather than warns.
pub(super) fn lifecycle(lifecycle: &Read<Vec<ExpiryRule>>, i: &Integration, can_delete: bool) -> Outcome {
    let staging = if i.prefix.is_empty() { "uploads/".to_string() } else { format!("{}/uploads/", i.prefix) };
    let days = i.staging_ttl_hours.div_ceil(24).max(1);
    let rules = match lifecycle {
        Ok(Setting::Set(rules)) => rules.as_slice(),
        Ok(Setting::Unset) => &[],
        Ok(Setting::Unavailable(reason)) => return Outcome::skipped(reason),
        Err(e) => return unreadable("lifecycle rules", e, "s3:GetLifecycleConfiguration", Some("iam-policy")),
    };
    let covers = |r: &&ExpiryRule| staging.starts_with(&r.prefix) && r.expire_days.is_some_and(|d| d <= days);
    if let Some(rule) = rules.iter().find(covers) {
        let days = rule.expire_days.unwrap_or_default();
        return Outcome::passed(format!("staged files under `{staging}` expire after {days} day(s)"));
    }
    let message = format!("no lifecycle rule expires staged files under `{staging}` within {days} day(s)");
    if can_delete {
        Outcome::warning(
            format!("{message}; byob's janitor deletes them, but nothing does while byob is down"),
            "apply the lifecycle rules",
            Some("lifecycle"),
        )
    } else {
        Outcome::failed(
            format!("{message}, and byob may not delete: staged files would stay forever"),
            "apply the lifecycle rules",
            Some("lifecycle"),
        )
    }
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
                61..=300 => Outcome::warning(text, "synchronise byob's host clock (NTP)", None),
                _ => Outcome::failed(
                    format!(
                        "{text}: signed requests are refused beyond 15 minutes and presigned URLs expire early or late"
                    ),
                    "synchronise byob's host clock (NTP)",
                    None,
                ),
            }
        }
        Err(e) => Outcome::skipped(format!("the server's clock could not be read: {e}")),
    }
}
