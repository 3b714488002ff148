//! Custom endpoints: S3-compatible stores, private (VPC / Private Link) endpoints, emulators.

use std::{fmt, net::IpAddr};

use serde::Serialize;
use url::{Host, Url};

use super::FieldError;

/// Whether plain-http endpoints are allowed. Operators allow it for local development and emulators only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpPolicy {
    /// https only (the default).
    #[default]
    HttpsOnly,
    /// http too, for loopback hosts (`localhost`, 127.0.0.0/8, `::1`).
    AllowLoopbackHttp,
    /// http to any host (a private network the operator trusts).
    AllowHttp,
}

/// An endpoint URL: `https://host[:port][/path]`, no credentials, query or fragment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Endpoint(String);

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

impl Endpoint {
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// # Errors
    /// A [`FieldError`] naming what is wrong with the URL.
    pub fn parse(field: &str, text: &str, http: HttpPolicy) -> Result<Self, FieldError> {
        let err = |rule, msg: String| Err(FieldError::new(field, rule, msg));
        let Ok(url) = Url::parse(text) else {
            return err(
                crate::rules::ENDPOINT_URL,
                format!("`{text}` is not a URL; write e.g. `https://s3.eu-central-1.wasabisys.com`"),
            );
        };
        let Some(host) = url.host() else {
            return err(crate::rules::ENDPOINT_URL, "the URL has no host".into());
        };
        match url.scheme() {
            "https" => {}
            "http" => {
                let allowed = match http {
                    HttpPolicy::HttpsOnly => false,
                    HttpPolicy::AllowLoopbackHttp => is_loopback(&host),
                    HttpPolicy::AllowHttp => true,
                };
                if !allowed {
                    return err(
                        crate::rules::ENDPOINT_HTTPS,
                        "must use https (the operator has not allowed plain http for this host)".into(),
                    );
                }
            }
            other => return err(crate::rules::ENDPOINT_SCHEME, format!("`{other}:` is not supported; use https")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return err(
                crate::rules::ENDPOINT_CREDENTIALS,
                "must not contain credentials; give them in the credential fields".into(),
            );
        }
        if url.query().is_some() || url.fragment().is_some() {
            return err(crate::rules::ENDPOINT_QUERY, "must not contain a query or fragment".into());
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str, http: HttpPolicy) -> Option<&'static str> {
        Endpoint::parse("endpoint", text, http).err().map(|e| e.rule)
    }

    #[test]
    fn https_by_default_http_only_where_allowed() {
        assert_eq!(rule("https://minio.internal:9000", HttpPolicy::HttpsOnly), None);
        assert_eq!(rule("http://minio.internal:9000", HttpPolicy::HttpsOnly), Some("endpoint-https"));
        assert_eq!(rule("http://127.0.0.1:9000", HttpPolicy::AllowLoopbackHttp), None);
        assert_eq!(rule("http://[::1]:9000", HttpPolicy::AllowLoopbackHttp), None);
        assert_eq!(rule("http://10.0.0.5:9000", HttpPolicy::AllowLoopbackHttp), Some("endpoint-https"));
        assert_eq!(rule("http://10.0.0.5:9000", HttpPolicy::AllowHttp), None);
    }

    #[test]
    fn rejects_malformed_urls() {
        assert_eq!(rule("s3.amazonaws.com", HttpPolicy::HttpsOnly), Some("endpoint-url"));
        assert_eq!(rule("ftp://host", HttpPolicy::HttpsOnly), Some("endpoint-scheme"));
        assert_eq!(rule("https://user:pw@host", HttpPolicy::HttpsOnly), Some("endpoint-credentials"));
        assert_eq!(rule("https://host/?x=1", HttpPolicy::HttpsOnly), Some("endpoint-query"));
        assert_eq!(rule("https://host/#f", HttpPolicy::HttpsOnly), Some("endpoint-query"));
        let normalised = Endpoint::parse("endpoint", "https://Host.Example/acct/", HttpPolicy::HttpsOnly).ok();
        assert_eq!(normalised.map(|e| e.as_str().to_string()), Some("https://host.example/acct".into()));
    }
}
