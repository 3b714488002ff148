//! Azure settings byob's storage credentials can read: the blob service's CORS rules (Get Blob Service
//! Properties) and the container's public access level. Versioning, lifecycle management and the account's key
//! live in Azure Resource Manager, out of reach of storage credentials, and are reported as such.

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use object_store::{azure::AzureCredentialProvider, path::Path};
use serde::Deserialize;
use sha2::Sha256;

use super::{BucketInspector, BucketSettings, CorsRule, Encryption, PublicAccess, Setting, date_header, status_error};
use crate::storage::StorageError;

const API_VERSION: &str = "2021-08-06";
const MANAGEMENT_PLANE: &str = "Azure keeps it in the storage account's management settings (Azure Resource Manager), which storage credentials cannot read; check it in the portal or with `az storage account blob-service-properties show`";

/// How the inspector authorizes its requests.
#[derive(Debug, Clone)]
pub(crate) enum InspectorAuth {
    /// The decoded account key: requests are signed with Shared Key.
    SharedKey(Vec<u8>),
    /// SAS query pairs appended to each request.
    Sas(Vec<(String, String)>),
    /// Entra ID bearer tokens from the client's own provider.
    Token(AzureCredentialProvider),
}

#[derive(Debug, Clone)]
pub struct AzureInspector {
    http: reqwest::Client,
    account: String,
    /// The account's blob endpoint without a trailing slash.
    endpoint: String,
    container: String,
    auth: InspectorAuth,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct ServiceProperties {
    cors: CorsRules,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CorsRules {
    #[serde(rename = "CorsRule")]
    rules: Vec<AzureCorsRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct AzureCorsRule {
    allowed_origins: String,
    allowed_methods: String,
    allowed_headers: String,
    exposed_headers: String,
}

fn split(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The Shared Key string to sign for a bodiless GET ("Authorize with Shared Key", version 2015-02-21 and later):
/// the verb, eleven empty standard headers, the `x-ms-*` headers, then the canonical resource.
fn shared_key_string_to_sign(account: &str, url: &url::Url, date: &str) -> String {
    let mut query: Vec<(String, String)> =
        url.query_pairs().map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned())).collect();
    query.sort();
    let resource: String = query.iter().map(|(k, v)| format!("\n{k}:{v}")).collect();
    format!(
        "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{API_VERSION}\n/{account}{}{resource}",
        url.path()
    )
}

impl AzureInspector {
    pub(crate) fn new(
        account: &str,
        endpoint: &str,
        container: &str,
        auth: InspectorAuth,
        network: &crate::net::NetworkPolicy,
    ) -> Self {
        Self {
            http: crate::net::guarded_http_client(network).build().unwrap_or_default(),
            account: account.to_string(),
            endpoint: endpoint.trim_end_matches('/').to_string(),
            container: container.to_string(),
            auth,
        }
    }

    async fn get(&self, path_and_query: &str, what: &str) -> Result<reqwest::Response, StorageError> {
        let mut url = url::Url::parse(&format!("{}{path_and_query}", self.endpoint))
            .map_err(|e| StorageError::Config(format!("the Azure endpoint is unusable: {e}")))?;
        let date = Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let mut request_headers = vec![("x-ms-date", date.clone()), ("x-ms-version", API_VERSION.to_string())];
        match &self.auth {
            InspectorAuth::SharedKey(key) => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key)
                    .map_err(|_| StorageError::Config("the account key is unusable".into()))?;
                mac.update(shared_key_string_to_sign(&self.account, &url, &date).as_bytes());
                let signature = STANDARD.encode(mac.finalize().into_bytes());
                request_headers.push(("authorization", format!("SharedKey {}:{signature}", self.account)));
            }
            InspectorAuth::Sas(pairs) => {
                url.query_pairs_mut().extend_pairs(pairs);
            }
            InspectorAuth::Token(provider) => {
                if let object_store::azure::AzureCredential::BearerToken(token) =
                    provider.get_credential().await?.as_ref()
                {
                    request_headers.push(("authorization", format!("Bearer {token}")));
                }
            }
        }
        let mut request = self.http.get(url);
        for (name, value) in request_headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(StorageError::request)?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(status_error(what, response).await)
    }
}

impl AzureInspector {
    async fn cors(&self) -> Result<Setting<Vec<CorsRule>>, StorageError> {
        let response = self.get("/?restype=service&comp=properties", "the blob service's CORS rules").await?;
        let body = response.text().await.map_err(|e| StorageError::Backend(e.to_string()))?;
        let properties: ServiceProperties = quick_xml::de::from_str(body.trim_start_matches('\u{feff}'))
            .map_err(|e| StorageError::Backend(format!("unreadable blob service properties: {e}")))?;
        let rules: Vec<CorsRule> = properties
            .cors
            .rules
            .into_iter()
            .map(|r| CorsRule {
                allowed_origins: split(&r.allowed_origins),
                allowed_methods: split(&r.allowed_methods),
                allowed_headers: split(&r.allowed_headers),
                expose_headers: split(&r.exposed_headers),
            })
            .collect();
        Ok(if rules.is_empty() { Setting::Unset } else { Setting::Set(rules) })
    }

    /// The container's anonymous access level (Get Container Properties), which also proves it exists.
    async fn public_access(&self) -> Result<Setting<PublicAccess>, StorageError> {
        let path = format!("/{}?restype=container", self.container);
        let response = self.get(&path, "the container's properties").await?;
        let level = response.headers().get("x-ms-blob-public-access").and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(Setting::Set(match level {
            None => PublicAccess { blocked: true, detail: "the container allows no anonymous access".into() },
            Some(level) => {
                PublicAccess { blocked: false, detail: format!("the container allows anonymous `{level}` access") }
            }
        }))
    }
}

#[async_trait::async_trait]
impl BucketInspector for AzureInspector {
    async fn settings(&self) -> BucketSettings {
        let (cors, public_access) = tokio::join!(self.cors(), self.public_access());
        // An Azure container has no region of its own; whether it exists is what its properties say.
        // A refused read leaves existence unknown: the refusal is reported, never a pass.
        let location = match &public_access {
            Err(e) => Err(e.clone()),
            Ok(_) => Ok(Setting::Unavailable(
                "an Azure container has no region of its own: it is the storage account's".into(),
            )),
        };
        BucketSettings {
            location,
            cors,
            // Azure Storage encrypts every blob at rest and cannot be turned off; customer-managed keys are an
            // account setting.
            encryption: Ok(Setting::Set(Encryption::ProviderManaged)),
            versioning: Ok(Setting::Unavailable(format!("blob versioning: {MANAGEMENT_PLANE}"))),
            public_access,
            lifecycle: Ok(Setting::Unavailable(format!("the lifecycle management policy: {MANAGEMENT_PLANE}"))),
        }
    }

    async fn kms_key(&self, _key: &str) -> Result<Setting<()>, StorageError> {
        Ok(Setting::Unavailable(format!("customer-managed keys: {MANAGEMENT_PLANE}")))
    }

    async fn put_encrypted(&self, _key: &Path, _body: Vec<u8>, _kms_key: &str) -> Result<Setting<()>, StorageError> {
        Ok(Setting::Unavailable("Azure applies the account's key to every write; there is no per-write key".into()))
    }

    async fn server_time(&self) -> Result<DateTime<Utc>, StorageError> {
        date_header(&self.http, &self.endpoint).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn string_to_sign_names_account_path_and_sorted_query() {
        let url = url::Url::parse("http://127.0.0.1:10000/devstoreaccount1/?restype=service&comp=properties").unwrap();
        let s = shared_key_string_to_sign("devstoreaccount1", &url, "Sun, 22 Nov 2026 08:00:00 GMT");
        assert!(s.ends_with("/devstoreaccount1/devstoreaccount1/\ncomp:properties\nrestype:service"), "{s}");
        assert!(s.starts_with("GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:"));
    }

    #[test]
    fn service_properties_xml() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><StorageServiceProperties><Logging><Version>1.0</Version></Logging><Cors><CorsRule><AllowedOrigins>https://app.example.com</AllowedOrigins><AllowedMethods>GET,PUT,POST</AllowedMethods><AllowedHeaders>*</AllowedHeaders><ExposedHeaders>etag</ExposedHeaders><MaxAgeInSeconds>3600</MaxAgeInSeconds></CorsRule></Cors></StorageServiceProperties>";
        let p: ServiceProperties = quick_xml::de::from_str(xml).unwrap();
        assert_eq!(p.cors.rules.len(), 1);
        assert_eq!(split(&p.cors.rules[0].allowed_methods), ["GET", "PUT", "POST"]);
        let empty: ServiceProperties =
            quick_xml::de::from_str("<StorageServiceProperties><Cors/></StorageServiceProperties>").unwrap();
        assert!(empty.cors.rules.is_empty());
    }
}
