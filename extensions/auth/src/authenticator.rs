//! What every filter of the extension shares: the verifiers, the token cache, the counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use beginnings_abi::json::{Value, json};
use beginnings_abi::{Counter, Error, Host, PreparedName, Request};

use crate::answer::Answers;
use crate::api_key::ApiKeyStore;
use crate::cache::TokenCache;
use crate::config::AuthConfig;
use crate::identity::Identity;
use crate::jwt::JwtVerifier;
use crate::revocation::Revocation;

/// Why a request is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No credentials the extension accepts (RFC 6750: no `error` attribute).
    Missing,
    /// Credentials were presented but are not valid; the reason is safe to quote.
    Invalid(&'static str),
}

pub struct Authenticator {
    host: Host,
    jwt: Option<JwtVerifier>,
    api_keys: Option<ApiKeyStore>,
    cache: Option<TokenCache>,
    pub revocation: Option<Arc<Revocation>>,
    pub answers: Answers,
    pub stats: Stats,
    /// `Authorization`, read on every request: its name checked by the host once (ABI 1.2).
    pub authorization: PreparedName,
}

impl Authenticator {
    pub fn new(config: AuthConfig, host: Host) -> Result<Self, Error> {
        if config.jwt.is_none() && config.api_keys.is_none() {
            return Err(Error::new(
                "configure jwt, api_keys or both: without them no request can authenticate",
            ));
        }
        if config.cache_tokens && config.cache_max_entries == 0 {
            return Err(Error::new("cache_max_entries: must be at least 1"));
        }
        let answers = Answers::new(&config)?;
        let revocation = Revocation::new(&config, host)?.map(Arc::new);
        let jwt = config.jwt.map(JwtVerifier::new).transpose()?;
        let api_keys = config.api_keys.map(ApiKeyStore::new).transpose()?;
        let cache = (config.cache_tokens && jwt.is_some())
            .then(|| TokenCache::new(config.cache_max_entries, config.cache_ttl_seconds));
        Ok(Authenticator {
            host,
            jwt,
            api_keys,
            cache,
            revocation,
            answers,
            stats: Stats::new(host),
            authorization: host.prepare_name("authorization")?,
        })
    }

    /// The identity behind the request's credentials. A bearer token wins over an API key.
    pub fn verifier(&self) -> Option<&JwtVerifier> {
        self.jwt.as_ref()
    }

    pub fn authenticate(&self, request: &Request<'_>) -> Result<Arc<Identity>, Failure> {
        if let Some(token) = request
            .header_by(&self.authorization)
            .and_then(bearer_token)
        {
            return self.verify_token(token, request.started_ns());
        }
        if let Some(store) = &self.api_keys
            && let Some(presented) = request.header(store.header())
        {
            return store
                .find(presented)
                .ok_or(Failure::Invalid("unknown api key"));
        }
        Err(Failure::Missing)
    }

    /// The identity of `token`, on a request the host started at `started_ns`.
    fn verify_token(&self, token: &str, started_ns: u64) -> Result<Arc<Identity>, Failure> {
        let Some(verifier) = &self.jwt else {
            return Err(Failure::Invalid("bearer tokens are not accepted"));
        };
        let key = self.cache.as_ref().map(|_| TokenCache::key(token));
        if let (Some(cache), Some(key)) = (&self.cache, &key)
            && let Some(identity) = cache.get(key, started_ns)
        {
            self.stats.cache_hits.add();
            return Ok(identity);
        }
        self.stats.verifications.add();
        let verified = verifier.verify(token).map_err(Failure::Invalid)?;
        let identity = Arc::new(verified.identity);
        if let (Some(cache), Some(key)) = (&self.cache, key) {
            let unix_now_ns = self.host.unix_time_ns();
            cache.insert(
                key,
                identity.clone(),
                verified.expires_at,
                started_ns,
                unix_now_ns,
            );
        }
        Ok(identity)
    }

    pub fn command(&self, name: &str, argument: &Value) -> Result<Value, Error> {
        match name {
            "revoke" => match (&self.revocation, &self.jwt) {
                (Some(revocation), Some(verifier)) => revocation.command(argument, verifier),
                _ => Err(Error::new(
                    "revoke: the revocation list is off (set revocation: true)",
                )),
            },
            "stats" => Ok(json!({
                "verifications": self.stats.verifications.get(),
                "cache_hits": self.stats.cache_hits.get(),
                "cache_entries": self.cache.as_ref().map_or(0, TokenCache::len),
                "accepted": self.stats.accepted.get(),
                "rejected": self.stats.rejected.get(),
                "forbidden": self.stats.forbidden.get(),
                "revoked": self.stats.revoked.get(),
            })),
            "clear_cache" => {
                if let Some(cache) = &self.cache {
                    cache.clear();
                }
                Ok(json!({"cleared": true}))
            }
            other => Err(Error::new(format!(
                "unknown command `{other}` (expected stats, clear_cache or revoke)"
            ))),
        }
    }
}

/// The token of `Authorization: Bearer <token>` (the scheme is case-insensitive).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A count readable by the `stats` command and exported as a host counter.
pub struct Count {
    value: AtomicU64,
    counter: Counter,
}

impl Count {
    fn new(host: Host, name: &str, help: &str) -> Self {
        Count {
            value: AtomicU64::new(0),
            counter: host.counter(name, help),
        }
    }

    pub fn add(&self) {
        self.value.fetch_add(1, Ordering::Relaxed);
        self.counter.add(1);
    }

    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}

pub struct Stats {
    pub verifications: Count,
    pub cache_hits: Count,
    pub accepted: Count,
    pub rejected: Count,
    pub forbidden: Count,
    pub revoked: Count,
}

impl Stats {
    fn new(host: Host) -> Self {
        Stats {
            verifications: Count::new(host, "verifications", "JWT signature and claim checks"),
            cache_hits: Count::new(
                host,
                "cache_hits",
                "tokens found in the verified-token cache",
            ),
            accepted: Count::new(host, "accepted", "requests authenticated and allowed"),
            rejected: Count::new(
                host,
                "rejected",
                "requests answered 401 or redirected to login",
            ),
            forbidden: Count::new(
                host,
                "forbidden",
                "requests answered 403 for a role or scope",
            ),
            revoked: Count::new(host, "revoked", "requests refused for a revoked token"),
        }
    }
}
