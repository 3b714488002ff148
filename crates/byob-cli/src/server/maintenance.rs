//! Commands that work on the configuration and catalog directly, next to running servers.

use anyhow::Context;
use byob_ports::secretbox::{KeySource, Keyring};
use byob_service::{Auditor, SecretService};

use super::{bootstrap, config};
use crate::args::{ConfigCommand, ConfigOpts};

/// Secrets re-encrypted per catalog round trip.
const REWRAP_BATCH: u32 = 200;

pub(crate) fn config_command(cmd: ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Print(opts) => {
            let mut config = config::load(&opts)?;
            // Show what is in effect, not just what was set.
            config.catalog.url = Some(byob_core::config::DatabaseUrl::new(config.catalog_url()));
            println!("# effective byob configuration (file, then BYOB_ environment, then flags); secrets redacted");
            if config.operator_token.is_none() {
                println!("# operator_token: kept in {}", config.operator_token_file().display());
            }
            if config.secrets.master_key.is_none() {
                println!("# master keys: kept in {}", config.keyring_file().display());
            }
            print!("{}", toml::to_string_pretty(&config).context("cannot render the configuration")?);
            Ok(())
        }
    }
}

pub(crate) async fn rotate_key(opts: ConfigOpts) -> anyhow::Result<()> {
    let config = config::load(&opts)?;
    match bootstrap::key_source(&config) {
        KeySource::File(path) => {
            let key = Keyring::add_primary_to_file(&path)?;
            println!("new master key {} added to {}", key.id, path.display());
        }
        KeySource::Config { .. } => println!(
            "master keys come from the configuration: re-encrypting under `secrets.master_key` (put the old key in \
             `secrets.previous_keys` until this finishes)"
        ),
    }
    let (deps, catalog) = bootstrap::deps(&config).await?;
    let auditor = Auditor::new(deps.catalog.clone(), deps.clock.clone());
    let report = SecretService::new(deps, auditor).rewrap_all(REWRAP_BATCH).await?;
    println!(
        "re-encrypted {} secret(s) under {} ({} changed concurrently)",
        report.rewrapped, report.primary_key_id, report.skipped_concurrent
    );
    for (key, count) in &report.remaining_by_key {
        println!("  {key}: {count} secret(s)");
    }
    println!("old keys stay readable; run `byob secrets prune-keys` once every server has restarted or reloaded");
    catalog.close().await;
    Ok(())
}

pub(crate) async fn key_status(opts: ConfigOpts) -> anyhow::Result<()> {
    let config = config::load(&opts)?;
    let keyring = Keyring::load(&bootstrap::key_source(&config))?;
    let (deps, catalog) = bootstrap::deps(&config).await?;
    let counts = deps.catalog.count_secrets_by_key().await?;
    for (i, id) in keyring.ids().iter().enumerate() {
        let count = counts.iter().find(|(k, _)| k == id).map_or(0, |(_, n)| *n);
        println!("{id}{}: {count} secret(s)", if i == 0 { " (primary)" } else { "" });
    }
    for (id, count) in counts.iter().filter(|(k, _)| keyring.get(k).is_none()) {
        println!("{id} (MISSING from the keyring): {count} secret(s) cannot be decrypted");
    }
    catalog.close().await;
    Ok(())
}

pub(crate) async fn prune_keys(opts: ConfigOpts) -> anyhow::Result<()> {
    let config = config::load(&opts)?;
    let KeySource::File(path) = bootstrap::key_source(&config) else {
        anyhow::bail!("master keys come from the configuration: remove old keys from `secrets.previous_keys` instead");
    };
    let (deps, catalog) = bootstrap::deps(&config).await?;
    let in_use: Vec<String> = deps.catalog.count_secrets_by_key().await?.into_iter().map(|(k, _)| k).collect();
    let dropped = Keyring::prune_file(&path, &in_use)?;
    println!("dropped {} key(s): {}", dropped.len(), dropped.join(", "));
    catalog.close().await;
    Ok(())
}
