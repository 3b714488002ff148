//! Turning request fields into validated values; every rejection names the field and the rule.

use base64::{Engine, engine::general_purpose::STANDARD};
use byob_core::{
    integration::Feature,
    location::{Endpoint, FieldError, HttpPolicy, KmsKeyArn, Provider, Region},
};
use url::Url;

pub(super) const MAX_ORIGINS: usize = 20;
pub(super) const DEFAULT_TTL_HOURS: u32 = 24;

pub(super) fn rule(field: &str, rule: byob_core::rules::Rule, message: impl Into<String>) -> FieldError {
    FieldError::new(field, rule, message)
}

pub(super) fn region(
    provider: Provider,
    endpoint: Option<&Endpoint>,
    text: Option<&str>,
) -> Result<Option<Region>, FieldError> {
    match text {
        Some(text) => Region::parse(provider, endpoint.is_some(), "region", text).map(Some),
        None if provider == Provider::S3 && endpoint.is_none() => Err(rule(
            "region",
            byob_core::rules::REGION_REQUIRED,
            "AWS S3 needs the bucket's region, e.g. `eu-central-1`",
        )),
        None => Ok(None),
    }
}

pub(super) fn endpoint(text: Option<&str>, http: HttpPolicy) -> Result<Option<Endpoint>, FieldError> {
    text.map(|t| Endpoint::parse("endpoint", t, http)).transpose()
}

/// An S3 KMS key ARN in the bucket's region, or a GCS Cloud KMS key name.
pub(super) fn kms_key(
    provider: Provider,
    region: Option<&Region>,
    text: Option<&str>,
) -> Result<Option<String>, FieldError> {
    let Some(text) = text else { return Ok(None) };
    match provider {
        Provider::S3 => {
            let arn = KmsKeyArn::parse("kms_key", text)?;
            if let Some(region) = region
                && arn.region() != region.as_str()
            {
                return Err(rule(
                    "kms_key",
                    byob_core::rules::KMS_KEY_REGION,
                    format!(
                        "the key is in `{}`, the bucket in `{region}`; S3 needs a key in the bucket's region",
                        arn.region()
                    ),
                ));
            }
            Ok(Some(arn.as_str().to_string()))
        }
        Provider::Gcs => {
            let parts: Vec<&str> = text.split('/').collect();
            let shape = parts.len() == 8
                && parts[0] == "projects"
                && parts[2] == "locations"
                && parts[4] == "keyRings"
                && parts[6] == "cryptoKeys"
                && parts.iter().all(|p| !p.is_empty());
            if !shape {
                return Err(rule(
                    "kms_key",
                    byob_core::rules::KMS_KEY_FORMAT,
                    "a Cloud KMS key is `projects/P/locations/L/keyRings/R/cryptoKeys/K`",
                ));
            }
            Ok(Some(text.to_string()))
        }
        Provider::Azure | Provider::Local => Err(rule(
            "kms_key",
            byob_core::rules::KMS_KEY_UNSUPPORTED,
            format!("a KMS key is not supported for {}", provider.as_str()),
        )),
    }
}

/// Browser origins: `https://host[:port]`, or `http://` for localhost.
pub(super) fn origins(list: &[String]) -> Result<Vec<String>, FieldError> {
    if list.len() > MAX_ORIGINS {
        return Err(rule("allowed_origins", byob_core::rules::ORIGIN_COUNT, format!("at most {MAX_ORIGINS} origins")));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, text) in list.iter().enumerate() {
        let field = format!("allowed_origins[{i}]");
        let bad = || {
            FieldError::new(
                &field,
                byob_core::rules::ORIGIN_FORMAT,
                format!(
                    "`{text}` is not an origin: write `https://app.example.com` (scheme, host, optional port; no path)"
                ),
            )
        };
        let url = Url::parse(text).map_err(|_| bad())?;
        let host = url.host_str().ok_or_else(bad)?;
        let local = host == "localhost" || host == "127.0.0.1" || host == "[::1]";
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && local);
        if !scheme_ok
            || url.path() != "/"
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
        {
            return Err(bad());
        }
        let origin = url.origin().ascii_serialization();
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    Ok(out)
}

pub(super) fn ttl(hours: Option<u32>) -> Result<u32, FieldError> {
    let hours = hours.unwrap_or(DEFAULT_TTL_HOURS);
    if !(1..=8760).contains(&hours) {
        return Err(rule(
            "staging_ttl_hours",
            byob_core::rules::STAGING_TTL_RANGE,
            "between 1 and 8760 hours (one year)",
        ));
    }
    Ok(hours)
}

pub(super) fn features(list: &[Feature]) -> Vec<Feature> {
    let mut out = list.to_vec();
    out.sort();
    out.dedup();
    out
}

pub(super) fn access_key_id(custom_endpoint: bool, text: &str) -> Result<(), FieldError> {
    let field = "credentials.access_key_id";
    let aws = text.len() == 20
        && (text.starts_with("AKIA") || text.starts_with("ASIA"))
        && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let other = (3..=128).contains(&text.len()) && text.chars().all(|c| c.is_ascii_graphic());
    if custom_endpoint && other || aws {
        return Ok(());
    }
    Err(rule(
        field,
        byob_core::rules::ACCESS_KEY_ID_FORMAT,
        if custom_endpoint {
            "3-128 printable characters".to_string()
        } else {
            "an AWS access key id is 20 characters starting with AKIA (or ASIA)".to_string()
        },
    ))
}

pub(super) fn secret_text(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(rule(field, byob_core::rules::SECRET_EMPTY, "must not be empty"));
    }
    if value.len() > max {
        return Err(rule(field, byob_core::rules::SECRET_LENGTH, format!("must be at most {max} bytes")));
    }
    Ok(())
}

pub(super) fn azure_account(field: &str, name: &str) -> Result<(), FieldError> {
    if (3..=24).contains(&name.len()) && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Ok(());
    }
    Err(rule(
        field,
        byob_core::rules::AZURE_ACCOUNT_NAME,
        "a storage account name has 3-24 lowercase letters and digits",
    ))
}

pub(super) fn azure_account_key(field: &str, key: &str) -> Result<(), FieldError> {
    match STANDARD.decode(key.trim()) {
        Ok(bytes) if bytes.len() == 64 => Ok(()),
        _ => Err(rule(
            field,
            byob_core::rules::AZURE_ACCOUNT_KEY,
            "an account key is the 88-character base64 value from the portal",
        )),
    }
}

pub(super) fn guid(field: &str, text: &str) -> Result<(), FieldError> {
    let groups: Vec<&str> = text.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups.iter().zip(lens).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(rule(field, byob_core::rules::AZURE_GUID, "must be a GUID such as `72f988bf-86f1-41af-91ab-2d7cd011db47`"))
    }
}

pub(super) fn impersonated_account(text: &str) -> Result<(), FieldError> {
    let ok = text.split_once('@').is_some_and(|(name, domain)| {
        !name.is_empty() && domain.ends_with(".iam.gserviceaccount.com") && !text.chars().any(char::is_whitespace)
    });
    if ok {
        return Ok(());
    }
    Err(rule(
        "credentials.service_account",
        byob_core::rules::SERVICE_ACCOUNT_EMAIL,
        "a service account is `NAME@PROJECT.iam.gserviceaccount.com`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_and_checked() {
        let ok = origins(&[
            "https://App.Example.com".into(),
            "https://app.example.com/".into(),
            "http://localhost:5173".into(),
        ]);
        assert_eq!(ok.ok(), Some(vec!["https://app.example.com".to_string(), "http://localhost:5173".to_string()]));
        for bad in
            ["app.example.com", "http://app.example.com", "https://app.example.com/path", "https://a.com?x=1", "*"]
        {
            assert_eq!(origins(&[bad.to_string()]).err().map(|e| e.rule), Some("origin-format"), "{bad}");
        }
        assert_eq!(origins(&vec!["https://a.com".to_string(); 21]).err().map(|e| e.rule), Some("origin-count"));
    }

    #[test]
    fn credential_field_rules() {
        assert!(access_key_id(false, "AKIAIOSFODNN7EXAMPLE").is_ok());
        assert_eq!(access_key_id(false, "minioadmin").err().map(|e| e.rule), Some("access-key-id-format"));
        assert!(access_key_id(true, "minioadmin").is_ok());
        assert_eq!(secret_text("s", "", 10).err().map(|e| e.rule), Some("secret-empty"));
        assert_eq!(secret_text("s", "12345678901", 10).err().map(|e| e.rule), Some("secret-length"));
        assert_eq!(azure_account("a", "My_Account").err().map(|e| e.rule), Some("azure-account-name"));
        assert_eq!(azure_account_key("k", "c2hvcnQ=").err().map(|e| e.rule), Some("azure-account-key"));
        assert_eq!(guid("g", "not-a-guid").err().map(|e| e.rule), Some("azure-guid"));
        assert!(guid("g", "72f988bf-86f1-41af-91ab-2d7cd011db47").is_ok());
        assert_eq!(impersonated_account("byob@gmail.com").err().map(|e| e.rule), Some("service-account-email"));
        assert_eq!(ttl(Some(0)).err().map(|e| e.rule), Some("staging-ttl-range"));
        assert_eq!(ttl(None).ok(), Some(24));
    }

    #[test]
    fn kms_keys_per_provider() {
        let region = Region::parse(Provider::S3, false, "region", "eu-central-1").ok();
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(kms_key(Provider::S3, region.as_ref(), Some(arn)).err().map(|e| e.rule), Some("kms-key-region"));
        assert_eq!(kms_key(Provider::Gcs, None, Some("my-key")).err().map(|e| e.rule), Some("kms-key-format"));
        assert!(kms_key(Provider::Gcs, None, Some("projects/p/locations/eu/keyRings/r/cryptoKeys/k")).is_ok());
        assert_eq!(kms_key(Provider::Azure, None, Some("x")).err().map(|e| e.rule), Some("kms-key-unsupported"));
    }
}
