//! The Redis (or Valkey) store: one multiplexed connection that reconnects by itself, and
//! the GCRA step as a server-side script so it stays atomic across instances.

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::{Store, StoreError, StoreFuture, Take};

/// One GCRA step in Redis, on the server's clock (microseconds), atomic per key.
/// KEYS[1] = bucket; ARGV = interval_us, burst, tokens.
const TAKE_SCRIPT: &str = r#"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tokens = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local increment = interval * tokens
local burst_offset = interval * burst
local new_tat = tat + increment
local allow_at = new_tat - burst_offset
if now < allow_at or increment > burst_offset then
  local remaining = math.floor(math.max(burst_offset - (tat - now), 0) / interval)
  local retry = -1
  if increment <= burst_offset then retry = allow_at - now end
  return {0, math.min(remaining, burst), retry, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(math.ceil((new_tat - now) / 1000), 1))
return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
"#;

pub struct RedisStore {
    url: String,
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    take: redis::Script,
    /// While the server is unreachable: when the next connection attempt may start, the
    /// backoff after that, and why the last attempt failed. Requests in between fail at
    /// once, with that reason, instead of each dialing.
    retry: Mutex<Retry>,
}

struct Retry {
    next_attempt: Instant,
    backoff: Duration,
    last_failure: String,
}

impl Retry {
    fn now() -> Retry {
        Retry {
            next_attempt: Instant::now(),
            backoff: FIRST_BACKOFF,
            last_failure: String::new(),
        }
    }
}

/// Backoff between connection attempts while the server is down.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl RedisStore {
    pub fn new(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::InvalidConfig(format!("invalid Redis URL `{url}`: {e}")))?;
        Ok(RedisStore {
            url: url.to_string(),
            client,
            connection: OnceCell::new(),
            take: redis::Script::new(TAKE_SCRIPT),
            retry: Mutex::new(Retry::now()),
        })
    }

    /// The shared connection, made on first use; once made it reconnects by itself after
    /// a failed command.
    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        if let Some(connection) = self.connection.get() {
            return Ok(connection.clone());
        }
        {
            let retry = self.retry.lock();
            if Instant::now() < retry.next_attempt {
                return Err(self.unreachable(format!("{}; retrying later", retry.last_failure)));
            }
        }
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(Duration::from_secs(1)));
        let made = self
            .connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await;
        match made {
            Ok(connection) => {
                *self.retry.lock() = Retry::now();
                Ok(connection.clone())
            }
            Err(error) => {
                let mut retry = self.retry.lock();
                retry.next_attempt = Instant::now() + retry.backoff;
                retry.backoff = (retry.backoff * 2).min(MAX_BACKOFF);
                retry.last_failure = error.to_string();
                Err(self.unreachable(error.to_string()))
            }
        }
    }

    fn unreachable(&self, reason: String) -> StoreError {
        StoreError::Unreachable {
            store: self.describe(),
            reason,
        }
    }

    /// A failed command: a lost connection (the manager reconnects by itself) or the
    /// server's own refusal.
    fn failed(&self, error: redis::RedisError) -> StoreError {
        if error.is_io_error() || error.is_connection_dropped() {
            self.unreachable(error.to_string())
        } else {
            StoreError::Backend {
                store: self.describe(),
                message: error.to_string(),
            }
        }
    }
}

fn millis(ttl: Duration) -> u64 {
    (ttl.as_millis() as u64).max(1)
}

impl Store for RedisStore {
    fn incr(&self, key: String, delta: i64, ttl: Option<Duration>) -> StoreFuture<'_, i64> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let mut pipe = redis::pipe();
            pipe.atomic().incr(&key, delta);
            if let Some(ttl) = ttl {
                // NX: the expiry is set when the key is created, not pushed back on every use.
                pipe.cmd("PEXPIRE")
                    .arg(&key)
                    .arg(millis(ttl))
                    .arg("NX")
                    .ignore();
            }
            let (value,): (i64,) = pipe
                .query_async(&mut connection)
                .await
                .map_err(|error| self.failed(error))?;
            Ok(value)
        })
    }

    fn get(&self, key: String) -> StoreFuture<'_, Option<String>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            redis::cmd("GET")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .map_err(|error| self.failed(error))
        })
    }

    fn set(&self, key: String, value: String, ttl: Option<Duration>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let mut command = redis::cmd("SET");
            command.arg(&key).arg(value);
            if let Some(ttl) = ttl {
                command.arg("PX").arg(millis(ttl));
            }
            command
                .query_async(&mut connection)
                .await
                .map_err(|error| self.failed(error))
        })
    }

    fn delete(&self, key: String) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let removed: i64 = redis::cmd("DEL")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .map_err(|error| self.failed(error))?;
            Ok(removed > 0)
        })
    }

    fn take(
        &self,
        key: String,
        interval_ns: u64,
        burst: u64,
        tokens: u64,
    ) -> StoreFuture<'_, Take> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let interval_us = interval_ns.div_ceil(1000).max(1);
            let (allowed, remaining, retry_us, reset_us): (i64, i64, i64, i64) = self
                .take
                .key(&key)
                .arg(interval_us)
                .arg(burst)
                .arg(tokens)
                .invoke_async(&mut connection)
                .await
                .map_err(|error| self.failed(error))?;
            let ns = |us: i64| (us.max(0) as u64).saturating_mul(1000);
            Ok(Take {
                allowed: allowed == 1,
                remaining: remaining.max(0) as u64,
                retry_after_ns: if retry_us < 0 { u64::MAX } else { ns(retry_us) },
                reset_after_ns: ns(reset_us),
            })
        })
    }

    fn describe(&self) -> String {
        // The URL may carry a password; show only the host part.
        let host = self
            .url
            .split('@')
            .next_back()
            .unwrap_or(&self.url)
            .trim_start_matches("redis://")
            .trim_start_matches("rediss://");
        format!("redis://{host}")
    }
}
