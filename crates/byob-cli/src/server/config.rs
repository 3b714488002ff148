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

/// Top-level keys the server reads from the environment. Others under `BYOB_` (`BYOB_URL`, `BYOB_TOKEN`,
/// `BYOB_ORG`, `BYOB_CONFIG`, test settings) belong to the client or the test harness.
const ENV_KEYS: [&str; 10] = [
    "listen",
    "data_dir",
    "operator_token",
    "log",
    "http",
    "catalog",
    "secrets",
    "storage",
    "warehouse",
    "integrations",
];

fn is_server_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ENV_KEYS.iter().any(|k| key == *k || key.starts_with(&format!("{k}__")))
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
    figment = figment.merge(Env::prefixed("BYOB_").filter(|k| is_server_key(k.as_str())).split("__"));
    if let Some(dir) = &opts.data_dir {
        figment = figment.merge(Serialized::default("data_dir", dir));
    }
    Ok(figment)
}

pub(crate) fn extract(figment: &Figment) -> anyhow::Result<Config> {
    figment.extract::<Config>().context("invalid configuration")
}

pub(crate) fn load(opts: &ConfigOpts) -> anyhow::Result<Config> {
    extract(&figment(opts)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_variables_are_not_server_configuration() {
        assert!(is_server_key("CATALOG__URL"));
        assert!(is_server_key("operator_token"));
        assert!(!is_server_key("URL"));
        assert!(!is_server_key("TOKEN"));
        assert!(!is_server_key("TEST_POSTGRES_URL"));
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
