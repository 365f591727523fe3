//! The embedded store: sharded maps in this process, bounded, with expiry.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use beginnings_abi::gcra_step;
use parking_lot::Mutex;

use super::{Store, StoreFuture, Take};

const SHARDS: usize = 16;
/// Keys kept at most (all shards together); past it, expired keys go first, then any.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

struct Entry {
    value: Value,
    expires: Option<Instant>,
}

enum Value {
    Integer(i64),
    Text(String),
    /// A GCRA bucket's theoretical arrival time, on this store's clock.
    Bucket(u64),
}

pub struct MemoryStore {
    shards: Vec<Mutex<HashMap<String, Entry>>>,
    hasher: RandomState,
    max_per_shard: usize,
    origin: Instant,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_capacity(DEFAULT_MAX_KEYS)
    }
}

impl MemoryStore {
    pub fn with_capacity(max_keys: usize) -> Self {
        MemoryStore {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            max_per_shard: max_keys.div_ceil(SHARDS).max(1),
            origin: Instant::now(),
        }
    }

    /// Runs `f` on the key's live entry (expired entries are removed first).
    fn with_entry<T>(
        &self,
        key: String,
        f: impl FnOnce(&mut HashMap<String, Entry>, String, Instant) -> T,
    ) -> T {
        let shard = &self.shards[self.hasher.hash_one(&key) as usize % SHARDS];
        let mut map = shard.lock();
        let now = Instant::now();
        if map
            .get(&key)
            .is_some_and(|entry| entry.expires.is_some_and(|at| at <= now))
        {
            map.remove(&key);
        }
        if !map.contains_key(&key) && map.len() >= self.max_per_shard {
            map.retain(|_, entry| entry.expires.is_none_or(|at| at > now));
            if map.len() >= self.max_per_shard
                && let Some(victim) = map.keys().next().cloned()
            {
                map.remove(&victim);
            }
        }
        f(&mut map, key, now)
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(Ok(value)))
}

impl Store for MemoryStore {
    fn incr(&self, key: String, delta: i64, ttl: Option<Duration>) -> StoreFuture<'_, i64> {
        let value = self.with_entry(key, |map, key, now| {
            let entry = map.entry(key).or_insert_with(|| Entry {
                value: Value::Integer(0),
                expires: ttl.map(|ttl| now + ttl),
            });
            let current = match entry.value {
                Value::Integer(n) => n,
                Value::Text(ref text) => text.parse().unwrap_or(0),
                Value::Bucket(_) => 0,
            };
            entry.value = Value::Integer(current + delta);
            current + delta
        });
        ready(value)
    }

    fn get(&self, key: String) -> StoreFuture<'_, Option<String>> {
        let value = self.with_entry(key, |map, key, _| {
            map.get(&key).map(|entry| match &entry.value {
                Value::Integer(n) => n.to_string(),
                Value::Text(text) => text.clone(),
                Value::Bucket(tat) => tat.to_string(),
            })
        });
        ready(value)
    }

    fn set(&self, key: String, value: String, ttl: Option<Duration>) -> StoreFuture<'_, ()> {
        self.with_entry(key, |map, key, now| {
            map.insert(
                key,
                Entry {
                    value: Value::Text(value),
                    expires: ttl.map(|ttl| now + ttl),
                },
            );
        });
        ready(())
    }

    fn delete(&self, key: String) -> StoreFuture<'_, bool> {
        ready(self.with_entry(key, |map, key, _| map.remove(&key).is_some()))
    }

    fn take(
        &self,
        key: String,
        interval_ns: u64,
        burst: u64,
        tokens: u64,
    ) -> StoreFuture<'_, Take> {
        let origin = self.origin;
        let outcome = self.with_entry(key, |map, key, now| {
            let now_ns = now.duration_since(origin).as_nanos() as u64;
            let tat = match map.get(&key).map(|entry| &entry.value) {
                Some(Value::Bucket(tat)) => *tat,
                _ => 0,
            };
            // The SDK's algorithm, so a bucket counts alike in the host and in an extension.
            let (step, new_tat) = gcra_step(tat, now_ns, interval_ns, burst, tokens);
            // A full bucket needs no entry: it expires when it would have refilled.
            map.insert(
                key,
                Entry {
                    value: Value::Bucket(new_tat),
                    expires: Some(now + Duration::from_nanos(new_tat.saturating_sub(now_ns))),
                },
            );
            Take {
                allowed: step.allowed,
                remaining: step.remaining,
                retry_after_ns: step.retry_after_ns,
                reset_after_ns: step.reset_after_ns,
            }
        });
        ready(outcome)
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}
