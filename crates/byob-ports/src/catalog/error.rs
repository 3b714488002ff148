use thiserror::Error;

#[derive(Debug, Error)]
pub enum CatalogError {
    #[error("the catalog URL must start with `sqlite:` or `postgres:`")]
    UnsupportedUrl,
    #[error("a record with the same {0} already exists")]
    Conflict(&'static str),
    #[error("the catalog holds a value byob cannot read ({0}); was it edited by hand?")]
    Corrupt(String),
    #[error("catalog migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Other writers held the catalog for longer than byob waits (SQLite's lock past its busy timeout, a
    /// PostgreSQL deadlock or serialization failure, no pooled connection free in time): worth retrying.
    #[error("the catalog is busy with other writes: {0}")]
    Busy(#[source] sqlx::Error),
    #[error("catalog database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for CatalogError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err
            && db.is_unique_violation()
        {
            return Self::Conflict("name");
        }
        if is_busy(&err) {
            return Self::Busy(err);
        }
        Self::Database(err)
    }
}

/// SQLite's BUSY (5) and LOCKED (6) in any extended form; PostgreSQL's serialization failure, deadlock and lock
/// timeout; a pool with no connection free in time.
fn is_busy(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            match code.parse::<i64>() {
                Ok(sqlite) => matches!(sqlite & 0xff, 5 | 6),
                Err(_) => matches!(code.as_ref(), "40001" | "40P01" | "55P03"),
            }
        }
        _ => false,
    }
}
