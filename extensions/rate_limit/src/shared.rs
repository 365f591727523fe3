//! `store: shared`: the GCRA bucket lives in the host's shared store (in memory, or in Redis
//! for several instances), taken one token per request through the asynchronous hook.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use beginnings_abi::{Action, Counter, Rate, Reply, Request, SharedStore};
use sha2::{Digest, Sha256};

use crate::config::{Limit, StorePolicy};
use crate::filter::{KeyPart, RateLimitFilter, RateState, ceil_seconds, counted_method, tighter};

/// One route's limit in the shared store.
pub struct SharedLimit {
    pub store: SharedStore,
    pub rate: Rate,
    /// The rate every value of one client address counts against, for keys the client
    /// writes itself.
    pub address_rate: Option<Rate>,
    pub on_error: StorePolicy,
    /// Requests whose limit could not be checked.
    pub store_errors: Counter,
}

fn rate(limit: &Limit) -> Rate {
    Rate::new(
        u64::from(limit.requests),
        limit.window,
        u64::from(limit.burst),
    )
}

impl SharedLimit {
    pub fn new(store: SharedStore, limit: &Limit, on_error: StorePolicy, errors: Counter) -> Self {
        SharedLimit {
            store,
            rate: rate(limit),
            address_rate: limit.address_limit().as_ref().map(rate),
            on_error,
            store_errors: errors,
        }
    }

    /// Takes one token for `key`, after one for `address` when there is one (as the local
    /// buckets do); a store failure is answered per `on_store_error`.
    pub async fn check(
        &self,
        filter: &RateLimitFilter,
        state: &mut RateState,
        key: &str,
        address: Option<&str>,
    ) -> Action {
        let mut counted = None;
        if let (Some(address), Some(rate)) = (address, self.address_rate) {
            match self.take(filter, state, address, rate).await {
                Ok(taken) => counted = Some(taken),
                Err(action) => return action,
            }
        }
        match self.take(filter, state, key, self.rate).await {
            Ok(taken) => {
                state.counted = Some(tighter(taken, counted));
                Action::Continue
            }
            Err(action) => action,
        }
    }

    /// One token for `key`: `Ok(remaining, reset)`, or the answer to give instead (a 429,
    /// or per `on_store_error`; `Continue` when the store failed and the policy is open).
    async fn take(
        &self,
        filter: &RateLimitFilter,
        state: &mut RateState,
        key: &str,
        rate: Rate,
    ) -> Result<(u32, u64), Action> {
        match self.store.take(key, rate, 1).await {
            Ok(take) if take.allowed => {
                let remaining = u32::try_from(take.remaining).unwrap_or(u32::MAX);
                let reset = ceil_seconds(Duration::from_nanos(take.reset_after_ns));
                Ok((remaining, reset))
            }
            Ok(take) => {
                let wait = Duration::from_nanos(take.retry_after_ns);
                let reset = ceil_seconds(Duration::from_nanos(take.reset_after_ns));
                Err(filter.refuse(state, wait, reset))
            }
            Err(_) => {
                // The host logs the outage once and counts every failed operation; the
                // answer carries no RateLimit-* headers, since nothing was counted.
                self.store_errors.add(1);
                state.counted = None;
                Err(match self.on_error {
                    StorePolicy::Open => Action::Continue,
                    StorePolicy::Closed => Action::Respond(
                        Reply::error(503, "rate limit unavailable").header("retry-after", "1"),
                    ),
                })
            }
        }
    }
}

/// The bucket's key in the shared store. Every instance must derive the same key, so it is
/// a SHA-256 digest (not the per-process SipHash of `store: local`) of the method (`HEAD`
/// counted as `GET`), the route template and what identifies the client; header values and
/// API keys are never stored.
pub fn store_key(request: &Request<'_>, part: &KeyPart<'_>) -> String {
    let mut digest = Sha256::new();
    // NUL cannot occur in a method or a route template, so the fields cannot run together.
    digest.update(counted_method(request.method()).as_bytes());
    digest.update([0]);
    digest.update(request.route().as_bytes());
    digest.update([0]);
    match part {
        KeyPart::Ip(ip) => {
            digest.update([0]);
            // The address's text, as every instance writes it, without a String for it.
            write!(digest, "{ip}").expect("a digest takes any input");
        }
        KeyPart::Value(tag, value) => {
            digest.update([*tag]);
            digest.update(value);
        }
    }
    let digest = digest.finalize();
    let mut key = String::with_capacity(3 + 32);
    key.push_str("rl:");
    for byte in &digest[..16] {
        write!(key, "{byte:02x}").expect("a String takes any text");
    }
    key
}
