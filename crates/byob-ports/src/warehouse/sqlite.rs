//! The embedded SQLite warehouse: a file in the data dir, so byob works with no database server at all.

use std::path::Path;

use sqlx::{
    SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions},
};

/// The name under which every org sees the embedded warehouse.
pub const LOCAL_CONNECTION: &str = "local";

/// Opens the warehouse file, creating it on first start.
///
/// # Errors
/// When the file cannot be created or opened.
pub async fn open_local_warehouse(path: &Path) -> Result<SqlitePool, sqlx::Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
    }
    let options =
        SqliteConnectOptions::new().filename(path).create_if_missing(true).journal_mode(SqliteJournalMode::Wal);
    let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
    sqlx::query("SELECT 1").execute(&pool).await?;
    Ok(pool)
}
