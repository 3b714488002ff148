//! SQLite: the embedded default catalog. A file in the data dir, WAL journal so readers never wait on the
//! writer, a busy timeout so concurrent writers queue instead of failing, and write transactions that take the
//! writer's lock when they begin (`sql::begin_write`), so none can fail half-way for having read first.

use sqlx::{Executor, any::AnyPoolOptions};

use super::{CatalogError, SqlCatalog};

pub(super) async fn connect(url: &str, max_connections: u32) -> Result<SqlCatalog, CatalogError> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections.max(1))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // The busy timeout first, so even switching the journal mode waits for a writer instead of failing.
                conn.execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")
                    .await?;
                Ok(())
            })
        })
        .connect(url)
        .await?;
    Ok(SqlCatalog::new(pool, "sqlite"))
}
