//! PostgreSQL: the catalog for scale-out, shared by any number of byob processes.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;

use super::{CatalogError, SqlCatalog};

pub(super) async fn connect(url: &str, max_connections: u32) -> Result<SqlCatalog, CatalogError> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?;
    Ok(SqlCatalog::new(pool, "postgres"))
}
