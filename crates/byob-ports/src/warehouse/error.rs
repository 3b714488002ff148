use thiserror::Error;

#[derive(Debug, Error)]
pub enum WarehouseError {
    /// The platform cannot be reached or refused the login.
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("table {0} already exists; load with mode `append` or `replace`")]
    TableExists(String),
    #[error("table {0} does not exist; load with mode `create`")]
    TableMissing(String),
    /// The platform refused the statement or a value (a constraint, a type it would not take).
    #[error("{0}")]
    Rejected(String),
    /// The rows stopped before their end (the reader failed or the job was cancelled); nothing was written.
    #[error("the load was stopped before its end; nothing was written")]
    Aborted,
    #[error("{0}")]
    Unsupported(String),
    #[error("database error: {0}")]
    Database(String),
    /// The host resolves to an address byob does not connect to on a tenant's behalf.
    #[error(transparent)]
    AddressRefused(#[from] crate::net::NetError),
}

impl From<sqlx::Error> for WarehouseError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) => Self::Rejected(db.message().to_string()),
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
                Self::Connect(e.to_string())
            }
            _ => Self::Database(e.to_string()),
        }
    }
}

impl From<crate::net::route::RouteError> for WarehouseError {
    fn from(e: crate::net::route::RouteError) -> Self {
        match e {
            crate::net::route::RouteError::Net(refused) => Self::AddressRefused(refused),
            other => Self::Connect(other.to_string()),
        }
    }
}
