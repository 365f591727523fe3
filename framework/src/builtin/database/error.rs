//! What can go wrong with the database, and the answers handlers give for it.

use std::path::PathBuf;

use http::StatusCode;

use crate::routing::{IntoResponse, Rejection, Response};

/// Why the database could not be opened or a query failed. Each message is complete: the
/// underlying error is part of it rather than a separate source.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("cannot create the directory of the database {path}: {reason}")]
    Directory {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("cannot connect to the database {url}: {reason}")]
    Connect { url: String, reason: sqlx::Error },
    #[error("database migrations in {directory}: {reason}")]
    Migrations {
        directory: PathBuf,
        reason: sqlx::migrate::MigrateError,
    },
    /// A URL whose backend this binary was built without (a configuration made in code; a
    /// loaded one is refused at its key).
    #[error("{0}")]
    FeatureMissing(String),
    /// Every connection stayed busy for the whole acquire timeout.
    #[error("no database connection became free within the acquire timeout")]
    Busy,
    #[error("database query failed: {0}")]
    Query(sqlx::Error),
}

impl From<sqlx::Error> for DatabaseError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut => DatabaseError::Busy,
            other => DatabaseError::Query(other),
        }
    }
}

impl DatabaseError {
    /// The status a request that met this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            DatabaseError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            DatabaseError::Query(sqlx::Error::RowNotFound) => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A busy pool answers 503 (the client may retry), a missing row 404; every other failure is
/// logged in full and answered 500 without its details, which may name tables and columns.
impl From<DatabaseError> for Rejection {
    fn from(error: DatabaseError) -> Self {
        let status = error.status();
        let message = match &error {
            DatabaseError::Busy => "database busy: no connection became free in time",
            DatabaseError::Query(sqlx::Error::RowNotFound) => "not found",
            _ => {
                tracing::error!(error = %error, "database error");
                "database error"
            }
        };
        Rejection::new(status, message)
    }
}

impl From<sqlx::Error> for Rejection {
    fn from(error: sqlx::Error) -> Self {
        DatabaseError::from(error).into()
    }
}

impl IntoResponse for DatabaseError {
    fn into_response(self) -> Response {
        Rejection::from(self).into_response()
    }
}
