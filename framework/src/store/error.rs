//! Why the shared store failed, as kinds a caller can branch on: an extension's
//! `on_store_error` policy cares whether the store is down or slow, `beginnings check` whether
//! the configuration is wrong, and a log wants the backend's own words.

use std::time::Duration;

/// Why a store operation failed, or why a store could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The operation had no answer within the store's timeout (`app.store_timeout_ms`).
    #[error("{store} gave no answer within {after:?}")]
    Timeout { store: String, after: Duration },
    /// The store cannot be reached: the connection was refused or dropped, or the last
    /// attempt failed and the next one waits out its backoff.
    #[error("cannot connect to {store}: {reason}")]
    Unreachable { store: String, reason: String },
    /// The store answered, with an error of its own (a wrong type, a refused script, ...).
    #[error("{store} answered with an error: {message}")]
    Backend { store: String, message: String },
    /// `app.shared_store` names a store this binary cannot use: not `memory` or a redis://
    /// URL, a URL that does not parse, or Redis without the `redis` feature.
    #[error("{0}")]
    InvalidConfig(String),
}

impl StoreError {
    /// The operation ran out of time; the store may answer the next one.
    pub fn is_timeout(&self) -> bool {
        matches!(self, StoreError::Timeout { .. })
    }

    /// The store could not be reached at all.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, StoreError::Unreachable { .. })
    }

    /// The store was reached and refused the operation.
    pub fn is_backend(&self) -> bool {
        matches!(self, StoreError::Backend { .. })
    }

    /// The configuration names a store that cannot be used; retrying will not help.
    pub fn is_config(&self) -> bool {
        matches!(self, StoreError::InvalidConfig(_))
    }
}
