//! The extension's configuration and the per-route `rate_limit` setting.

use std::net::IpAddr;
use std::time::Duration;

use beginnings_abi::Error;
use beginnings_abi::json::Value;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

/// The entry under `extensions: "rate_limit:RateLimitExtension"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Proxies whose `X-Forwarded-For` is believed (CIDRs or single addresses).
    #[serde(default, deserialize_with = "networks")]
    pub trusted_proxies: Vec<IpNet>,
    /// The most client keys remembered at once, over all routes.
    #[serde(default = "defaults::max_keys")]
    pub max_keys: usize,
    /// How often keys whose bucket has refilled are forgotten.
    #[serde(default = "defaults::sweep_interval_seconds")]
    pub sweep_interval_seconds: u64,
    /// IPv6 clients are keyed by this prefix (a client usually owns a whole /64).
    #[serde(default = "defaults::ipv6_prefix")]
    pub ipv6_prefix: u8,
    /// The limit for routes that say `rate_limit: true`, and the fallbacks of
    /// `window_seconds` and `key` for routes that give only some fields.
    #[serde(default)]
    pub default: Option<LimitSpec>,
    /// Where the buckets live: in this process, or in the host's shared store so that
    /// every instance counts against one limit.
    #[serde(default)]
    pub store: StoreKind,
    /// What a request gets when the shared store cannot answer.
    #[serde(default)]
    pub on_store_error: StorePolicy,
}

/// `store: local | shared`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    #[default]
    Local,
    Shared,
}

/// `on_store_error: open | closed`: let the request through uncounted, or answer 503.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorePolicy {
    /// A store outage must not take the API down with it.
    #[default]
    Open,
    Closed,
}

mod defaults {
    pub fn max_keys() -> usize {
        100_000
    }
    pub fn sweep_interval_seconds() -> u64 {
        10
    }
    pub fn ipv6_prefix() -> u8 {
        64
    }
}

impl RateLimitConfig {
    pub fn check(&self) -> Result<(), Error> {
        if self.max_keys == 0 {
            return Err("max_keys: must be at least 1".into());
        }
        if self.sweep_interval_seconds == 0 {
            return Err("sweep_interval_seconds: must be at least 1".into());
        }
        if self.ipv6_prefix > 128 {
            return Err("ipv6_prefix: must be between 0 and 128".into());
        }
        if let Some(default) = &self.default {
            default.resolve(None).map_err(|e| format!("default.{e}"))?;
        }
        Ok(())
    }
}

/// A limit as written, in the extension's `default` or a route's `rate_limit` map.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSpec {
    pub requests: Option<u32>,
    pub window_seconds: Option<u64>,
    pub burst: Option<u32>,
    pub key: Option<KeySpec>,
    /// With a key the client writes itself (`api_key`, `header:NAME`): the requests one
    /// client address may send per window over all its values. Default: `requests`.
    pub per_address: Option<u32>,
}

/// The longest a bucket may take to refill: beyond it a limit means nothing, and the GCRA
/// arithmetic (nanoseconds in 64 bits) would overflow.
pub const MAX_REFILL_SECONDS: u64 = 365 * 24 * 60 * 60;

impl LimitSpec {
    /// Fills the fields left out from `fallback` (the extension's `default`): the window and
    /// the key; `requests` only when the route names none, and `burst` only with it, since a
    /// burst is only meaningful next to the rate it belongs to.
    pub fn resolve(&self, fallback: Option<&LimitSpec>) -> Result<Limit, String> {
        let (requests, burst) = match (self.requests, fallback) {
            (Some(requests), _) => (requests, self.burst),
            (
                None,
                Some(LimitSpec {
                    requests: Some(requests),
                    burst,
                    ..
                }),
            ) => (*requests, self.burst.or(*burst)),
            (None, _) => return Err("requests: missing".into()),
        };
        if requests == 0 {
            return Err("requests: must be at least 1".into());
        }
        let window_seconds = self
            .window_seconds
            .or(fallback.and_then(|f| f.window_seconds))
            .unwrap_or(60);
        if window_seconds == 0 {
            return Err("window_seconds: must be at least 1".into());
        }
        if window_seconds > MAX_REFILL_SECONDS {
            return Err(format!(
                "window_seconds: {window_seconds} is more than {MAX_REFILL_SECONDS} (365 days)"
            ));
        }
        let burst = burst.unwrap_or(requests);
        if burst == 0 {
            return Err("burst: must be at least 1".into());
        }
        // The whole burst refills in window_seconds * burst / requests.
        if u128::from(window_seconds) * u128::from(burst)
            > u128::from(MAX_REFILL_SECONDS) * u128::from(requests)
        {
            return Err(format!(
                "burst: {burst} takes longer than {MAX_REFILL_SECONDS} seconds (365 days) to \
                 refill at {requests} per {window_seconds} seconds"
            ));
        }
        let key = self
            .key
            .clone()
            .or_else(|| fallback.and_then(|f| f.key.clone()))
            .unwrap_or(KeySpec::Ip);
        let per_address = match (self.per_address, key.written_by_client()) {
            (Some(0), _) => return Err("per_address: must be at least 1".into()),
            (Some(_), false) => {
                return Err(
                    "per_address: applies only to key: api_key or header:NAME (values the \
                     client writes itself)"
                        .into(),
                );
            }
            (own, true) => Some(
                own.or_else(|| fallback.and_then(|f| f.per_address))
                    .unwrap_or(requests),
            ),
            (None, false) => None,
        };
        Ok(Limit {
            requests,
            window: Duration::from_secs(window_seconds),
            burst,
            key,
            per_address,
        })
    }
}

/// A route's resolved limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub requests: u32,
    pub window: Duration,
    pub burst: u32,
    pub key: KeySpec,
    /// The requests (and burst) one client address may send per window over all its key
    /// values; `Some` exactly when the key is one the client writes itself.
    pub per_address: Option<u32>,
}

impl Limit {
    /// The limit every value of one client address counts against, when the key is one
    /// the client writes itself: `per_address` per window, its burst scaled like the
    /// route's (so it refills in the same time; by default it is the route's own limit).
    pub fn address_limit(&self) -> Option<Limit> {
        let requests = self.per_address?;
        let burst =
            (u64::from(requests) * u64::from(self.burst)).div_ceil(u64::from(self.requests));
        Some(Limit {
            requests,
            window: self.window,
            burst: u32::try_from(burst).unwrap_or(u32::MAX),
            key: KeySpec::Ip,
            per_address: None,
        })
    }
}

/// What a client is recognized by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySpec {
    Ip,
    /// The request value `auth.subject`, else the IP.
    User,
    /// The `X-API-Key` header (hashed), else the IP.
    ApiKey,
    /// A header (hashed, lowercase name), else the IP.
    Header(String),
}

impl KeySpec {
    /// Whether the client writes the value itself (and could change it at every request).
    pub fn written_by_client(&self) -> bool {
        matches!(self, KeySpec::ApiKey | KeySpec::Header(_))
    }
}

impl<'de> Deserialize<'de> for KeySpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "ip" => Ok(KeySpec::Ip),
            "user" => Ok(KeySpec::User),
            "api_key" => Ok(KeySpec::ApiKey),
            other => match other.strip_prefix("header:") {
                Some(name)
                    if !name.is_empty()
                        && name.bytes().all(|b| {
                            b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b)
                        }) =>
                {
                    Ok(KeySpec::Header(name.to_ascii_lowercase()))
                }
                _ => Err(serde::de::Error::custom(format!(
                    "{other:?} is not a key (use ip, user, api_key or header:NAME)"
                ))),
            },
        }
    }
}

/// A route's `rate_limit` setting: a count per minute, `true` for the extension's default,
/// `false` for none, or a map.
pub fn route_limit(value: &Value, default: Option<&LimitSpec>) -> Result<Option<Limit>, String> {
    let spec = match value {
        Value::Null | Value::Bool(false) => return Ok(None),
        Value::Bool(true) => match default {
            Some(default) => default.clone(),
            None => return Err("`true` needs a `default` in the extension's configuration".into()),
        },
        Value::Number(number) => {
            let requests = number
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| format!("{number} is not a count of requests"))?;
            LimitSpec {
                requests: Some(requests),
                ..LimitSpec::default()
            }
        }
        // The path names the field (`key: ...`, `burst: ...`), as for the extension's own entry.
        Value::Object(_) => serde_path_to_error::deserialize(value).map_err(|e| e.to_string())?,
        other => {
            return Err(format!(
                "expected a number, true/false or a map, found {other}"
            ));
        }
    };
    spec.resolve(default).map(Some)
}

fn networks<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    let texts = Vec::<String>::deserialize(deserializer)?;
    texts
        .iter()
        .enumerate()
        .map(|(index, text)| {
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "entry {index}: {text:?} is not an address or CIDR"
                    ))
                })
        })
        .collect()
}
