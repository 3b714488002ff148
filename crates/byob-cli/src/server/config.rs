//! Loading the configuration once: defaults, then the TOML file, then `BYOB_…` environment variables (nested
//! keys joined by `__`, e.g. `BYOB_CATALOG__URL`), then command-line flags.

use std::path::Path;

use anyhow::{Context, bail};
use byob_core::config::Config;
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};

use crate::args::ConfigOpts;

/// Whether an environment variable (without `BYOB_`) names the server's configuration: its first part is one of
/// [`Config`]'s top-level keys, derived from the type so no key can be forgotten. Others under `BYOB_`
/// (`BYOB_URL`, `BYOB_TOKEN`, `BYOB_ORG`, `BYOB_CONFIG`, test settings) belong to the client or the test harness.
fn is_server_key(keys: &[String], key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    keys.iter().any(|k| key == *k || key.starts_with(&format!("{k}__")))
}

/// Builds the figment without command-line overrides (they are merged by the caller).
pub(crate) fn figment(opts: &ConfigOpts) -> anyhow::Result<Figment> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = &opts.config {
        if !Path::new(path).is_file() {
            bail!("configuration file {} does not exist", path.display());
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    let keys = Config::top_level_keys();
    figment = figment.merge(Env::prefixed("BYOB_").filter(move |k| is_server_key(&keys, k.as_str())).split("__"));
    if let Some(dir) = &opts.data_dir {
        figment = figment.merge(Serialized::default("data_dir", dir));
    }
    Ok(figment)
}

pub(crate) fn extract(figment: &Figment) -> anyhow::Result<Config> {
    let config = figment.extract::<Config>().context("invalid configuration")?;
    config.check_ranges().context("invalid configuration")?;
    Ok(config)
}

pub(crate) fn load(opts: &ConfigOpts) -> anyhow::Result<Config> {
    extract(&figment(opts)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_variables_are_not_server_configuration() {
        let keys = Config::top_level_keys();
        for key in ["CATALOG__URL", "operator_token", "JOBS__LEASE_SECS", "MONITOR__TICK_SECS", "UPLOADS__PUBLIC_URL"] {
            assert!(is_server_key(&keys, key), "{key}");
        }
        for key in ["URL", "TOKEN", "ORG", "CONFIG", "TEST_POSTGRES_URL"] {
            assert!(!is_server_key(&keys, key), "{key}");
        }
    }

    #[test]
    fn every_field_of_the_type_is_a_top_level_key() {
        let keys = Config::top_level_keys();
        for key in ["listen", "data_dir", "operator_token", "storage", "monitor", "uploads", "jobs"] {
            assert!(keys.iter().any(|k| k == key), "{key} in {keys:?}");
        }
    }

    #[test]
    fn values_out_of_range_are_refused_with_their_key() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("byob.toml");
        for (toml, key) in [
            ("[monitor]\ntick_secs = 0\n", "monitor.tick_secs"),
            ("[monitor]\njitter = 3\n", "monitor.jitter"),
            ("[jobs]\nworkers = 0\n", "jobs.workers"),
            ("[jobs]\nlease_secs = 1\n", "jobs.lease_secs"),
            ("[uploads]\nabort_incomplete_after_hours = 0\n", "uploads.abort_incomplete_after_hours"),
            ("[attachments]\nscanner = \"http\"\n", "attachments.scanner_url"),
            ("[attachments]\ndownload_ttl_secs = 0\n", "attachments.download_ttl_secs"),
        ] {
            std::fs::write(&path, toml)?;
            let err = load(&ConfigOpts { config: Some(path.clone()), data_dir: None }).err().map(|e| format!("{e:#}"));
            assert!(err.as_deref().is_some_and(|e| e.contains(key)), "{toml}: {err:?}");
        }
        Ok(())
    }

    #[test]
    fn toml_file_and_unknown_keys() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("byob.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9999\"\n[http]\nmax_body_bytes = 2048\n")?;
        let config = load(&ConfigOpts { config: Some(path.clone()), data_dir: None })?;
        assert_eq!(config.listen.port(), 9999);
        assert_eq!(config.http.max_body_bytes, 2048);
        std::fs::write(&path, "[http]\nmax_body_byts = 1\n")?;
        let err = load(&ConfigOpts { config: Some(path), data_dir: None }).err().map(|e| format!("{e:#}"));
        assert!(err.is_some_and(|e| e.contains("max_body_byts")));
        Ok(())
    }
}
