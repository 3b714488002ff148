//! Structured logs: text for people, JSON (`--log-format json`) for machines. Request spans carry the request
//! id, so every line logged while serving a request names it.

use byob_core::config::{LogConfig, LogFormat};
use tracing_subscriber::{EnvFilter, fmt};

pub(crate) fn init(config: &LogConfig) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&config.filter)
        .map_err(|e| anyhow::anyhow!("log.filter `{}` is not a valid filter: {e}", config.filter))?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let result = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).flatten_event(true).try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("could not start logging: {e}"))
}
