//! HTTP clients that reach tenant-named hosts: names resolve through the [`NetworkPolicy`], and a redirect is
//! followed only to the same host without leaving https (a redirect elsewhere is answered as the 3xx it is).

use std::{sync::Arc, time::Duration};

use object_store::{
    ClientConfigKey, ClientOptions,
    client::{HttpClient, HttpConnector, HttpError, HttpRequest, HttpResponse, HttpService},
};
use reqwest::{
    dns::{Addrs, Name, Resolve, Resolving},
    redirect,
};

use super::NetworkPolicy;

/// reqwest's resolver, through the policy.
struct PolicyResolver(NetworkPolicy);

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let addresses = policy.resolve(name.as_str(), 0).await?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// Same host and port, never from https to http, at most five hops.
fn same_host_redirects() -> redirect::Policy {
    redirect::Policy::custom(|attempt| {
        let Some(previous) = attempt.previous().last() else { return attempt.stop() };
        let next = attempt.url();
        let same_host =
            previous.host_str() == next.host_str() && previous.port_or_known_default() == next.port_or_known_default();
        let downgrade = previous.scheme() == "https" && next.scheme() != "https";
        if same_host && !downgrade && attempt.previous().len() <= 5 { attempt.follow() } else { attempt.stop() }
    })
}

/// A client builder for tenant-named hosts. Address literals never reach a resolver: callers check them with
/// [`NetworkPolicy::check_literal`] before the first request (redirects cannot introduce new ones).
pub fn guarded_http_client(policy: &NetworkPolicy) -> reqwest::ClientBuilder {
    reqwest::Client::builder().dns_resolver(Arc::new(PolicyResolver(policy.clone()))).redirect(same_host_redirects())
}

/// object_store's HTTP client, built the same way: byob's timeouts (no limit on a whole request, since a load
/// streams one object as long as it takes; a read stalled for 60 s fails and object_store resumes it with a range
/// request; connecting takes at most 5 s), plain http only where the store's options allow it.
#[derive(Debug, Clone)]
pub struct GuardedConnector {
    policy: NetworkPolicy,
    /// Certificate authorities trusted besides the system's (a private Entra ID stand-in, a private endpoint).
    extra_roots: Vec<reqwest::Certificate>,
}

impl GuardedConnector {
    #[must_use]
    pub fn new(policy: &NetworkPolicy) -> Self {
        Self { policy: policy.clone(), extra_roots: Vec::new() }
    }

    /// Also trusts the PEM bundle's certificates.
    ///
    /// # Errors
    /// When the bundle holds no readable certificate.
    pub fn with_roots(policy: &NetworkPolicy, pem: &[u8]) -> Result<Self, reqwest::Error> {
        let extra_roots = reqwest::Certificate::from_pem_bundle(pem)?;
        Ok(Self { policy: policy.clone(), extra_roots })
    }
}

impl HttpConnector for GuardedConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let allow_http = options.get_config_value(&ClientConfigKey::AllowHttp).is_some_and(|v| v == "true");
        let client = guarded_http_client(&self.policy)
            .read_timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(5))
            .https_only(!allow_http)
            .tls_certs_merge(self.extra_roots.clone())
            .build()
            .map_err(|e| object_store::Error::Generic { store: "http", source: Box::new(e) })?;
        Ok(HttpClient::new(HonourRetryAfter(client)))
    }
}

/// The longest `Retry-After` byob waits for; a store asking for more is retried on object_store's own backoff.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(20);

/// object_store's transport, waiting out a `Retry-After` before handing a refusal back: object_store then adds
/// its own jittered backoff and decides whether to retry (it does not read the header itself).
#[derive(Debug)]
struct HonourRetryAfter(reqwest::Client);

#[async_trait::async_trait]
impl HttpService for HonourRetryAfter {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let response = self.0.call(request).await?;
        if let Some(wait) = retry_after(response.status(), response.headers(), chrono::Utc::now()) {
            tokio::time::sleep(wait).await;
        }
        Ok(response)
    }
}

/// How long a retryable refusal (429, 5xx) asks to be left alone: `Retry-After` in seconds or as an HTTP date,
/// at most [`MAX_RETRY_AFTER`].
fn retry_after(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Duration> {
    if !(status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS) {
        return None;
    }
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&chrono::Utc) - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_in_seconds_or_as_a_date_and_capped() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").expect("date").to_utc();
        let with = |value: &str| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::RETRY_AFTER, value.parse().expect("header"));
            headers
        };
        let unavailable = reqwest::StatusCode::SERVICE_UNAVAILABLE;
        assert_eq!(retry_after(unavailable, &with("3"), now), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(unavailable, &with("Tue, 01 Dec 2026 10:00:07 GMT"), now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(unavailable, &with("Tue, 01 Dec 2026 09:00:00 GMT"), now), Some(Duration::ZERO));
        assert_eq!(retry_after(unavailable, &with("3600"), now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(reqwest::StatusCode::TOO_MANY_REQUESTS, &with("1"), now), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(reqwest::StatusCode::NOT_FOUND, &with("1"), now), None);
        assert_eq!(retry_after(unavailable, &with("soon"), now), None);
        assert_eq!(retry_after(unavailable, &reqwest::header::HeaderMap::new(), now), None);
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_when_connecting() {
        let client = guarded_http_client(&NetworkPolicy::public_only()).build().expect("client");
        let err = client.get("http://localhost:9/").send().await.expect_err("refused");
        let chain = format!("{:?}", anyhow_chain(&err));
        assert!(chain.contains("a loopback address"), "{chain}");
    }

    fn anyhow_chain(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
        let mut out = vec![err.to_string()];
        let mut source = err.source();
        while let Some(s) = source {
            out.push(s.to_string());
            source = s.source();
        }
        out
    }
}
