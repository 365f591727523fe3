//! The shared store behind the host's `store_*` services: counters, keys with expiry and
//! GCRA buckets, in process (the default) or in Redis, so several instances share limits
//! and revocations. Every operation is bounded by a timeout; an unreachable store is an
//! error the extension's `on_store_error` policy handles, never a hung request.

mod memory;
mod redis;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use beginnings_abi::ffi::TakeOutcome;

use crate::builtin::metrics::registry;

pub use memory::MemoryStore;
pub use redis::RedisStore;

/// How long one store operation may take before it counts as failed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(50);

pub type StoreResult<T> = Result<T, String>;
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// A backend. Keys arrive already namespaced by module.
pub trait Store: Send + Sync {
    fn incr(&self, key: String, delta: i64, ttl: Option<Duration>) -> StoreFuture<'_, i64>;
    fn get(&self, key: String) -> StoreFuture<'_, Option<String>>;
    fn set(&self, key: String, value: String, ttl: Option<Duration>) -> StoreFuture<'_, ()>;
    fn delete(&self, key: String) -> StoreFuture<'_, bool>;
    fn take(
        &self,
        key: String,
        interval_ns: u64,
        burst: u64,
        tokens: u64,
    ) -> StoreFuture<'_, TakeOutcome>;
    /// A one-line description for logs and `beginnings check` (`memory`, `redis://..`).
    fn describe(&self) -> String;
}

/// Which store serves, and how long operations may take.
struct Active {
    config: StoreConfig,
    store: Arc<dyn Store>,
    timeout: Duration,
}

fn active() -> &'static ArcSwap<Active> {
    static ACTIVE: std::sync::OnceLock<ArcSwap<Active>> = std::sync::OnceLock::new();
    ACTIVE.get_or_init(|| {
        ArcSwap::from_pointee(Active {
            config: StoreConfig::Memory,
            store: Arc::new(MemoryStore::default()),
            timeout: DEFAULT_TIMEOUT,
        })
    })
}

/// What `app.shared_store` names: `memory` or a `redis://HOST:PORT/DB` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    Memory,
    Redis(String),
}

impl StoreConfig {
    pub fn parse(value: &str) -> Result<StoreConfig, String> {
        match value {
            "memory" => Ok(StoreConfig::Memory),
            url if url.starts_with("redis://") || url.starts_with("rediss://") => {
                Ok(StoreConfig::Redis(url.to_string()))
            }
            other => Err(format!(
                "expected `memory` or a redis:// URL, found `{other}`"
            )),
        }
    }
}

/// Makes `config` the process's shared store. The same configuration keeps the store it
/// has (a reload must not forget limits and revocations held in memory); a Redis store
/// connects lazily and reconnects by itself; `check` asks [`ping`] whether it is reachable.
pub fn configure(config: &StoreConfig, timeout: Duration) -> Result<(), String> {
    let current = active().load_full();
    let store: Arc<dyn Store> = if current.config == *config {
        current.store.clone()
    } else {
        let store: Arc<dyn Store> = match config {
            StoreConfig::Memory => Arc::new(MemoryStore::default()),
            StoreConfig::Redis(url) => Arc::new(RedisStore::new(url)?),
        };
        tracing::info!(store = %store.describe(), "shared store configured");
        store
    };
    active().store(Arc::new(Active {
        config: config.clone(),
        store,
        timeout,
    }));
    Ok(())
}

/// Whether the configured store answers within its timeout.
pub async fn ping() -> StoreResult<()> {
    run(|store| store.get("beginnings:ping".into()))
        .await
        .map(|_| ())
}

/// Set while the store is failing, so an outage is logged once, not per request.
static FAILING: AtomicBool = AtomicBool::new(false);

/// Runs one operation on the active store under its timeout, and keeps the outage log
/// and the error counter.
pub(crate) async fn run<T, F>(operation: F) -> StoreResult<T>
where
    F: for<'a> FnOnce(&'a dyn Store) -> StoreFuture<'a, T>,
{
    let active = active().load_full();
    let outcome = match tokio::time::timeout(active.timeout, operation(&*active.store)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("no answer within {:?}", active.timeout)),
    };
    match &outcome {
        Ok(_) => {
            if FAILING.swap(false, Ordering::Relaxed) {
                tracing::info!(store = %active.store.describe(), "shared store answers again");
            }
        }
        Err(error) => {
            let errors = registry().define_counter(
                "store_errors_total",
                "shared store operations that failed or timed out",
            );
            registry().counter_add(errors, 1);
            if !FAILING.swap(true, Ordering::Relaxed) {
                tracing::error!(store = %active.store.describe(), "shared store failing: {error}");
            }
        }
    }
    outcome
}
