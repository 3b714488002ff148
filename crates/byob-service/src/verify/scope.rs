//! Which credentials can be confined to a prefix at all. Where they cannot, `scoping-outside-prefix` can never
//! pass whatever the customer does, so a write outside the prefix is a warning naming the limit and the mode
//! that can express it, not a failure that keeps the integration a draft forever.

use byob_core::integration::{Credentials, Integration};

/// Why these credentials reach beyond a prefix, and what to use instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Limit {
    pub reason: String,
    pub instead: String,
}

/// `None` where the credentials can be limited to the prefix (so reaching beyond it is the customer's to fix).
pub(crate) fn prefix_limit(i: &Integration) -> Option<Limit> {
    let own = "or give byob a bucket (container) of its own and no prefix";
    let azure_modes = format!(
        "use the `azure_service_principal` or `azure_broker` mode with a condition on the role assignment \
         (`@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith '{}/'`), \
         {own}",
        i.prefix
    );
    match &i.credentials {
        Credentials::AzureSharedKey { .. } => Some(Limit {
            reason: "an account key reaches every container of the storage account and cannot be limited to a prefix"
                .into(),
            instead: azure_modes,
        }),
        Credentials::AzureSas { .. } => Some(Limit {
            reason: "a SAS is scoped to a container or to the account, never to a prefix".into(),
            instead: azure_modes,
        }),
        Credentials::AzureServicePrincipal { .. } | Credentials::AzureBroker { .. } => Some(Limit {
            reason: "byob's custom role is assigned on the container; without a condition on the role assignment it \
                     reaches the whole container"
                .into(),
            instead: format!(
                "add a condition to the role assignment \
                 (`@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith \
                 '{}/'`), {own}",
                i.prefix
            ),
        }),
        Credentials::S3AccessKey { .. } if i.endpoint.is_some() => Some(Limit {
            reason: "static keys on an S3-compatible store are limited only by that store's own policies, which byob \
                     neither writes nor reads"
                .into(),
            instead: format!(
                "use the `s3_assume_role` mode where the store has STS (byob then limits every session to the prefix), \
                 or limit the key to `{}/*` in the store's own policy, {own}",
                i.prefix
            ),
        }),
        _ => None,
    }
}
