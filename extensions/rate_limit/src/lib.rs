//! `rate_limit:RateLimitExtension`: per-route rate limits (GCRA, through governor) keyed by
//! client address, authenticated user, API key or any header. Answers `429 Too Many
//! Requests` with `Retry-After`; every counted answer carries `RateLimit-Limit`,
//! `RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy`.
//!
//! ```yaml
//! extensions:
//!   "rate_limit:RateLimitExtension":
//!     trusted_proxies: ["10.0.0.0/8"]     # whose X-Forwarded-For is believed; default []
//!     max_keys: 100000                    # clients remembered at once, all routes together
//!     sweep_interval_seconds: 10          # how often refilled (idle) keys are forgotten
//!     ipv6_prefix: 64                     # IPv6 clients are keyed by this prefix
//!     default: {requests: 60, window_seconds: 60, key: ip}   # for `rate_limit: true`
//!     store: local                        # or `shared`: one limit across instances
//!     on_store_error: open                # shared store down: let through (or `closed`: 503)
//! routes:
//!   exact:
//!     "/api/login": {rate_limit: 5}                      # 5 per minute per client IP
//!     "/api/search": {rate_limit: {requests: 100, window_seconds: 60, burst: 20, key: user}}
//!   patterns:
//!     "/api/*": {rate_limit: true}                       # the extension's default
//! ```
//!
//! Routes without `rate_limit` (or with `false`) are not limited. Every route (method and
//! path template; `HEAD` counted as `GET`) counts on its own, even when routes share one
//! configuration. Keys the client writes itself (`api_key`, `header:NAME`) also count
//! against the client address (`per_address`), so a made-up value buys no fresh limit.
//! When `max_keys` clients are remembered and a sweep frees no room, the least recently
//! used key of a sample is forgotten: memory stays bounded and a newcomer is never refused
//! for the table being full.
//!
//! With `store: shared` the buckets live in the host's shared store (`app.shared_store`:
//! in memory, or Redis for several instances) and the check runs in the asynchronous hook;
//! keys are SHA-256 digests so every instance derives the same one.

mod client;
mod config;
mod filter;
mod headers;
mod shared;
mod store;
#[cfg(test)]
mod tests;

use std::hash::RandomState;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use beginnings_abi::json::{Value, json};
use beginnings_abi::log::warn;
use beginnings_abi::{Counter, Error, Extension, Host, Route, export_extension};
use serde::Deserialize;

use crate::client::ClientIp;
pub use crate::config::RateLimitConfig;
use crate::config::{LimitSpec, route_limit};
pub use crate::config::{StoreKind, StorePolicy};
use crate::filter::Backend;
pub use crate::filter::RateLimitFilter;
use crate::headers::{CountHeaders, RouteHeaders};
use crate::shared::SharedLimit;
use crate::store::{Bucket, Limiters};

/// The route setting that turns limiting on and says how much.
pub const ROUTE_SETTING: &str = "rate_limit";

/// The route settings the extension reads (its `RouteConfig`): [`ROUTE_SETTING`] only, so
/// routes with equal `rate_limit` values share one filter.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RouteSettings {
    /// A count per minute, `true`, `false` or a map; read by the extension's own parser so
    /// that its errors say what a limit may be. `None` when absent or `null`.
    pub rate_limit: Option<Value>,
}

/// What every filter of one extension instance shares.
pub(crate) struct Shared {
    pub(crate) clients: ClientIp,
    pub(crate) hasher: RandomState,
    pub(crate) limiters: Limiters,
    /// `RateLimit-Remaining` and `RateLimit-Reset`, prepared value by value as they are sent.
    pub(crate) count_headers: CountHeaders,
}

pub struct RateLimitExtension {
    shared: Arc<Shared>,
    default: Option<LimitSpec>,
    sweep_interval: Duration,
    host: Host,
    stop: Arc<AtomicBool>,
    store: StoreKind,
    on_store_error: StorePolicy,
    rejected: Counter,
    evicted: Counter,
    store_errors: Counter,
}

impl Extension for RateLimitExtension {
    const DESCRIPTION: &'static str = "per-route rate limits (GCRA) by client IP, user, API key or header; 429 with Retry-After and RateLimit-* headers";
    const CONFIG_SUMMARY: &'static str = "trusted_proxies: [cidr] = []; max_keys: int = 100000; \
        sweep_interval_seconds: int = 10; ipv6_prefix: int = 64; default: {requests, \
        window_seconds = 60, burst = requests, key = ip|user|api_key|header:NAME, \
        per_address = requests} = none; \
        store: local|shared = local; on_store_error: open|closed = open; \
        route: rate_limit: N | true | false | {requests, window_seconds, burst, key, per_address}";

    type Config = RateLimitConfig;
    type RouteConfig = RouteSettings;
    type Filter = RateLimitFilter;

    fn new(config: RateLimitConfig, host: Host) -> Result<Self, Error> {
        config.check()?;
        let sweep_interval = Duration::from_secs(config.sweep_interval_seconds);
        Ok(RateLimitExtension {
            shared: Arc::new(Shared {
                clients: ClientIp::new(config.trusted_proxies, config.ipv6_prefix),
                hasher: RandomState::new(),
                limiters: Limiters::new(config.max_keys, sweep_interval),
                count_headers: CountHeaders::new(host)?,
            }),
            default: config.default,
            store: config.store,
            on_store_error: config.on_store_error,
            sweep_interval,
            host,
            stop: Arc::new(AtomicBool::new(false)),
            rejected: host.counter("rejected", "requests answered 429"),
            evicted: host.counter(
                "evicted",
                "clients forgotten before their bucket refilled, to make room for a new one (max_keys reached)",
            ),
            store_errors: host.counter(
                "store_errors",
                "requests whose limit could not be checked because the shared store failed",
            ),
        })
    }

    /// The route's filter; `None` when its `rate_limit` is absent, `null` or `false`. A
    /// malformed setting is an error naming the route and the key.
    fn filter(&self, route: &Route<'_, RouteSettings>) -> Result<Option<RateLimitFilter>, Error> {
        let problem = |e: String| Error::new(format!("route {}: {ROUTE_SETTING}: {e}", route.path));
        let value = route.settings.rate_limit.as_ref().unwrap_or(&Value::Null);
        let Some(limit) = route_limit(value, self.default.as_ref()).map_err(problem)? else {
            return Ok(None);
        };
        let backend = match self.store {
            StoreKind::Local => {
                let bucket = Arc::new(Bucket::new(&limit).map_err(problem)?);
                self.shared.limiters.register(&bucket);
                let by_address = match limit.address_limit() {
                    Some(address_limit) => {
                        let bucket = Arc::new(
                            Bucket::new(&address_limit)
                                .map_err(|e| problem(format!("per_address: {e}")))?,
                        );
                        self.shared.limiters.register(&bucket);
                        Some(bucket)
                    }
                    None => None,
                };
                Backend::Local { bucket, by_address }
            }
            StoreKind::Shared => {
                // The same bound as governor's: a period of zero cannot be a rate.
                if limit.window / limit.requests == Duration::ZERO {
                    return Err(problem("requests: too many for the window".into()));
                }
                Backend::Shared(SharedLimit::new(
                    self.host.store(),
                    &limit,
                    self.on_store_error,
                    self.store_errors,
                ))
            }
        };
        let headers = RouteHeaders::new(
            self.host,
            limit.requests,
            limit.window.as_secs(),
            limit.burst,
        )
        .map_err(|e| problem(e.to_string()))?;
        Ok(Some(RateLimitFilter {
            headers,
            limit,
            backend,
            shared: self.shared.clone(),
            rejected: self.rejected,
            evicted: self.evicted,
        }))
    }

    /// With `default: {key: user}`, the user `auth` sets: the host refuses an order where
    /// `auth` runs after this extension (every request would be counted by address).
    /// A `key: user` given only in a route's setting is not seen here.
    fn values_read(&self) -> Vec<String> {
        let keyed_by_user = (self.default.as_ref())
            .is_some_and(|spec| matches!(spec.key, Some(config::KeySpec::User)));
        if keyed_by_user {
            vec![filter::SUBJECT_VALUE.to_string()]
        } else {
            Vec::new()
        }
    }

    fn command(&self, name: &str, _argument: Value) -> Result<Value, Error> {
        let limiters = &self.shared.limiters;
        match name {
            "stats" => Ok(json!({"keys": limiters.keys(), "buckets": limiters.buckets()})),
            "sweep" => Ok(json!({"keys": limiters.sweep()})),
            other => Err(Error::new(format!(
                "RateLimitExtension has no command `{other}` (try stats or sweep)"
            ))),
        }
    }

    fn on_startup(&self) -> Result<(), Error> {
        let (shared, stop, host) = (self.shared.clone(), self.stop.clone(), self.host);
        let interval = self.sweep_interval;
        let started = self.host.spawn(async move {
            loop {
                host.sleep(interval).await;
                if stop.load(Ordering::Acquire) {
                    break;
                }
                shared.limiters.sweep();
            }
        });
        if !started {
            // Sweeps then happen only when the table is full (at most once per interval).
            warn!(
                "no host runtime for the periodic sweep; idle keys are forgotten only when max_keys is reached"
            );
        }
        Ok(())
    }

    fn on_shutdown(&self) -> Result<(), Error> {
        self.stop.store(true, Ordering::Release);
        Ok(())
    }
}

export_extension!(RateLimitExtension);
