//! `cors:CorsExtension`: cross-origin resource sharing for the routes it applies to. It
//! answers preflights (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) itself
//! and adds `Access-Control-Allow-Origin` and its companions to the answers of allowed
//! cross-origin requests. Requests without `Origin` are left as they are.
//!
//! ```yaml
//! extensions:
//!   "cors:CorsExtension":
//!     allow_origins: ["https://app.example.com", "https://*.example.com"]  # or "*"; default []
//!     allow_methods: [GET, HEAD, POST, PUT, PATCH, DELETE]                 # the default; "*" echoes
//!     allow_headers: [content-type, authorization, x-requested-with]      # the default; "*" echoes
//!     expose_headers: [x-total-count]                                      # default []
//!     allow_credentials: true                                              # default false
//!     max_age: 600                                                         # seconds, the default
//!     cache_preflight: true                                                # default false
//! routes:
//!   patterns:
//!     "/internal/*": {cors_enabled: false}            # the extension stays out of these routes
//!     "/public/*": {cors: {allow_origins: "*", allow_credentials: false}}  # per-route override
//! ```
//!
//! The extension applies to every route where `cors_enabled` is not `false` and the
//! (possibly overridden) `allow_origins` is not empty.

mod config;
mod filter;
mod origin;
mod policy;

use beginnings_abi::json::{Map, Value};
use beginnings_abi::log::warn;
use beginnings_abi::{Error, Extension, Host, Route, export_extension};
use serde::Deserialize;

pub use config::{CorsConfig, List};
pub use filter::{CorsFilter, Outcome, PREFLIGHT_VARY};
pub use policy::Policy;

use filter::Counters;

/// The route setting that switches the extension off for a route (on unless `false`).
pub const ROUTE_SWITCH: &str = "cors_enabled";
/// The route setting holding a map that overrides the extension's keys for a route.
pub const ROUTE_OVERRIDES: &str = "cors";

/// The route settings the extension reads: its field names are the keys
/// ([`ROUTE_SWITCH`], [`ROUTE_OVERRIDES`]); routes whose values for them are equal share
/// one filter. Absent and `null` are the same.
#[derive(Debug, Default, Deserialize)]
pub struct RouteSettings {
    /// `false` keeps the extension out of the route (on by default).
    #[serde(default)]
    pub cors_enabled: Option<bool>,
    /// A map of the extension's keys laid over its entry for the route. Kept as JSON and
    /// read only when the extension is on for the route, so that its errors name the key
    /// under `cors.`.
    #[serde(default)]
    pub cors: Option<Value>,
}

pub struct CorsExtension {
    config: CorsConfig,
    /// The extension's own policy, used by every route without a `cors:` map.
    policy: Policy,
    counters: Counters,
    host: Host,
}

impl CorsExtension {
    /// The policy for a route: the extension's, or its configuration with the route's
    /// `cors:` map laid over it.
    fn route_policy(&self, route: &Route<'_, RouteSettings>) -> Result<Policy, Error> {
        let overrides = match &route.settings.cors {
            None | Some(Value::Null) => return Ok(self.policy.clone()),
            Some(value) => Map::<String, Value>::deserialize(value)
                .map_err(|e| Error::new(format!("route {}: {ROUTE_OVERRIDES}: {e}", route.path)))?,
        };
        let config = self.config.overlay(&overrides)?;
        let policy = Policy::compile(&config, Some(&overrides))?;
        // Said once for the extension's own entry; a route's map that brings it says it again.
        if (overrides.contains_key("allow_origins") || overrides.contains_key("allow_credentials"))
            && !null_with_credentials(&self.config)
        {
            warn_null_with_credentials(&config, &format!("route {}: cors.", route.path));
        }
        Ok(policy)
    }
}

/// True when `allow_origins` lists `null` and `allow_credentials` is on.
fn null_with_credentials(config: &CorsConfig) -> bool {
    config.allow_credentials && config.allow_origins.0.iter().any(|o| o.trim() == "null")
}

/// `Origin: null` is sent by sandboxed iframes, `data:` and `file:` documents and some
/// redirects, so any site can produce it: allowing it with credentials lets any site read
/// the user's answers. Legal, so a warning, not an error.
fn warn_null_with_credentials(config: &CorsConfig, place: &str) {
    if null_with_credentials(config) {
        warn!(
            "cors:CorsExtension: {place}allow_origins lists \"null\" with allow_credentials: \
             true: any site can send Origin: null (from a sandboxed iframe) and read \
             credentialed answers; list real origins instead"
        );
    }
}

impl Extension for CorsExtension {
    const DESCRIPTION: &'static str =
        "answers CORS preflights and adds Access-Control-* headers for allowed origins";
    const CONFIG_SUMMARY: &'static str = "allow_origins: [origin | pattern] or \"*\" = []; \
        allow_methods: [method] or \"*\" = [GET, HEAD, POST, PUT, PATCH, DELETE]; \
        allow_headers: [name] or \"*\" = [content-type, authorization, x-requested-with]; \
        expose_headers: [name] or \"*\" = []; allow_credentials: bool = false; \
        max_age: seconds = 600; cache_preflight: bool = false; \
        route settings: cors_enabled: bool = true, cors: {any of these keys}";

    type Config = CorsConfig;
    type RouteConfig = RouteSettings;
    type Filter = CorsFilter;

    fn new(config: CorsConfig, host: Host) -> Result<Self, Error> {
        let policy = Policy::compile(&config, None)?;
        let counters = Counters {
            denied: host.counter(
                "denied",
                "cross-origin requests and preflights whose origin, method or headers the route does not allow",
            ),
            cache_hits: host.counter("preflight_cache_hits", "preflights answered from the cache"),
            cache_misses: host.counter(
                "preflight_cache_misses",
                "preflight answers built for the cache",
            ),
        };
        warn_null_with_credentials(&config, "");
        if policy.origins.is_empty() {
            warn!(
                "allow_origins is empty: the extension applies only to routes whose `cors` map lists origins"
            );
        }
        Ok(CorsExtension {
            config,
            policy,
            counters,
            host,
        })
    }

    /// No filter where `cors_enabled` is `false` (whatever the `cors` map holds) or where
    /// the resulting `allow_origins` is empty; a malformed `cors` map is an error.
    fn filter(&self, route: &Route<'_, RouteSettings>) -> Result<Option<CorsFilter>, Error> {
        if !route.settings.cors_enabled.unwrap_or(true) {
            return Ok(None);
        }
        // The common case, asked for every route: no policy to compile or copy.
        if matches!(route.settings.cors, None | Some(Value::Null)) && self.policy.origins.is_empty()
        {
            return Ok(None);
        }
        let policy = self.route_policy(route)?;
        if policy.origins.is_empty() {
            return Ok(None);
        }
        CorsFilter::new(policy, self.counters, self.host).map(Some)
    }
}

export_extension!(CorsExtension);

#[cfg(test)]
mod tests;
