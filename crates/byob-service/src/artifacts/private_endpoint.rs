//! The steps to reach a store through a private endpoint, when the integration's endpoint names one
//! ([`byob_core::network::private_endpoint_form`]): seed 004's approval of a pending Azure private endpoint
//! connection, an AWS interface endpoint for S3, a Google Private Service Connect endpoint.

use byob_core::location::Provider;

use super::{Artifact, ArtifactName, spec::Spec};

/// The artifact, or none when the endpoint is not of a private-endpoint form.
pub(crate) fn artifact(spec: &Spec<'_>) -> Option<Artifact> {
    let i = spec.integration;
    let host = url::Url::parse(i.endpoint.as_deref()?).ok()?.host_str()?.to_string();
    byob_core::network::private_endpoint_form(&host)?;
    let slug = spec.slug();
    let text = match i.provider {
        Provider::Azure => {
            let account = i.credentials.azure_account().unwrap_or("ACCOUNT");
            format!(
                "1. byob's operator requests a private endpoint to the storage account (in byob's virtual network):\n\
                 az network private-endpoint create --name byob-{slug} --resource-group BYOB_RG --vnet-name BYOB_VNET \\\n\
                 \x20 --subnet BYOB_SUBNET --connection-name byob-{slug} --manual-request true --group-id blob \\\n\
                 \x20 --private-connection-resource-id /subscriptions/SUBSCRIPTION/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/{account}\n\
                 2. The customer approves it: storage account {account} → Security + networking → Networking → Private endpoint \
                 connections → select byob-{slug} → Approve; or\n\
                 az network private-endpoint-connection approve --resource-name {account} --resource-group RG \\\n\
                 \x20 --type Microsoft.Storage/storageAccounts --name CONNECTION_NAME --description \"byob\"\n\
                 3. byob's operator links the private DNS zone privatelink.blob.core.windows.net to byob's virtual network, \
                 so that {host} resolves to the endpoint's private address (verification's `network-endpoint-private`).\n"
            )
        }
        Provider::S3 => format!(
            "1. byob's operator creates an interface endpoint for S3 in byob's VPC (service com.amazonaws.REGION.s3); \
             its DNS name is the integration's endpoint ({host}).\n\
             2. The customer may limit the bucket to it: a bucket policy statement denying s3:* on {bucket} unless \
             aws:SourceVpce is the endpoint's id.\n\
             3. byob's resolver must return the endpoint's private addresses for {host} (verification's \
             `network-endpoint-private`).\n",
            bucket = i.bucket
        ),
        _ => format!(
            "1. byob's operator creates a Private Service Connect endpoint for Google APIs in byob's VPC; {host} is its \
             name.\n2. byob's resolver must return the endpoint's private address for {host} (verification's \
             `network-endpoint-private`).\n"
        ),
    };
    Some(Artifact::text(
        ArtifactName::PrivateEndpoint,
        "Private endpoint",
        "byob's operator creates the endpoint; the customer approves it where the provider asks.",
        text,
    ))
}
