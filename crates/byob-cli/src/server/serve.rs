//! `byob serve`: start-up, serving, and graceful shutdown on SIGTERM/SIGINT.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use byob_api::{AppState, HttpLimits, Metrics};
use byob_core::config::Config;
use byob_ports::warehouse::{LOCAL_CONNECTION, open_local_warehouse};
use byob_service::Services;
use figment::providers::Serialized;
use tokio::sync::watch;

use super::{bootstrap, config, logging};
use crate::args::ServeOpts;

fn load(opts: &ServeOpts) -> anyhow::Result<Config> {
    let mut figment = config::figment(&opts.config)?;
    if let Some(listen) = opts.listen {
        figment = figment.merge(Serialized::default("listen", listen.to_string()));
    }
    if let Some(format) = opts.log_format {
        figment = figment.merge(Serialized::default("log.format", byob_core::config::LogFormat::from(format)));
    }
    config::extract(&figment)
}

pub(crate) async fn serve(opts: ServeOpts) -> anyhow::Result<()> {
    let config = load(&opts)?;
    logging::init(&config.log)?;
    bootstrap::create_data_dir(&config.data_dir)?;
    let (operator, generated) = bootstrap::operator_token(&config)?;
    if let Some(token) = generated {
        // Printed once, to the terminal only (never to the log): the file keeps it for later.
        println!(
            "Generated the operator token (kept in {}, mode 0600):\n  {}",
            config.operator_token_file().display(),
            token.expose()
        );
    }
    let (deps, catalog) = bootstrap::deps(&config).await?;
    let (storage, default_storage) = bootstrap::storage_settings(&config)?;
    let warehouse = open_local_warehouse(&config.warehouse_file())
        .await
        .with_context(|| format!("cannot open the embedded warehouse {}", config.warehouse_file().display()))?;
    tracing::info!(
        catalog = catalog_backend(&config),
        default_storage = %default_storage,
        warehouse = LOCAL_CONNECTION,
        "byob starting"
    );

    let limits = HttpLimits {
        max_body_bytes: config.http.max_body_bytes,
        request_timeout: Duration::from_secs(config.http.request_timeout_secs),
    };
    let monitor = byob_service::health::MonitorSettings {
        interval: chrono::Duration::hours(i64::from(config.monitor.interval_hours.max(1))),
        jitter: config.monitor.jitter.clamp(0.0, 0.5),
    };
    let services = Services::new(&deps, operator, storage, monitor);
    if config.monitor.enabled {
        spawn_monitor(services.clone(), deps.clock.clone(), Duration::from_secs(config.monitor.tick_secs.max(1)));
    }
    let state = AppState::new(services, deps.catalog.clone(), Arc::new(Metrics::default()), limits);
    let signals = ShutdownSignals::register()?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    println!("byob listening on http://{address}");
    tracing::info!(%address, "listening");

    let (stop_tx, mut stop_rx) = watch::channel(false);
    let mut graceful_rx = stop_rx.clone();
    let server = axum::serve(listener, byob_api::app(state)).with_graceful_shutdown(async move {
        let _ = graceful_rx.wait_for(|stop| *stop).await;
    });
    tokio::spawn(async move {
        signals.recv().await;
        tracing::info!("shutdown requested; finishing in-flight requests");
        let _ = stop_tx.send(true);
    });
    let grace = Duration::from_secs(config.http.shutdown_grace_secs);
    let server = tokio::spawn(async move { server.await });
    tokio::select! {
        result = server => result.context("server task failed")?.context("server failed")?,
        () = async {
            let _ = stop_rx.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!(?grace, "in-flight requests did not finish in time; stopping anyway"),
    }
    warehouse.close().await;
    catalog.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The health monitor and webhook delivery, one pass per tick. A failed pass is logged and the next one retries.
fn spawn_monitor(services: Services, clock: Arc<dyn byob_ports::clock::Clock>, tick: Duration) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match services.monitor.tick(clock.now()).await {
                Ok(report) if report.verified + report.expiry_events > 0 => {
                    tracing::info!(
                        verified = report.verified,
                        expiry_events = report.expiry_events,
                        "health monitor pass"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "health monitor pass failed"),
            }
            match services.webhooks.dispatch(clock.now()).await {
                Ok(r) if r.delivered + r.retrying + r.failed > 0 => {
                    tracing::info!(
                        delivered = r.delivered,
                        retrying = r.retrying,
                        failed = r.failed,
                        "webhook deliveries"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook delivery pass failed"),
            }
        }
    });
}

fn catalog_backend(config: &Config) -> &'static str {
    if config.catalog_url().starts_with("sqlite:") { "sqlite" } else { "postgres" }
}

/// SIGTERM and SIGINT, registered before the server announces itself, so a signal that arrives at once still
/// means a graceful shutdown rather than the default of dying on the spot.
struct ShutdownSignals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn register() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
                interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn recv(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
