//! The AWS SDK's HTTP client for tenant-named S3 endpoints, resolving through the [`NetworkPolicy`].

use aws_smithy_http_client::{
    Builder,
    tls::{Provider, rustls_provider::CryptoMode},
};
use aws_smithy_runtime_api::client::{
    dns::{DnsFuture, ResolveDns, ResolveDnsError},
    http::SharedHttpClient,
};

use super::NetworkPolicy;

#[derive(Debug, Clone)]
struct PolicyResolver(NetworkPolicy);

impl ResolveDns for PolicyResolver {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> DnsFuture<'a> {
        DnsFuture::new(async move {
            self.0
                .resolve(name, 0)
                .await
                .map(|addresses| addresses.into_iter().map(|a| a.ip()).collect())
                .map_err(ResolveDnsError::new)
        })
    }
}

/// The SDK's default client (rustls), with names resolved through the policy. Address literals are checked by
/// the caller ([`NetworkPolicy::check_literal`]).
#[must_use]
pub fn guarded_smithy_client(policy: &NetworkPolicy) -> SharedHttpClient {
    Builder::new().tls_provider(Provider::Rustls(CryptoMode::AwsLc)).build_with_resolver(PolicyResolver(policy.clone()))
}
