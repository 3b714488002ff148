//! Azure Blob Storage with a shared key (presigned access through service SAS scoped to one blob) or an
//! account SAS (byob-side access only: a customer's SAS cannot be narrowed without the key, so byob never
//! hands it out).

use std::{sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use byob_core::{Sensitive, location::Prefix};
use object_store::{
    azure::{MicrosoftAzure, MicrosoftAzureBuilder},
    multipart::{MultipartStore, PartId},
    path::Path,
    signer::{Method, Signer},
};
use url::Url;

use crate::net::{GuardedConnector, NetworkPolicy};

use super::{
    ClientPolicy, StorageClient, StorageError,
    azure_delete::{DeleteAuth, SingleDeletes},
    azure_sas::{BlobSas, Delegation, SigningKey},
    client::{PartSigner, ResponseParams},
    inspect::{AzureInspector, InspectorAuth},
    writer::StoreParts,
};

#[derive(Debug, Clone)]
pub enum AzureAuth {
    SharedKey(Sensitive<String>),
    /// An account or service SAS query string.
    Sas(Sensitive<String>),
    /// A service principal: Entra ID tokens for data access, user-delegation keys for short SAS.
    ServicePrincipal {
        tenant_id: String,
        client_id: String,
        client_secret: Sensitive<String>,
    },
}

#[derive(Debug, Clone)]
pub struct AzureSettings {
    pub account: String,
    pub container: String,
    pub prefix: Prefix,
    /// The account's blob endpoint (`https://ACCOUNT.blob.core.windows.net` when absent), path-style for
    /// emulators and private endpoints (`http://127.0.0.1:10000/devstoreaccount1`).
    pub endpoint: Option<String>,
    pub auth: AzureAuth,
    /// The Entra ID (Azure AD) authority, when not `https://login.microsoftonline.com` (sovereign clouds).
    pub authority_host: Option<String>,
    /// Extra trusted root certificates (PEM), for endpoints behind a private CA.
    pub extra_roots_pem: Option<Vec<u8>>,
}

/// Blocks of a presigned upload: the blob's SAS URL with `comp=block&blockid=…` (the SAS covers the blob, not
/// the query), committed by byob with Put Block List. Block ids are the part numbers, zero-padded so all have
/// one length as Azure requires.
struct AzureBlocks {
    store: Arc<MicrosoftAzure>,
    signer: Arc<dyn Signer>,
}

fn block_id(part_number: u32) -> String {
    format!("byob-block-{part_number:06}")
}

#[async_trait::async_trait]
impl PartSigner for AzureBlocks {
    async fn start(&self, _key: &Path) -> Result<String, StorageError> {
        // Azure has no upload to create: blocks attach to the blob name until committed.
        Ok(format!("azure-{}", ulid::Ulid::new().to_string().to_ascii_lowercase()))
    }

    async fn part(
        &self,
        key: &Path,
        _upload_id: &str,
        part_number: u32,
        ttl: Duration,
    ) -> Result<(Url, Vec<(String, String)>), StorageError> {
        let mut url = self.signer.signed_url(Method::PUT, key, ttl).await?;
        url.query_pairs_mut()
            .append_pair("comp", "block")
            .append_pair("blockid", &STANDARD.encode(block_id(part_number)));
        Ok((url, Vec::new()))
    }

    async fn complete(&self, key: &Path, upload_id: &str, etags: Vec<String>) -> Result<(), StorageError> {
        let count = u32::try_from(etags.len()).map_err(|_| StorageError::Config("too many parts".into()))?;
        let parts = (1..=count).map(|n| PartId { content_id: block_id(n) }).collect();
        self.store.complete_multipart(key, &upload_id.to_string(), parts).await?;
        Ok(())
    }

    async fn abort(&self, _key: &Path, _upload_id: &str) -> Result<(), StorageError> {
        // Uncommitted blocks are discarded by Azure after a week; nothing to call.
        Ok(())
    }
}

/// # Errors
/// [`StorageError::Config`] when the settings are unusable.
pub fn connect(
    settings: AzureSettings,
    policy: ClientPolicy,
    network: &NetworkPolicy,
) -> Result<StorageClient, StorageError> {
    super::check_endpoint(settings.endpoint.as_deref(), network)?;
    let mut builder =
        MicrosoftAzureBuilder::new().with_account(&settings.account).with_container_name(&settings.container);
    let mut options = super::client_options();
    let plain_http = |url: Option<&String>| url.is_some_and(|u| u.starts_with("http://"));
    // Validated upstream: http only where the operator allows it.
    options =
        options.with_allow_http(plain_http(settings.endpoint.as_ref()) || plain_http(settings.authority_host.as_ref()));
    if let Some(endpoint) = &settings.endpoint {
        builder = builder.with_endpoint(endpoint.clone());
    }
    let connector = match &settings.extra_roots_pem {
        Some(pem) => GuardedConnector::with_roots(network, pem).map_err(|e| StorageError::Config(e.to_string()))?,
        None => GuardedConnector::new(network),
    };
    builder = builder.with_client_options(options).with_http_connector(connector).with_retry(policy.retry.config());
    if let Some(authority) = &settings.authority_host {
        builder = builder.with_config(object_store::azure::AzureConfigKey::AuthorityHost, authority);
    }
    let endpoint =
        settings.endpoint.clone().unwrap_or_else(|| format!("https://{}.blob.core.windows.net", settings.account));
    builder = match &settings.auth {
        AzureAuth::SharedKey(key) => builder.with_access_key(key.expose()),
        AzureAuth::ServicePrincipal { tenant_id, client_id, client_secret } => {
            builder.with_client_secret_authorization(client_id, client_secret.expose(), tenant_id)
        }
        AzureAuth::Sas(sas) => {
            let pairs: Vec<(String, String)> =
                url::form_urlencoded::parse(sas.expose().trim_start_matches('?').as_bytes()).into_owned().collect();
            builder.with_sas_authorization(pairs)
        }
    };
    let store = Arc::new(builder.build().map_err(|e| StorageError::Config(e.to_string()))?);
    let inspector_auth = match &settings.auth {
        AzureAuth::SharedKey(key) => InspectorAuth::SharedKey(
            STANDARD.decode(key.expose()).map_err(|_| StorageError::Config("the account key is not base64".into()))?,
        ),
        AzureAuth::Sas(sas) => InspectorAuth::Sas(
            url::form_urlencoded::parse(sas.expose().trim_start_matches('?').as_bytes()).into_owned().collect(),
        ),
        AzureAuth::ServicePrincipal { .. } => InspectorAuth::Token(store.credentials().clone()),
    };
    let inspector = AzureInspector::new(&settings.account, &endpoint, &settings.container, inspector_auth, network);
    // byob's own requests (delegation keys, single deletes): through the network policy, trusting the same roots.
    let mut builder = crate::net::guarded_http_client(network);
    if let Some(pem) = &settings.extra_roots_pem {
        for root in reqwest::Certificate::from_pem_bundle(pem).map_err(|e| StorageError::Config(e.to_string()))? {
            builder = builder.add_root_certificate(root);
        }
    }
    let http = builder.build().map_err(|e| StorageError::Config(e.to_string()))?;
    // byob signs its own blob SAS (keys of any characters): with the account key, or with user-delegation keys
    // a service principal's token obtains. A customer's SAS signs nothing (the client hands out no URLs).
    let signing_key = match &settings.auth {
        AzureAuth::SharedKey(key) => Some(SigningKey::Account(
            STANDARD.decode(key.expose()).map_err(|_| StorageError::Config("the account key is not base64".into()))?,
        )),
        AzureAuth::ServicePrincipal { .. } => Some(SigningKey::Delegated(Box::new(Delegation {
            http: http.clone(),
            tokens: store.credentials().clone(),
            current: tokio::sync::Mutex::new(None),
        }))),
        AzureAuth::Sas(_) => None,
    };
    let signer: Arc<dyn Signer> = match signing_key {
        Some(key) => Arc::new(BlobSas {
            account: settings.account.clone(),
            container: settings.container.clone(),
            endpoint: endpoint.clone(),
            key,
        }),
        None => store.clone(),
    };
    let delete_auth = match &settings.auth {
        AzureAuth::Sas(sas) => DeleteAuth::Sas(
            url::form_urlencoded::parse(sas.expose().trim_start_matches('?').as_bytes()).into_owned().collect(),
        ),
        AzureAuth::SharedKey(_) => DeleteAuth::Signed(signer.clone()),
        AzureAuth::ServicePrincipal { .. } => DeleteAuth::Token(store.credentials().clone()),
    };
    let data = Arc::new(SingleDeletes {
        inner: store.clone(),
        http,
        endpoint: endpoint.trim_end_matches('/').to_string(),
        container: settings.container.clone(),
        auth: delete_auth,
    });
    let parts = Arc::new(AzureBlocks { store: store.clone(), signer: signer.clone() });
    let put_headers = vec![("x-ms-blob-type".to_string(), "BlockBlob".to_string())];
    let client = StorageClient::new(data, parts, put_headers, settings.prefix, policy)
        .with_signer(signer)
        .with_response_params(ResponseParams::AZURE_SAS)
        .with_inspector(Arc::new(inspector))
        .with_writer(Arc::new(StoreParts { store }));
    Ok(match settings.auth {
        AzureAuth::SharedKey(_) | AzureAuth::ServicePrincipal { .. } => client,
        AzureAuth::Sas(_) => client.without_presign(
            "a customer's SAS cannot be narrowed to one blob without the account key, so byob uses it itself only",
        ),
    })
}
