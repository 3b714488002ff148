//! Start-up: the data dir, the operator token, the secret box and the catalog, built from the configuration.

use std::{path::Path, sync::Arc};

use anyhow::Context;
use byob_core::{
    Sensitive,
    config::{Config, HttpEndpoints, IntegrationsConfig},
    location::HttpPolicy,
};
use byob_ports::{
    catalog::{self, SqlCatalog},
    clock::SystemClock,
    secretbox::{KeySource, XChaChaBox, private_file},
};
use byob_service::{Deps, IntegrationPolicy, OperatorToken, setup::ByobIdentity};

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
        },
    }
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
    };
    Ok((deps, catalog))
}
