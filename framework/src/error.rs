//! The runtime's errors. Each says what failed, where (file, key, `module:Type`, library),
//! and, where there is one, what to do.

use std::net::SocketAddr;

use crate::config::ConfigError;
use crate::loader::LoadErrors;

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
    ValueOrder(#[from] Box<crate::pipeline::ValueOrderError>),
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

/// A route the application registered that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("route `{route}` conflicts with route `{existing}`")]
    Conflict { route: String, existing: String },
    #[error("route `{route}` is not a valid path template: {reason}")]
    InvalidTemplate { route: String, reason: String },
    #[error("route {method} `{route}` is registered twice")]
    Duplicate { method: String, route: String },
}

/// An extension that failed while the per-route chains were built.
#[derive(Debug, thiserror::Error)]
#[error("extension `{extension}` failed for route `{route}`: {message}")]
pub struct PipelineError {
    pub extension: String,
    pub route: String,
    pub message: String,
}
