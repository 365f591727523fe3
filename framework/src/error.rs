//! The runtime's errors. Each says what failed, where (file, key, `module:Type`, library),
//! and, where there is one, what to do.

use std::net::SocketAddr;

use crate::chain::PipelineError;
use crate::config::ConfigError;
use crate::host::LoadErrors;
use crate::routing::RouteError;

/// Why an application could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Load(#[from] LoadErrors),
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    ValueOrder(#[from] Box<crate::chain::ValueOrderError>),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("extension `{extension}` failed to start: {message}")]
    Startup { extension: String, message: String },
    #[error("shared store: {0}")]
    Store(String),
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[error("database: {0}")]
    Database(#[from] crate::builtin::DatabaseError),
    #[error("invalid listen address `{0}`: expected HOST:PORT")]
    Address(String),
    #[error("cannot reload: {0}")]
    Reload(String),
    #[error("server failed on {addr}: {source}")]
    Serve {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl From<crate::chain::ChainError> for Error {
    fn from(error: crate::chain::ChainError) -> Self {
        match error {
            crate::chain::ChainError::Pipeline(error) => Error::Pipeline(error),
            crate::chain::ChainError::ValueOrder(error) => Error::ValueOrder(error),
        }
    }
}
