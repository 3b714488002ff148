//! Azure shared access signatures, read for what they grant and until when
//! (learn.microsoft.com/rest/api/storageservices/create-account-sas and …/create-service-sas).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::FieldError;
use crate::Sensitive;

const ACCOUNT_PERMISSIONS: &str = "rwdxylacuptfi";
const SERVICE_PERMISSIONS: &str = "racwdxyltmeopi";

/// Which kind of SAS, and what it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SasKind {
    /// `ss` services (b, f, q, t) and `srt` resource types (s, c, o).
    Account { services: String, resource_types: String },
    /// `sr`: `c` container, `b` blob, `bv` version, `bs` snapshot, `d` directory.
    Service { resource: String },
}

/// A parsed SAS token. The signature stays [`Sensitive`]; everything else is safe to show.
#[derive(Debug, Clone)]
pub struct SasToken {
    pub kind: SasKind,
    pub version: String,
    pub permissions: String,
    pub start: Option<DateTime<Utc>>,
    pub expiry: DateTime<Utc>,
    /// `https` or `https,http`.
    pub protocol: Option<String>,
    pub ip_range: Option<String>,
    /// The whole query string, as given (minus a leading `?`).
    pub query: Sensitive<String>,
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%MZ") {
        return Some(t.and_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
}

impl SasToken {
    /// Whether the SAS grants every permission letter in `needed`.
    #[must_use]
    pub fn missing_permissions(&self, needed: &str) -> Vec<char> {
        needed.chars().filter(|p| !self.permissions.contains(*p)).collect()
    }

    /// Parses the query string of a SAS (`sv=…&ss=…&sig=…`, with or without a leading `?`), checked at `now`.
    ///
    /// # Errors
    /// A [`FieldError`] naming the missing, malformed or expired part.
    pub fn parse(field: &str, text: &str, now: DateTime<Utc>) -> Result<Self, FieldError> {
        let err = |rule, msg: String| Err(FieldError::new(field, rule, msg));
        let query = text.trim().trim_start_matches('?');
        if query.starts_with("http://") || query.starts_with("https://") {
            return err(
                crate::rules::SAS_FORMAT,
                "give only the SAS token (the part after `?`), not the whole URL".into(),
            );
        }
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let Some(version) = get("sv") else {
            return err(crate::rules::SAS_FORMAT, "not a SAS token: `sv` (signed version) is missing".into());
        };
        if get("sig").is_none_or(|s| s.is_empty()) {
            return err(crate::rules::SAS_SIGNATURE, "the SAS has no `sig` (signature)".into());
        }
        let Some(permissions) = get("sp") else {
            return err(crate::rules::SAS_PERMISSIONS, "the SAS has no `sp` (permissions)".into());
        };
        let kind = match (get("ss"), get("srt"), get("sr")) {
            (Some(services), Some(resource_types), None) => {
                if let Some(c) = services.chars().find(|c| !"bfqt".contains(*c)) {
                    return err(
                        crate::rules::SAS_SERVICES,
                        format!("`ss` has unknown service `{c}` (expected b, f, q, t)"),
                    );
                }
                if !services.contains('b') {
                    return err(
                        crate::rules::SAS_SERVICES,
                        "the SAS does not cover the Blob service (`ss` lacks `b`)".into(),
                    );
                }
                if let Some(c) = resource_types.chars().find(|c| !"sco".contains(*c)) {
                    return err(
                        crate::rules::SAS_RESOURCE_TYPES,
                        format!("`srt` has unknown resource type `{c}` (expected s, c, o)"),
                    );
                }
                if !resource_types.contains('o') {
                    return err(
                        crate::rules::SAS_RESOURCE_TYPES,
                        "the SAS does not cover objects (`srt` lacks `o`)".into(),
                    );
                }
                SasKind::Account { services, resource_types }
            }
            (None, None, Some(resource)) => {
                if !matches!(resource.as_str(), "c" | "b" | "bv" | "bs" | "d") {
                    return err(crate::rules::SAS_RESOURCE, format!("`sr={resource}` is not c, b, bv, bs or d"));
                }
                SasKind::Service { resource }
            }
            _ => {
                return err(
                    crate::rules::SAS_FORMAT,
                    "neither an account SAS (`ss` and `srt`) nor a service SAS (`sr`)".into(),
                );
            }
        };
        let allowed = if matches!(kind, SasKind::Account { .. }) { ACCOUNT_PERMISSIONS } else { SERVICE_PERMISSIONS };
        if let Some(c) = permissions.chars().find(|c| !allowed.contains(*c)) {
            return err(
                crate::rules::SAS_PERMISSIONS,
                format!("`sp` has unknown permission `{c}` (allowed: {allowed})"),
            );
        }
        let Some(expiry_text) = get("se") else {
            return err(crate::rules::SAS_EXPIRY, "the SAS has no `se` (expiry)".into());
        };
        let Some(expiry) = parse_time(&expiry_text) else {
            return err(crate::rules::SAS_EXPIRY, format!("`se={expiry_text}` is not an ISO 8601 UTC time"));
        };
        let start = match get("st") {
            None => None,
            Some(t) => Some(parse_time(&t).ok_or_else(|| {
                FieldError::new(field, crate::rules::SAS_START, format!("`st={t}` is not an ISO 8601 UTC time"))
            })?),
        };
        if expiry <= now {
            return err(crate::rules::SAS_EXPIRED, format!("the SAS expired at {expiry}; generate a new one"));
        }
        if start.is_some_and(|s| s >= expiry) {
            return err(crate::rules::SAS_WINDOW, "the SAS starts (`st`) after it expires (`se`)".into());
        }
        let protocol = get("spr");
        if let Some(p) = &protocol
            && !matches!(p.as_str(), "https" | "https,http")
        {
            return err(crate::rules::SAS_PROTOCOL, format!("`spr={p}` is not `https` or `https,http`"));
        }
        Ok(Self {
            kind,
            version,
            permissions,
            start,
            expiry,
            protocol,
            ip_range: get("sip"),
            query: Sensitive::new(query.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        parse_time("2026-11-22T12:00:00Z").unwrap_or_default()
    }

    const ACCOUNT: &str = "?sv=2022-11-02&ss=b&srt=sco&sp=rwdlac&se=2027-01-01T00:00:00Z&st=2026-11-01T00:00:00Z&spr=https&sig=abc%2Bdef%3D";

    fn rule(text: &str) -> Option<&'static str> {
        SasToken::parse("sas_token", text, now()).err().map(|e| e.rule)
    }

    #[test]
    fn reads_an_account_sas() -> Result<(), FieldError> {
        let sas = SasToken::parse("sas_token", ACCOUNT, now())?;
        assert_eq!(sas.kind, SasKind::Account { services: "b".into(), resource_types: "sco".into() });
        assert_eq!(sas.permissions, "rwdlac");
        assert_eq!(sas.expiry, parse_time("2027-01-01T00:00:00Z").unwrap_or_default());
        assert_eq!(sas.missing_permissions("rwdlt"), vec!['t']);
        assert_eq!(format!("{:?}", sas.query), "[redacted]");
        let service = SasToken::parse("sas_token", "sv=2022-11-02&sr=c&sp=rl&se=2027-01-01&sig=x", now())?;
        assert_eq!(service.kind, SasKind::Service { resource: "c".into() });
        Ok(())
    }

    #[test]
    fn rejects_what_cannot_work() {
        assert_eq!(rule("https://acct.blob.core.windows.net/c?sv=1"), Some("sas-format"));
        assert_eq!(rule("ss=b&srt=o&sp=r&se=2027-01-01&sig=x"), Some("sas-format"));
        assert_eq!(rule("sv=1&ss=b&srt=o&sp=r&se=2027-01-01"), Some("sas-signature"));
        assert_eq!(rule("sv=1&ss=b&srt=o&se=2027-01-01&sig=x"), Some("sas-permissions"));
        assert_eq!(rule("sv=1&ss=b&srt=o&sp=rz&se=2027-01-01&sig=x"), Some("sas-permissions"));
        assert_eq!(rule("sv=1&ss=fq&srt=o&sp=r&se=2027-01-01&sig=x"), Some("sas-services"));
        assert_eq!(rule("sv=1&ss=bz&srt=o&sp=r&se=2027-01-01&sig=x"), Some("sas-services"));
        assert_eq!(rule("sv=1&ss=b&srt=sc&sp=r&se=2027-01-01&sig=x"), Some("sas-resource-types"));
        assert_eq!(rule("sv=1&sr=q&sp=r&se=2027-01-01&sig=x"), Some("sas-resource"));
        assert_eq!(rule("sv=1&ss=b&srt=o&sp=r&sig=x"), Some("sas-expiry"));
        assert_eq!(rule("sv=1&ss=b&srt=o&sp=r&se=soon&sig=x"), Some("sas-expiry"));
        assert_eq!(rule("sv=1&ss=b&srt=o&sp=r&se=2026-11-01T00:00:00Z&sig=x"), Some("sas-expired"));
        assert_eq!(rule("sv=1&ss=b&srt=o&sp=r&st=later&se=2027-01-01&sig=x"), Some("sas-start"));
        assert_eq!(rule("sv=1&ss=b&srt=o&sp=r&st=2027-02-01&se=2027-01-01&sig=x"), Some("sas-window"));
        assert_eq!(rule("sv=1&ss=b&srt=o&sp=r&se=2027-01-01&spr=http&sig=x"), Some("sas-protocol"));
    }
}
