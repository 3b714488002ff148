//! `network-endpoint-private`: an endpoint of a private-endpoint form must resolve, with byob's resolver, only
//! to private addresses — else the private DNS zone is missing and the data would leave the private network.

use byob_core::integration::Integration;
use byob_ports::net::{NetworkPolicy, not_public};

use crate::{artifacts::ArtifactName, permissions::Subject, reports::Outcome};

pub(super) async fn private(policy: &NetworkPolicy, s: &Subject<'_>) -> Outcome {
    let i: &Integration = s.i;
    let Some(url) = i.endpoint.as_deref().and_then(|e| url::Url::parse(e).ok()) else {
        return Outcome::skipped("the integration has no custom endpoint");
    };
    let Some(host) = url.host_str() else { return Outcome::skipped("the endpoint has no host") };
    let Some(kind) = byob_core::network::private_endpoint_form(host) else {
        return Outcome::skipped("the endpoint is not a private endpoint's name");
    };
    let fix = || {
        s.fix(
            ArtifactName::PrivateEndpoint,
            "create (and approve) the private endpoint and give byob's resolver its private DNS zone \
             (network.dns_servers, or a zone linked to byob's network)",
        )
    };
    let addresses = match policy.lookup(host, url.port_or_known_default().unwrap_or(443)).await {
        Ok(addresses) => addresses,
        Err(e) => return Outcome::failed(format!("{kind} `{host}` does not resolve: {e}"), fix()),
    };
    let shown: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
    if let Some(public) = addresses.iter().find(|a| not_public(a.ip()).is_none()) {
        return Outcome::failed(
            format!(
                "{kind} `{host}` resolves to {}, a public address: its private DNS zone is missing from byob's \
                 resolver, so byob sent nothing",
                public.ip()
            ),
            fix(),
        );
    }
    Outcome::passed(format!("{kind} `{host}` resolves to {} (private)", shown.join(", ")))
}
