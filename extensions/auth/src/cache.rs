//! Verified tokens, kept so a token's signature is checked once.

use std::sync::Arc;

use quick_cache::sync::Cache;
use sha2::{Digest, Sha256};

use crate::identity::Identity;

/// Bounded by entry count; each entry also carries its own deadline: the configured TTL,
/// cut short by the token's `exp`. Keys are SHA-256 digests of the tokens, so the cache
/// never holds a usable credential.
pub struct TokenCache {
    entries: Cache<[u8; 32], Entry>,
    ttl_seconds: u64,
}

#[derive(Clone)]
struct Entry {
    identity: Arc<Identity>,
    /// Unix seconds; the entry is used only while the clock is before it.
    valid_until: u64,
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

    pub fn get(&self, key: &[u8; 32], now: u64) -> Option<Arc<Identity>> {
        let entry = self.entries.get(key)?;
        if now < entry.valid_until {
            Some(entry.identity)
        } else {
            self.entries.remove(key);
            None
        }
    }

    pub fn insert(
        &self,
        key: [u8; 32],
        identity: Arc<Identity>,
        expires_at: Option<u64>,
        now: u64,
    ) {
        let mut valid_until = now.saturating_add(self.ttl_seconds);
        if let Some(exp) = expires_at {
            valid_until = valid_until.min(exp);
        }
        if now < valid_until {
            self.entries.insert(
                key,
                Entry {
                    identity,
                    valid_until,
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
