//! The HTTP server loop. hyper's own, rather than `axum::serve`, for the one setting axum does not expose: a
//! client must finish a request's headers within `http.header_read_timeout_secs`, so a slowloris (headers a byte
//! at a time) holds a connection that long at most. Connections are capped and closed when idle by the listener
//! (`byob_api::listener`); shutdown lets in-flight requests finish.

use std::time::Duration;

use axum::{Router, serve::Listener};
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::sync::watch;

/// Serves `app` on `listener` until `stop` turns true, then waits for in-flight requests.
pub(crate) async fn serve<L: Listener>(
    mut listener: L,
    app: Router,
    header_read_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            (io, _) = listener.accept() => {
                let service = TowerToHyperService::new(app.clone());
                let mut builder = http1::Builder::new();
                builder.timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
                let connection = graceful.watch(builder.serve_connection(TokioIo::new(io), service));
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
    }
    graceful.shutdown().await;
}
