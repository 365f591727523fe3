//! `app.shared_store`: where extensions keep what outlives a request.

use std::time::Duration;

/// How long one store operation may take before it counts as failed.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_millis(50);

/// What `app.shared_store` names: `memory` or a `redis://HOST:PORT/DB` URL (which needs the
/// `redis` feature).
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
                if !cfg!(feature = "redis") {
                    return Err(redis_missing());
                }
                Ok(StoreConfig::Redis(url.to_string()))
            }
            other => Err(format!(
                "expected `memory` or a redis:// URL, found `{other}`"
            )),
        }
    }
}

/// Why a Redis store cannot be used by a binary built without the `redis` feature.
pub(crate) fn redis_missing() -> String {
    super::needs_feature("redis://", "redis")
}
