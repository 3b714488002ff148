//! `byob serve`: start-up, serving, and graceful shutdown on SIGTERM/SIGINT.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use byob_api::{AppState, HttpLimits, Metrics};
use byob_core::config::Config;
use byob_ports::warehouse::{LOCAL_CONNECTION, LocalWarehouses};
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
    let inherited = byob_ports::warehouse::operator_settings_in_environment();
    anyhow::ensure!(
        inherited.is_empty(),
        "{} set in byob's environment: the PostgreSQL driver would send it to every database a tenant names; unset \
         it (give the catalog's password in `catalog.url`)",
        inherited.join(", ") + if inherited.len() == 1 { " is" } else { " are" }
    );
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
    std::fs::create_dir_all(config.warehouse_dir()).with_context(|| {
        format!("cannot create the embedded warehouse's directory {}", config.warehouse_dir().display())
    })?;
    let warehouse = Arc::new(LocalWarehouses::new(&config.warehouse_dir()));
    tracing::info!(
        catalog = catalog_backend(&config),
        default_storage = %default_storage,
        warehouse = LOCAL_CONNECTION,
        "byob starting"
    );

    let limits = HttpLimits {
        max_body_bytes: config.http.max_body_bytes,
        request_timeout: Duration::from_secs(config.http.request_timeout_secs),
        token_requests_per_second: config.http.token_requests_per_second,
        org_requests_per_second: config.http.org_requests_per_second,
    };
    let monitor = byob_service::health::MonitorSettings {
        interval: chrono::Duration::hours(i64::from(config.monitor.interval_hours)),
        jitter: config.monitor.jitter,
    };
    let signals = ShutdownSignals::register()?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    let data = data_settings(&config, warehouse.clone(), address)?;
    let services = Services::new(&deps, operator, storage, monitor, data);
    if config.monitor.enabled {
        spawn_monitor(services.clone(), deps.clock.clone(), Duration::from_secs(config.monitor.tick_secs));
    }
    let (stop_jobs, jobs_stopped) = watch::channel(false);
    let workers = if config.jobs.enabled { spawn_jobs(&services, &config.jobs, &jobs_stopped) } else { Vec::new() };
    let state = AppState::new(services, deps.catalog.clone(), Arc::new(Metrics::default()), limits);
    println!("byob listening on http://{address}");
    tracing::info!(%address, "listening");

    let (stop_tx, mut stop_rx) = watch::channel(false);
    let graceful_rx = stop_rx.clone();
    let listener = byob_api::listener::BoundedListener::new(
        listener,
        config.http.max_connections,
        Duration::from_secs(config.http.idle_timeout_secs),
    );
    let header_read_timeout = Duration::from_secs(config.http.header_read_timeout_secs);
    let server = super::http::serve(listener, byob_api::app(state), header_read_timeout, graceful_rx);
    tokio::spawn(async move {
        signals.recv().await;
        tracing::info!("shutdown requested; finishing in-flight requests");
        let _ = stop_tx.send(true);
        let _ = stop_jobs.send(true);
    });
    let grace = Duration::from_secs(config.http.shutdown_grace_secs);
    let server = tokio::spawn(server);
    tokio::select! {
        result = server => result.context("server task failed")?,
        () = async {
            let _ = stop_rx.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!(?grace, "in-flight requests did not finish in time; stopping anyway"),
    }
    // A running job is stopped and queued again (within its stop grace) before the catalog closes.
    for worker in workers {
        let _ = worker.await;
    }
    warehouse.close().await;
    catalog.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The window over which a relay part's minimum body rate is measured.
const RELAY_RATE_WINDOW: Duration = Duration::from_secs(10);

/// Upload, warehouse and job settings; relay URLs default to the address actually listened on.
fn data_settings(
    config: &Config,
    warehouse: Arc<LocalWarehouses>,
    address: std::net::SocketAddr,
) -> anyhow::Result<byob_service::DataSettings> {
    let public_url = config.uploads.public_url.clone().unwrap_or_else(|| format!("http://{address}"));
    let public_url =
        url::Url::parse(&public_url).with_context(|| format!("uploads.public_url `{public_url}` is not a URL"))?;
    let lease = Duration::from_secs(config.jobs.lease_secs);
    Ok(byob_service::DataSettings {
        local_warehouses: warehouse,
        uploads: byob_service::data::UploadSettings {
            max_size_bytes: config.uploads.max_size_bytes,
            allowed_content_types: config
                .uploads
                .allowed_content_types
                .iter()
                .map(|t| t.to_ascii_lowercase())
                .collect(),
            public_url,
            relay_min_rate: byob_service::data::RelayRate {
                bytes: config.uploads.relay_min_bytes_per_sec.saturating_mul(RELAY_RATE_WINDOW.as_secs()),
                window: RELAY_RATE_WINDOW,
            },
        },
        jobs: byob_service::jobs::JobSettings {
            lease,
            heartbeat: (lease / 5).max(Duration::from_millis(500)),
            deadline: Duration::from_secs(config.jobs.deadline_secs),
            max_running_per_org: config.jobs.max_running_per_org.unwrap_or((config.jobs.workers / 2).max(1)),
            ..byob_service::jobs::JobSettings::default()
        },
        attachments: attachment_settings(config)?,
        assets: byob_service::data::AssetOperatorSettings {
            check_every: (config.assets.check_every_hours > 0)
                .then(|| Duration::from_secs(config.assets.check_every_hours.saturating_mul(3600))),
            check_parallelism: usize::try_from(config.assets.check_parallelism).unwrap_or(4),
        },
        migrations: byob_service::data::MigrationSettings::default(),
        abort_incomplete_after_hours: config.uploads.abort_incomplete_after_hours,
    })
}

/// The scanner, download and thumbnail settings of attachments.
fn attachment_settings(config: &Config) -> anyhow::Result<byob_service::data::AttachmentSettings> {
    use byob_core::config::ScannerKind;
    use byob_service::data::{AttachmentSettings, ScannerSettings, ThumbnailLimits};
    let a = &config.attachments;
    let scanner = match a.scanner {
        ScannerKind::None => ScannerSettings::None,
        ScannerKind::Clamd => ScannerSettings::Clamd { address: a.clamd_address.clone() },
        ScannerKind::Http => {
            let url = a.scanner_url.as_deref().unwrap_or_default();
            let url = url::Url::parse(url).with_context(|| format!("attachments.scanner_url `{url}` is not a URL"))?;
            ScannerSettings::Http { url }
        }
    };
    let presign_max = config.integrations.presign_max_secs.unwrap_or(12 * 3600);
    if a.download_ttl_secs > presign_max {
        anyhow::bail!(
            "attachments.download_ttl_secs ({}) is longer than integrations.presign_max_secs ({presign_max})",
            a.download_ttl_secs
        );
    }
    Ok(AttachmentSettings {
        scanner,
        scan_timeout: Duration::from_secs(a.scan_timeout_secs),
        download_ttl: Duration::from_secs(a.download_ttl_secs),
        thumbnails: ThumbnailLimits {
            max_pixels: a.thumbnail_max_pixels,
            max_source_bytes: a.thumbnail_max_source_bytes,
        },
    })
}

/// Job workers (returned, to be awaited at shutdown) and the janitor and schedules, until shutdown.
fn spawn_jobs(
    services: &Services,
    config: &byob_core::config::JobsConfig,
    stopped: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let idle = Duration::from_millis(config.poll_ms);
    let mut workers = Vec::new();
    for _ in 0..config.workers {
        let runner = services.runner.clone();
        let mut stopped = stopped.clone();
        workers.push(tokio::spawn(async move {
            runner.run_until(idle, async move { stopped.wait_for(|s| *s).await.map(|_| ()).unwrap_or(()) }).await;
        }));
    }
    let janitor = services.janitor.clone();
    let every = Duration::from_secs(config.janitor_interval_secs);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(e) = janitor.sweep().await {
                tracing::warn!(error = %e, "janitor pass failed");
            }
        }
    });
    let exports = services.exports.clone();
    let imports = services.imports.clone();
    let every = Duration::from_secs(config.schedule_tick_secs);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match exports.tick().await {
                Ok(0) => {}
                Ok(queued) => tracing::info!(queued, "scheduled export runs queued"),
                Err(e) => tracing::warn!(error = %e, "export schedule pass failed"),
            }
            match imports.tick().await {
                Ok(0) => {}
                Ok(queued) => tracing::info!(queued, "scheduled import runs queued"),
                Err(e) => tracing::warn!(error = %e, "import schedule pass failed"),
            }
        }
    });
    workers
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
