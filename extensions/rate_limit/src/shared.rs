//! `store: shared`: the GCRA bucket lives in the host's shared store (in memory, or in Redis
//! for several instances), taken one token per request through the asynchronous hook.

use std::time::Duration;

use beginnings_abi::{Action, Counter, Rate, Reply, Request, SharedStore};
use sha2::{Digest, Sha256};

use crate::config::{Limit, StorePolicy};
use crate::filter::{KeyPart, RateLimitFilter, RateState, ceil_seconds};

/// One route's limit in the shared store.
pub struct SharedLimit {
    pub store: SharedStore,
    pub rate: Rate,
    pub on_error: StorePolicy,
    /// Requests whose limit could not be checked.
    pub store_errors: Counter,
}

impl SharedLimit {
    pub fn new(store: SharedStore, limit: &Limit, on_error: StorePolicy, errors: Counter) -> Self {
        SharedLimit {
            store,
            rate: Rate::new(
                u64::from(limit.requests),
                limit.window,
                u64::from(limit.burst),
            ),
            on_error,
            store_errors: errors,
        }
    }

    /// Takes one token for `key`; a store failure is answered per `on_store_error`.
    pub async fn check(
        &self,
        filter: &RateLimitFilter,
        state: &mut RateState,
        key: &str,
    ) -> Action {
        match self.store.take(key, self.rate, 1).await {
            Ok(take) if take.allowed => {
                let remaining = u32::try_from(take.remaining).unwrap_or(u32::MAX);
                let reset = ceil_seconds(Duration::from_nanos(take.reset_after_ns));
                state.counted = Some((remaining, reset));
                Action::Continue
            }
            Ok(take) => {
                let wait = Duration::from_nanos(take.retry_after_ns);
                let reset = ceil_seconds(Duration::from_nanos(take.reset_after_ns));
                filter.refuse(state, wait, reset)
            }
            Err(_) => {
                // The host logs the outage once and counts every failed operation; the
                // answer carries no RateLimit-* headers, since nothing was counted.
                self.store_errors.add(1);
                match self.on_error {
                    StorePolicy::Open => Action::Continue,
                    StorePolicy::Closed => Action::Respond(
                        Reply::error(503, "rate limit unavailable").header("retry-after", "1"),
                    ),
                }
            }
        }
    }
}

/// The bucket's key in the shared store. Every instance must derive the same key, so it is
/// a SHA-256 digest (not the per-process SipHash of `store: local`) of the method, the route
/// template and what identifies the client; header values and API keys are never stored.
pub fn store_key(request: &Request<'_>, part: KeyPart<'_>) -> String {
    let mut digest = Sha256::new();
    // NUL cannot occur in a method or a route template, so the fields cannot run together.
    digest.update(request.method().as_bytes());
    digest.update([0]);
    digest.update(request.route().as_bytes());
    digest.update([0]);
    match part {
        KeyPart::Ip(ip) => {
            digest.update([0]);
            digest.update(ip.to_string().as_bytes());
        }
        KeyPart::Value(tag, value) => {
            digest.update([tag]);
            digest.update(value);
        }
        KeyPart::Overflow => digest.update([255]),
    }
    let digest = digest.finalize();
    let mut key = String::with_capacity(3 + 32);
    key.push_str("rl:");
    for byte in &digest[..16] {
        key.push_str(&format!("{byte:02x}"));
    }
    key
}
