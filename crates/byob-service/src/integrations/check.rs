//! Turning request fields into validated values; every rejection names the field and the rule.

use byob_core::{
    integration::Feature,
    location::{Endpoint, FieldError, HttpPolicy, Provider, Region},
};
use url::Url;

use crate::providers;

pub(super) const MAX_ORIGINS: usize = 20;
pub(super) const DEFAULT_TTL_HOURS: u32 = 24;

pub(super) fn rule(field: &str, rule: byob_core::rules::Rule, message: impl Into<String>) -> FieldError {
    FieldError::new(field, rule, message)
}

/// The region, in the shape the provider's names take; required where the provider cannot do without one.
pub(super) fn region(
    provider: Provider,
    endpoint: Option<&Endpoint>,
    text: Option<&str>,
) -> Result<Option<Region>, FieldError> {
    let module = providers::of(provider);
    match text {
        Some(text) => Region::parse(module.region_shape(endpoint.is_some()), "region", text).map(Some),
        None => match module.region_required(endpoint.is_some()) {
            Some(why) => Err(rule("region", byob_core::rules::REGION_REQUIRED, why)),
            None => Ok(None),
        },
    }
}

pub(super) fn endpoint(text: Option<&str>, http: HttpPolicy) -> Result<Option<Endpoint>, FieldError> {
    text.map(|t| Endpoint::parse("endpoint", t, http)).transpose()
}

/// A KMS key in the provider's format (an S3 key ARN in the bucket's region, a Cloud KMS key name), where the
/// provider takes one.
pub(super) fn kms_key(
    provider: Provider,
    region: Option<&Region>,
    text: Option<&str>,
) -> Result<Option<String>, FieldError> {
    text.map(|text| providers::of(provider).kms_key(provider, region, text)).transpose()
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
    fn staging_ttl_rules() {
        assert_eq!(ttl(Some(0)).err().map(|e| e.rule), Some("staging-ttl-range"));
        assert_eq!(ttl(None).ok(), Some(24));
    }

    #[test]
    fn kms_keys_per_provider() {
        let region = Region::parse(byob_core::location::RegionShape::Aws, "region", "eu-central-1").ok();
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(kms_key(Provider::S3, region.as_ref(), Some(arn)).err().map(|e| e.rule), Some("kms-key-region"));
        assert_eq!(kms_key(Provider::Gcs, None, Some("my-key")).err().map(|e| e.rule), Some("kms-key-format"));
        assert!(kms_key(Provider::Gcs, None, Some("projects/p/locations/eu/keyRings/r/cryptoKeys/k")).is_ok());
        assert_eq!(kms_key(Provider::Azure, None, Some("x")).err().map(|e| e.rule), Some("kms-key-unsupported"));
    }
}
