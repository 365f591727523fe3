//! The runtime's errors. Each says what failed, where (file, key, `module:Type`, library),
//! and, where there is one, what to do.

use std::net::SocketAddr;

use crate::chain::PipelineError;
use crate::config::ConfigError;
use crate::host::LoadErrors;
use crate::routing::RouteError;
use crate::store::StoreError;

/// Why an application could not start, or a reload was refused. Match on the kind, or ask
/// with the `is_*` checks; more kinds may come.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    Store(#[from] StoreError),
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[error("database: {0}")]
    Database(#[from] crate::builtin::DatabaseError),
    #[error("invalid listen address `{0}`: expected HOST:PORT")]
    Address(String),
    #[error("cannot reload: {0}")]
    Reload(#[from] ReloadError),
    /// The current-thread runtime a chain probe runs asynchronous hooks on.
    #[error("no runtime for the asynchronous hooks: {0}")]
    AsyncRuntime(#[source] std::io::Error),
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

impl Error {
    /// The configuration does not load or does not validate (every problem is listed).
    pub fn is_config(&self) -> bool {
        matches!(self, Error::Config(_))
    }

    /// An extension library could not be found, checked or loaded.
    pub fn is_load(&self) -> bool {
        matches!(self, Error::Load(_))
    }

    /// A route registered in code cannot be served (a conflict, a bad template, twice).
    pub fn is_route(&self) -> bool {
        matches!(self, Error::Route(_))
    }

    /// An extension's startup hook failed.
    pub fn is_startup(&self) -> bool {
        matches!(self, Error::Startup { .. })
    }

    /// The shared store could not be made; [`Error::store_error`] says how.
    pub fn is_store(&self) -> bool {
        matches!(self, Error::Store(_))
    }

    /// The store's own error, for `is_timeout`, `is_unreachable` and the rest.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            Error::Store(error) => Some(error),
            _ => None,
        }
    }

    /// A reload was refused before anything was loaded; a reload whose configuration is
    /// wrong reports that instead ([`Error::is_config`]).
    pub fn is_reload(&self) -> bool {
        matches!(self, Error::Reload(_))
    }

    /// The listening address is invalid or cannot be bound.
    pub fn is_bind(&self) -> bool {
        matches!(self, Error::Bind { .. } | Error::Address(_))
    }
}

/// Why a reload could not even start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    #[error("the application was not made from a configuration file")]
    NoConfigFile,
    /// The task that builds the next generation panicked or was cancelled.
    #[error("the reload task failed: {0}")]
    TaskFailed(String),
}

/// Why a command sent with [`ExtensionHandle::command`](crate::ExtensionHandle::command)
/// brought no answer. Each names the extension (`module:Type`) and the command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The extension answered with an error (an unknown command, a refused argument, ...).
    #[error("{extension}: {message}")]
    Failed {
        extension: String,
        command: String,
        message: String,
    },
    /// The extension panicked running the command; the SDK caught it.
    #[error("{extension}: {message}")]
    Panicked {
        extension: String,
        command: String,
        message: String,
    },
    /// The extension's answer is not JSON.
    #[error("{extension}: answered invalid JSON: {source}")]
    InvalidAnswer {
        extension: String,
        command: String,
        source: serde_json::Error,
    },
}

impl CommandError {
    /// The extension the command was sent to, as `module:Type`.
    pub fn extension(&self) -> &str {
        match self {
            CommandError::Failed { extension, .. }
            | CommandError::Panicked { extension, .. }
            | CommandError::InvalidAnswer { extension, .. } => extension,
        }
    }

    /// The command's name.
    pub fn command(&self) -> &str {
        match self {
            CommandError::Failed { command, .. }
            | CommandError::Panicked { command, .. }
            | CommandError::InvalidAnswer { command, .. } => command,
        }
    }

    /// The extension panicked (a bug in it, not a refusal).
    pub fn is_panic(&self) -> bool {
        matches!(self, CommandError::Panicked { .. })
    }

    /// The extension answered, but not with JSON.
    pub fn is_invalid_answer(&self) -> bool {
        matches!(self, CommandError::InvalidAnswer { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::Error;
    use crate::store::StoreError;

    #[test]
    fn a_store_that_cannot_be_made_is_a_store_error_whose_kind_can_be_asked() {
        let error = Error::from(StoreError::InvalidConfig("invalid Redis URL".into()));
        assert!(error.is_store() && !error.is_config(), "{error:?}");
        assert!(error.store_error().is_some_and(StoreError::is_config));
    }
}
