//! Start-up: the data dir, the operator token, the secret box and the catalog, built from the configuration.

use std::{path::Path, sync::Arc, time::Duration};

use anyhow::Context;
use byob_core::{
    Sensitive,
    config::{Config, HttpEndpoints, IntegrationsConfig},
    location::{HttpPolicy, Prefix},
};
use byob_ports::net::NetworkPolicy;
use byob_ports::{
    catalog::{self, SqlCatalog},
    clock::SystemClock,
    secretbox::{KeySource, XChaChaBox, private_file},
    storage::{
        ClientPolicy, RetryPolicy, StorageClient, StsSettings,
        azure::{self, AzureAuth, AzureSettings},
        gcs::{self, GcsSettings},
        local_storage_client,
        s3::{self, S3AccessKey},
    },
};
use byob_service::{Deps, GcpIdentity, IntegrationPolicy, OperatorToken, StorageSettings, setup::ByobIdentity};

pub(crate) fn create_data_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).with_context(|| format!("cannot create data dir {}", dir.display()))
}

/// The operator token from configuration, or from the token file; generated (and returned as new) on first
/// start.
pub(crate) fn operator_token(config: &Config) -> anyhow::Result<(OperatorToken, Option<Sensitive<String>>)> {
    if let Some(token) = &config.operator_token {
        anyhow::ensure!(token.expose().len() >= 20, "operator_token must be at least 20 characters");
        return Ok((OperatorToken::new(token), None));
    }
    let path = config.operator_token_file();
    if path.exists() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let token = Sensitive::new(text.trim().to_string());
        anyhow::ensure!(!token.expose().is_empty(), "{} is empty; delete it to generate a new token", path.display());
        return Ok((OperatorToken::new(&token), None));
    }
    let token = OperatorToken::generate()?;
    let mut file = private_file(&path).with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::write_all(&mut file, format!("{}\n", token.expose()).as_bytes())?;
    Ok((OperatorToken::new(&token), Some(token)))
}

pub(crate) fn key_source(config: &Config) -> KeySource {
    match &config.secrets.master_key {
        Some(primary) => KeySource::Config { primary: primary.clone(), previous: config.secrets.previous_keys.clone() },
        None => KeySource::File(config.keyring_file()),
    }
}

fn integration_policy(config: &IntegrationsConfig) -> IntegrationPolicy {
    let http_endpoints = match config.http_endpoints {
        HttpEndpoints::HttpsOnly => HttpPolicy::HttpsOnly,
        HttpEndpoints::Loopback => HttpPolicy::AllowLoopbackHttp,
        HttpEndpoints::Any => HttpPolicy::AllowHttp,
    };
    IntegrationPolicy {
        http_endpoints,
        allow_local: config.allow_local,
        identity: ByobIdentity {
            aws_principal_arn: config.aws_principal_arn.clone(),
            gcp_service_account: config.gcp_service_account.clone(),
            egress_cidrs: config.egress_cidrs.clone(),
            azure_broker_app: None,
        },
        gcp_org_accounts: config.gcp_org_service_accounts.clone(),
        gcp_token_endpoints: config.gcp_token_endpoints.clone(),
        azure_broker_apps: config.azure_broker_apps.clone(),
    }
}

/// The operator's allowed private ranges, refused at start-up when one is not a CIDR.
fn network_policy(config: &Config) -> anyhow::Result<NetworkPolicy> {
    let ranges = NetworkPolicy::parse_ranges(&config.network.allowed_private_ranges)
        .map_err(|e| anyhow::anyhow!("network.allowed_private_ranges: {e}"))?;
    let policy = NetworkPolicy::allowing(ranges);
    if config.network.dns_servers.is_empty() {
        return Ok(policy);
    }
    let servers = config
        .network
        .dns_servers
        .iter()
        .map(|s| {
            s.parse::<std::net::SocketAddr>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(|ip| std::net::SocketAddr::new(ip, 53)))
                .map_err(|_| {
                    anyhow::anyhow!("network.dns_servers: `{s}` is not an address such as 10.0.0.2 or 10.0.0.2:53")
                })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let resolver =
        byob_ports::net::Resolver::servers(&servers).map_err(|e| anyhow::anyhow!("network.dns_servers: {e}"))?;
    Ok(policy.with_resolver(resolver))
}

/// The catalog and secret box: everything the maintenance commands need too.
pub(crate) async fn deps(config: &Config) -> anyhow::Result<(Deps, Arc<SqlCatalog>)> {
    create_data_dir(&config.data_dir)?;
    let secret_box = XChaChaBox::new(key_source(config)).context("cannot load the master keys")?;
    let catalog = Arc::new(
        catalog::connect(&config.catalog_url(), config.catalog.max_connections)
            .await
            .context("cannot open the catalog")?,
    );
    let deps = Deps {
        catalog: catalog.clone(),
        secret_box: Arc::new(secret_box),
        clock: Arc::new(SystemClock),
        integrations: integration_policy(&config.integrations),
        network: network_policy(config)?,
        quotas: config.quotas.clone(),
    };
    Ok((deps, catalog))
}

/// How byob reaches buckets: presign lifetimes, its own cloud identities, and the default storage (with a name
/// for the start-up log).
pub(crate) fn storage_settings(config: &Config) -> anyhow::Result<(StorageSettings, String)> {
    let i = &config.integrations;
    let defaults = RetryPolicy::default();
    let presign = ClientPolicy {
        default_ttl: Duration::from_secs(i.presign_default_secs.unwrap_or(900)),
        max_ttl: Duration::from_secs(i.presign_max_secs.unwrap_or(43_200)),
        retry: RetryPolicy {
            retries: config.storage.retries.map_or(defaults.retries, |n| n as usize),
            timeout: config.storage.retry_timeout_secs.map_or(defaults.timeout, Duration::from_secs),
        },
    };
    anyhow::ensure!(
        presign.default_ttl <= presign.max_ttl,
        "integrations.presign_default_secs exceeds presign_max_secs"
    );
    let sts = match (&i.aws_access_key_id, &i.aws_secret_access_key) {
        (Some(key), Some(secret)) => Some(StsSettings {
            endpoint: i.sts_endpoint.clone(),
            region: i.sts_region.clone().unwrap_or_else(|| "us-east-1".into()),
            access_key_id: key.clone(),
            secret_access_key: secret.clone(),
        }),
        (None, None) => None,
        _ => {
            anyhow::bail!("set both integrations.aws_access_key_id and integrations.aws_secret_access_key, or neither")
        }
    };
    let (default_storage, name) = default_storage(config, presign)?;
    let settings = StorageSettings {
        presign,
        sts,
        default_storage,
        default_ttl_hours: config.storage.staging_ttl_hours.unwrap_or(24),
        azure_authority_host: i.azure_authority_host.clone(),
        gcp_identity: i
            .gcp_service_account_key
            .clone()
            .map(|key| GcpIdentity { key, iam_credentials_endpoint: i.gcp_iam_credentials_endpoint.clone() }),
    };
    Ok((settings, name))
}

/// The platform-owned storage: at most one of `storage.s3`, `storage.gcs`, `storage.azure`, else the directory.
fn default_storage(config: &Config, presign: ClientPolicy) -> anyhow::Result<(StorageClient, String)> {
    let prefix = |field: &str, text: &str| Prefix::parse(field, text).map_err(|e| anyhow::anyhow!("{e}"));
    let st = &config.storage;
    let chosen = [st.s3.is_some(), st.gcs.is_some(), st.azure.is_some()].iter().filter(|set| **set).count();
    anyhow::ensure!(chosen <= 1, "set at most one of storage.s3, storage.gcs and storage.azure");
    if let Some(s) = &st.s3 {
        let settings = S3AccessKey {
            bucket: s.bucket.clone(),
            prefix: prefix("storage.s3.prefix", &s.prefix)?,
            region: s.region.clone(),
            endpoint: s.endpoint.clone(),
            path_style: s.endpoint.is_some(),
            access_key_id: s.access_key_id.clone(),
            secret_access_key: s.secret_access_key.clone(),
            kms_key: None,
        };
        return Ok((
            s3::connect(settings, presign, &NetworkPolicy::any()).context("storage.s3 is unusable")?,
            format!("s3://{}", s.bucket),
        ));
    }
    if let Some(g) = &st.gcs {
        let settings = GcsSettings {
            bucket: g.bucket.clone(),
            prefix: prefix("storage.gcs.prefix", &g.prefix)?,
            endpoint: g.endpoint.clone(),
            service_account_key: g.service_account_key.clone(),
        };
        return Ok((
            gcs::connect(settings, presign, &NetworkPolicy::any()).context("storage.gcs is unusable")?,
            format!("gs://{}", g.bucket),
        ));
    }
    if let Some(a) = &st.azure {
        let settings = AzureSettings {
            account: a.account.clone(),
            container: a.container.clone(),
            prefix: prefix("storage.azure.prefix", &a.prefix)?,
            endpoint: a.endpoint.clone(),
            auth: AzureAuth::SharedKey(a.account_key.clone()),
            authority_host: None,
            extra_roots_pem: None,
        };
        return Ok((
            azure::connect(settings, presign, &NetworkPolicy::any()).context("storage.azure is unusable")?,
            format!("azure://{}/{}", a.account, a.container),
        ));
    }
    let dir = config.default_storage_dir();
    Ok((local_storage_client(&dir)?, dir.display().to_string()))
}
