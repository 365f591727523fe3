//! The keyed GCRA state of every route, and the bound on how many keys it holds.
//!
//! Each filter owns a [`Bucket`]: a governor keyed limiter over a [`KeyStore`] (a DashMap of
//! 64-bit key hashes, never raw keys). All buckets of one extension share a [`Limiters`]
//! registry with one key budget (`max_keys`) and the sweep that forgets idle keys.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use governor::clock::{Clock, MonotonicClock};
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed, StateStore};
use governor::{Quota, RateLimiter};
use nohash_hasher::BuildNoHashHasher;

use crate::config::Limit;

/// The per-key GCRA cells of one filter, shared with its limiter so the filter can ask
/// whether a key is already known (governor's limiter does not expose its store).
///
/// The keys are already hashes, made with the process's secret SipHash keys (`key`): the
/// map uses them as they are rather than hashing them a second time. A client cannot aim
/// keys at one shard or bucket without knowing the secret keys.
#[derive(Clone, Default)]
pub struct KeyStore(Arc<DashMap<u64, InMemoryState, BuildNoHashHasher<u64>>>);

impl KeyStore {
    fn contains(&self, key: u64) -> bool {
        self.0.contains_key(&key)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// Forgets the key closest to refilled among the first [`EVICTION_SAMPLE`] (the
    /// smallest theoretical arrival time: the least recently or least heavily used), as
    /// nginx forgets its least recently used state when its zone is full. A sample, not the
    /// whole table, so a flood of newcomers into a full table costs little per request.
    /// True when a key was forgotten.
    fn evict_one(&self) -> bool {
        let oldest = self
            .0
            .iter()
            .take(EVICTION_SAMPLE)
            .map(|entry| (read_tat(entry.value()), *entry.key()))
            .min();
        oldest.is_some_and(|(_, key)| self.0.remove(&key).is_some())
    }
}

/// How many keys an eviction compares.
const EVICTION_SAMPLE: usize = 16;

/// A cell's theoretical arrival time, read without changing it (`None`: never counted).
fn read_tat(cell: &InMemoryState) -> Option<Nanos> {
    cell.measure_and_replace(&NotKeyed::NonKey, Err::<((), Nanos), _>)
        .err()
        .flatten()
}

impl StateStore for KeyStore {
    type Key = u64;

    fn measure_and_replace<T, F, E>(&self, key: &u64, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        // The read lock first: most requests come from keys already known.
        if let Some(cell) = self.0.get(key) {
            return cell.measure_and_replace(&NotKeyed::NonKey, f);
        }
        let cell = self.0.entry(*key).or_default();
        cell.measure_and_replace(&NotKeyed::NonKey, f)
    }
}

impl ShrinkableKeyedStateStore<u64> for KeyStore {
    fn retain_recent(&self, drop_below: Nanos) {
        // governor's own rule for its DashMap store: drop cells whose bucket is full again.
        ShrinkableKeyedStateStore::retain_recent(&*self.0, drop_below);
    }

    fn shrink_to_fit(&self) {
        self.0.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

type Limiter = RateLimiter<u64, KeyStore, MonotonicClock, StateInformationMiddleware>;

/// What one request's check decided.
pub enum Outcome {
    Allowed { remaining: u32 },
    Denied { wait: Duration },
}

/// One filter's limiter.
pub struct Bucket {
    limiter: Limiter,
    store: KeyStore,
    /// The time between two requests at the sustained rate.
    pub period: Duration,
    /// The requests a full bucket lets through at once.
    pub burst: u32,
}

impl Bucket {
    pub fn new(limit: &Limit) -> Result<Bucket, String> {
        let period = limit.window / limit.requests;
        let quota = Quota::with_period(period)
            .ok_or_else(|| "requests: too many for the window".to_string())?
            .allow_burst(NonZeroU32::new(limit.burst).ok_or("burst: must be at least 1")?);
        let store = KeyStore::default();
        let limiter: Limiter = RateLimiter::new(quota, store.clone(), MonotonicClock);
        Ok(Bucket {
            limiter,
            store,
            period,
            burst: limit.burst,
        })
    }

    pub fn check(&self, key: u64) -> Outcome {
        match self.limiter.check_key(&key) {
            Ok(snapshot) => Outcome::Allowed {
                remaining: snapshot.remaining_burst_capacity(),
            },
            Err(not_until) => Outcome::Denied {
                wait: not_until.wait_time_from(self.limiter.clock().now()),
            },
        }
    }
}

/// Every bucket of one extension instance and their shared key budget.
pub struct Limiters {
    max_keys: usize,
    /// Keys admitted since the last sweep counted them exactly; may run a little high when
    /// two requests admit the same new key at once, which the next sweep corrects.
    used: AtomicUsize,
    buckets: Mutex<Vec<Weak<Bucket>>>,
    sweep_interval: Duration,
    last_sweep: Mutex<Instant>,
}

impl Limiters {
    pub fn new(max_keys: usize, sweep_interval: Duration) -> Limiters {
        Limiters {
            max_keys,
            used: AtomicUsize::new(0),
            buckets: Mutex::new(Vec::new()),
            sweep_interval,
            last_sweep: Mutex::new(Instant::now()),
        }
    }

    pub fn register(&self, bucket: &Arc<Bucket>) {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        buckets.retain(|b| b.strong_count() > 0);
        buckets.push(Arc::downgrade(bucket));
    }

    /// Makes room for `key` in `bucket` when it is new. Known keys and keys the budget has
    /// room for are simply counted. When `max_keys` is reached, idle keys are swept (at most
    /// once per interval, so a flood of new keys cannot make every request sweep) and, if
    /// there is still no room, the least recently used of a sample is forgotten: a newcomer
    /// always gets a cell of its own and is never refused for the table being full. True
    /// when a key was forgotten to make room.
    pub fn admit(&self, bucket: &Bucket, key: u64) -> bool {
        if bucket.store.contains(key) || self.reserve() {
            return false;
        }
        if self.sweep_if_due() && self.reserve() {
            return false;
        }
        // The new key takes the forgotten key's place in the budget. This bucket first; when
        // it holds nothing, the others of the extension.
        if bucket.store.evict_one() {
            return true;
        }
        let buckets: Vec<Arc<Bucket>> = {
            let buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
            buckets.iter().filter_map(Weak::upgrade).collect()
        };
        // Nothing to forget anywhere (other requests took the keys first): counted over the
        // budget, which the next sweep recounts.
        buckets.iter().any(|other| other.store.evict_one())
    }

    fn reserve(&self) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used < self.max_keys).then_some(used + 1)
            })
            .is_ok()
    }

    fn sweep_if_due(&self) -> bool {
        let Ok(mut last) = self.last_sweep.try_lock() else {
            return false;
        };
        if last.elapsed() < self.sweep_interval {
            return false;
        }
        *last = Instant::now();
        drop(last);
        self.sweep();
        true
    }

    /// Forgets every key whose bucket has refilled (it holds nothing a fresh key would
    /// not), gives the memory back, and recounts the budget. Returns the keys kept.
    pub fn sweep(&self) -> usize {
        let buckets: Vec<Arc<Bucket>> = {
            let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
            buckets.retain(|b| b.strong_count() > 0);
            buckets.iter().filter_map(Weak::upgrade).collect()
        };
        let mut kept = 0;
        for bucket in buckets {
            let before = bucket.store.len();
            bucket.limiter.retain_recent();
            let after = bucket.store.len();
            if after < before {
                bucket.limiter.shrink_to_fit();
            }
            kept += after;
        }
        self.used.store(kept, Ordering::Release);
        *self
            .last_sweep
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        kept
    }

    pub fn keys(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    pub fn buckets(&self) -> usize {
        let buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        buckets.iter().filter(|b| b.strong_count() > 0).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KeySpec;

    fn bucket(requests: u32, burst: u32) -> Arc<Bucket> {
        let limit = Limit {
            requests,
            window: Duration::from_secs(1),
            burst,
            key: KeySpec::Ip,
            per_address: None,
        };
        Arc::new(Bucket::new(&limit).unwrap())
    }

    #[test]
    fn a_full_table_forgets_the_least_recently_used_key_for_a_newcomer() {
        let limiters = Limiters::new(2, Duration::from_secs(3600));
        let bucket = bucket(1, 1);
        limiters.register(&bucket);
        assert!(!limiters.admit(&bucket, 1));
        assert!(matches!(bucket.check(1), Outcome::Allowed { remaining: 0 }));
        std::thread::sleep(Duration::from_millis(5));
        assert!(!limiters.admit(&bucket, 2));
        assert!(matches!(bucket.check(2), Outcome::Allowed { remaining: 0 }));
        assert!(!limiters.admit(&bucket, 2), "known keys are not new");
        assert!(limiters.admit(&bucket, 3), "full: a key is forgotten");
        assert!(
            matches!(bucket.check(3), Outcome::Allowed { .. }),
            "the newcomer has a cell of its own"
        );
        assert!(!bucket.store.contains(1), "key 1 was used longest ago");
        assert!(bucket.store.contains(2));
        assert_eq!(limiters.keys(), 2);
    }

    #[test]
    fn a_sweep_forgets_refilled_keys_and_recounts() {
        // 1000 a second: a bucket refills within a millisecond.
        let limiters = Limiters::new(10, Duration::from_secs(3600));
        let bucket = bucket(1000, 1);
        limiters.register(&bucket);
        for key in 0..5 {
            limiters.admit(&bucket, key);
            bucket.check(key);
        }
        assert_eq!(limiters.keys(), 5);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(limiters.sweep(), 0);
        assert_eq!(limiters.keys(), 0);
        assert_eq!(limiters.buckets(), 1);
        drop(bucket);
        assert_eq!(limiters.buckets(), 0, "dropped filters are not kept alive");
    }
}
