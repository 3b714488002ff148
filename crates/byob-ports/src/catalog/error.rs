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
        Self::Database(err)
    }
}
