//! Verified tokens, kept so a token's signature is checked once.

use std::sync::Arc;

use quick_cache::sync::Cache;
use sha2::{Digest, Sha256};

use crate::identity::Identity;

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// Bounded by entry count; each entry also carries its own deadline: the configured TTL,
/// cut short by the token's `exp`. Keys are SHA-256 digests of the tokens, so the cache
/// never holds a usable credential.
///
/// Deadlines are on the host's monotonic clock and checked against the time the host
/// started on the request, which it read anyway: a hit reads no clock (the wall clock cost
/// a system-clock read on every request), and a wall-clock step cannot stretch an entry.
pub struct TokenCache {
    entries: Cache<[u8; 32], Entry>,
    ttl_seconds: u64,
}

#[derive(Clone)]
struct Entry {
    identity: Arc<Identity>,
    /// Nanoseconds on the host's monotonic clock; the entry is used for requests the host
    /// started before it.
    valid_until_ns: u64,
}

impl TokenCache {
    pub fn new(max_entries: usize, ttl_seconds: u64) -> Self {
        TokenCache {
            entries: Cache::new(max_entries.max(1)),
            ttl_seconds,
        }
    }

    pub fn key(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The identity cached under `key` for a request the host started at `started_ns`.
    pub fn get(&self, key: &[u8; 32], started_ns: u64) -> Option<Arc<Identity>> {
        let entry = self.entries.get(key)?;
        if started_ns < entry.valid_until_ns {
            Some(entry.identity)
        } else {
            self.entries.remove(key);
            None
        }
    }

    /// Keeps `identity` for the configured TTL from `started_ns`, and no longer than its
    /// token's `exp` (Unix seconds) allows from `unix_now_ns` (the wall clock, read after
    /// the request started).
    pub fn insert(
        &self,
        key: [u8; 32],
        identity: Arc<Identity>,
        expires_at: Option<u64>,
        started_ns: u64,
        unix_now_ns: u64,
    ) {
        let mut valid_for_ns = self.ttl_seconds.saturating_mul(NANOS_PER_SECOND);
        if let Some(exp) = expires_at {
            let exp_ns = exp.saturating_mul(NANOS_PER_SECOND);
            valid_for_ns = valid_for_ns.min(exp_ns.saturating_sub(unix_now_ns));
        }
        if valid_for_ns > 0 {
            self.entries.insert(
                key,
                Entry {
                    identity,
                    valid_until_ns: started_ns.saturating_add(valid_for_ns),
                },
            );
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn clear(&self) {
        self.entries.clear();
    }
}
