//! The shared store behind the host's `store_*` services: counters, keys with expiry and
//! GCRA buckets, in process (the default) or in Redis, so several instances share limits
//! and revocations. Every operation is bounded by a timeout; an unreachable store is an
//! error the extension's `on_store_error` policy handles, never a hung request.

mod error;
mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::telemetry::metrics::Registry;

pub use error::StoreError;
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;

pub use crate::config::{DEFAULT_STORE_TIMEOUT as DEFAULT_TIMEOUT, StoreConfig};

pub type StoreResult<T> = Result<T, StoreError>;

/// One step of a rate bucket (GCRA): whether the tokens were taken, and its timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Take {
    pub allowed: bool,
    /// Tokens left after this step.
    pub remaining: u64,
    /// When refused, how long until the tokens would be available.
    pub retry_after_ns: u64,
    /// How long until the bucket is full again.
    pub reset_after_ns: u64,
}
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// A backend. Keys arrive already namespaced by module.
pub trait Store: Send + Sync {
    fn incr(&self, key: String, delta: i64, ttl: Option<Duration>) -> StoreFuture<'_, i64>;
    fn get(&self, key: String) -> StoreFuture<'_, Option<String>>;
    fn set(&self, key: String, value: String, ttl: Option<Duration>) -> StoreFuture<'_, ()>;
    fn delete(&self, key: String) -> StoreFuture<'_, bool>;
    fn take(&self, key: String, interval_ns: u64, burst: u64, tokens: u64)
    -> StoreFuture<'_, Take>;
    /// A one-line description for logs and `beginnings check` (`memory`, `redis://..`).
    fn describe(&self) -> String;
}

/// One configured store and how long its operations may take. Each generation of the
/// runtime holds the one it was built with, through its extensions' host handles: a reload
/// that fails never changes the store the running generation uses. Everything here belongs
/// to one application: two in a process share no store, no counter and no outage flag.
pub struct SharedStore {
    config: StoreConfig,
    store: Arc<dyn Store>,
    timeout: Duration,
    /// The application's registry, where failed operations are counted.
    registry: Arc<Registry>,
    /// Set while the backend is failing, so an outage is logged once, not per request;
    /// shared by every generation that uses the same backend.
    failing: Arc<AtomicBool>,
}

impl SharedStore {
    /// A one-line description for logs (`memory`, `redis://..`).
    pub fn describe(&self) -> String {
        self.store.describe()
    }

    /// The registry the store counts its failures in (the application's).
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Whether the store answers within its timeout.
    pub async fn ping(&self) -> StoreResult<()> {
        run(self, |store| store.get("beginnings:ping".into()))
            .await
            .map(|_| ())
    }
}

/// The store a new generation will use for `config`. The same configuration keeps the
/// backend of `current`, the store the application serves with now (a reload must not
/// forget limits and revocations held in memory); a Redis store connects lazily and
/// reconnects by itself. The running generation is not touched.
pub fn prepare(
    config: &StoreConfig,
    timeout: Duration,
    registry: &Arc<Registry>,
    current: Option<&Arc<SharedStore>>,
) -> StoreResult<Arc<SharedStore>> {
    let same_backend = current
        .filter(|current| current.config == *config && Arc::ptr_eq(&current.registry, registry));
    if let Some(current) = same_backend {
        if current.timeout == timeout {
            // The same store: the extensions' host contexts, keyed by it, are reused too.
            return Ok(current.clone());
        }
        return Ok(Arc::new(SharedStore {
            config: config.clone(),
            store: current.store.clone(),
            timeout,
            registry: registry.clone(),
            failing: current.failing.clone(),
        }));
    }
    let store: Arc<dyn Store> = match config {
        StoreConfig::Memory => Arc::new(MemoryStore::default()),
        #[cfg(feature = "redis")]
        StoreConfig::Redis(url) => Arc::new(RedisStore::new(url)?),
        #[cfg(not(feature = "redis"))]
        StoreConfig::Redis(_) => {
            return Err(StoreError::InvalidConfig(crate::config::redis_missing()));
        }
    };
    tracing::info!(store = %store.describe(), "shared store configured");
    Ok(Arc::new(SharedStore {
        config: config.clone(),
        store,
        timeout,
        registry: registry.clone(),
        failing: Arc::new(AtomicBool::new(false)),
    }))
}

/// Runs one operation on the active store under its timeout, and keeps the outage log
/// and the error counter.
pub(crate) async fn run<T, F>(active: &SharedStore, operation: F) -> StoreResult<T>
where
    F: for<'a> FnOnce(&'a dyn Store) -> StoreFuture<'a, T>,
{
    let outcome = match tokio::time::timeout(active.timeout, operation(&*active.store)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(StoreError::Timeout {
            store: active.store.describe(),
            after: active.timeout,
        }),
    };
    match &outcome {
        Ok(_) => {
            if active.failing.swap(false, Ordering::Relaxed) {
                tracing::info!(store = %active.store.describe(), "shared store answers again");
            }
        }
        Err(error) => {
            let registry = &active.registry;
            let errors = registry.define_counter(
                "store_errors_total",
                "shared store operations that failed or timed out",
            );
            registry.counter_add(errors, 1);
            if !active.failing.swap(true, Ordering::Relaxed) {
                tracing::error!(store = %active.store.describe(), "shared store failing: {error}");
            }
        }
    }
    outcome
}
