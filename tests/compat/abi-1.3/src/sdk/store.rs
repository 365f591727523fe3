//! The shared store as an extension sees it: counters, keys with expiry and a GCRA rate
//! limiter, kept by the host in memory or in Redis so several instances share them.

use std::fmt;
use std::time::Duration;

use abi_stable::std_types::{RResult, RStr};

use super::Host;
use crate::ffi::TakeOutcome;

/// The store could not answer (unreachable, timed out); apply the extension's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shared store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// A rate for [`SharedStore::take`]: `burst` tokens at most, refilled evenly over `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u64,
    pub per: Duration,
}

impl Rate {
    /// `requests` per `window`, with a bucket that holds `burst` (at least 1).
    pub fn new(requests: u64, window: Duration, burst: u64) -> Rate {
        Rate {
            burst: burst.max(1),
            per: window / requests.max(1) as u32,
        }
    }
}

/// The outcome of taking tokens.
pub type Take = TakeOutcome;

/// The host's shared store; keys are private to the extension's module.
#[derive(Debug, Clone, Copy)]
pub struct SharedStore {
    host: Host,
}

fn result<T>(outcome: RResult<T, abi_stable::std_types::RString>) -> Result<T, StoreError> {
    outcome
        .into_result()
        .map_err(|e| StoreError(e.into_string()))
}

fn millis(ttl: Option<Duration>) -> u64 {
    ttl.map_or(0, |ttl| (ttl.as_millis() as u64).max(1))
}

impl SharedStore {
    pub(crate) fn new(host: Host) -> Self {
        SharedStore { host }
    }

    /// Adds `delta` to the counter at `key`; a new key expires after `ttl`.
    pub async fn incr(
        &self,
        key: &str,
        delta: i64,
        ttl: Option<Duration>,
    ) -> Result<i64, StoreError> {
        let incr = self.host.handle.services().store_incr();
        // SAFETY: the context and vtable stay valid for the process; the key is copied by
        // the host before this call returns.
        let future = unsafe {
            incr(
                self.host.handle.ctx,
                RStr::from_str(key),
                delta,
                millis(ttl),
            )
        };
        result(future.await)
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let get = self.host.handle.services().store_get();
        // SAFETY: as in `incr`.
        let future = unsafe { get(self.host.handle.ctx, RStr::from_str(key)) };
        result(future.await).map(|value| value.into_option().map(|v| v.into_string()))
    }

    pub async fn set(
        &self,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
    ) -> Result<(), StoreError> {
        let set = self.host.handle.services().store_set();
        // SAFETY: as in `incr`.
        let future = unsafe {
            set(
                self.host.handle.ctx,
                RStr::from_str(key),
                RStr::from_str(value),
                millis(ttl),
            )
        };
        result(future.await)
    }

    pub async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let delete = self.host.handle.services().store_delete();
        // SAFETY: as in `incr`.
        let future = unsafe { delete(self.host.handle.ctx, RStr::from_str(key)) };
        result(future.await)
    }

    /// Takes `tokens` from the GCRA bucket at `key`, atomically across instances.
    pub async fn take(&self, key: &str, rate: Rate, tokens: u64) -> Result<Take, StoreError> {
        let take = self.host.handle.services().store_take();
        let interval = rate.per.as_nanos().min(u64::MAX as u128) as u64;
        // SAFETY: as in `incr`.
        let future = unsafe {
            take(
                self.host.handle.ctx,
                RStr::from_str(key),
                interval.max(1),
                rate.burst,
                tokens,
            )
        };
        result(future.await)
    }
}

impl Host {
    /// The host's shared store.
    pub fn store(&self) -> SharedStore {
        SharedStore::new(*self)
    }
}

/// One GCRA step, the arithmetic every store backend shares: with the bucket's theoretical
/// arrival time `tat` (ns, on any clock that `now` uses), take `tokens` from a bucket of
/// `burst` tokens refilled one per `interval` ns. Returns the outcome and the new `tat` to
/// store (unchanged when refused).
#[doc(hidden)]
pub fn gcra_step(tat: u64, now: u64, interval: u64, burst: u64, tokens: u64) -> (Take, u64) {
    // Signed and wide: near the clock's origin `allow_at` may lie before zero.
    let (now_i, interval_i) = (now as i128, interval.max(1) as i128);
    let tat_i = (tat as i128).max(now_i);
    let increment = interval_i * tokens as i128;
    let burst_offset = interval_i * burst as i128;
    let new_tat = tat_i + increment;
    let allow_at = new_tat - burst_offset;
    let clamp = |value: i128| value.clamp(0, u64::MAX as i128) as u64;
    if now_i < allow_at || increment > burst_offset {
        let remaining = clamp((burst_offset - (tat_i - now_i)) / interval_i);
        let outcome = Take {
            allowed: false,
            remaining: remaining.min(burst),
            retry_after_ns: if increment > burst_offset {
                u64::MAX
            } else {
                clamp(allow_at - now_i)
            },
            reset_after_ns: clamp(tat_i - now_i),
        };
        return (outcome, clamp(tat_i));
    }
    let outcome = Take {
        allowed: true,
        remaining: clamp((now_i - allow_at) / interval_i),
        retry_after_ns: 0,
        reset_after_ns: clamp(new_tat - now_i),
    };
    (outcome, clamp(new_tat))
}

#[cfg(test)]
mod tests {
    use super::gcra_step;

    #[test]
    fn a_bucket_of_three_allows_three_then_refuses_until_a_token_returns() {
        let (interval, burst) = (1_000, 3);
        let mut tat = 0;
        // Near the clock's origin too: `allow_at` falls before zero there.
        let now = 500;
        for expected_remaining in [2, 1, 0] {
            let (outcome, next) = gcra_step(tat, now, interval, burst, 1);
            assert!(outcome.allowed);
            assert_eq!(outcome.remaining, expected_remaining);
            tat = next;
        }
        let (refused, unchanged) = gcra_step(tat, now, interval, burst, 1);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_ns, 1_000);
        assert_eq!(unchanged, tat);
        let (later, _) = gcra_step(tat, now + 1_000, interval, burst, 1);
        assert!(later.allowed, "one interval later a token is back");
        let (too_many, _) = gcra_step(0, now, interval, burst, 4);
        assert!(!too_many.allowed);
        assert_eq!(too_many.retry_after_ns, u64::MAX, "never fits the bucket");
    }
}
