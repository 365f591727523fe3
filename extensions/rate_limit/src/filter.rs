//! The per-route filter: finds the client's key, checks it, answers 429 or lets the
//! request through, and puts the `RateLimit-*` headers on the answer either way. The check
//! runs on the filter's own governor buckets (`store: local`, synchronous) or on the host's
//! shared store (`store: shared`, through the asynchronous hook).

use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use beginnings_abi::{Action, Counter, Error, Filter, Hooks, Reply, Request, Response};

use crate::Shared;
use crate::config::{KeySpec, Limit};
use crate::headers::RouteHeaders;
use crate::shared::SharedLimit;
use crate::store::{Bucket, Outcome};

/// The request value the auth extension sets to the authenticated subject.
pub(crate) const SUBJECT_VALUE: &str = "auth.subject";
const API_KEY_HEADER: &str = "x-api-key";

pub struct RateLimitFilter {
    pub(crate) limit: Limit,
    pub(crate) backend: Backend,
    pub(crate) shared: Arc<Shared>,
    /// `RateLimit-Limit` and `RateLimit-Policy`, made once.
    pub(crate) headers: RouteHeaders,
    pub(crate) rejected: Counter,
    pub(crate) evicted: Counter,
}

/// Where the route's buckets live.
pub(crate) enum Backend {
    /// The route's own cells and, for keys the client writes itself, the cells of client
    /// addresses that every value of one address counts against.
    Local {
        bucket: Arc<Bucket>,
        by_address: Option<Arc<Bucket>>,
    },
    Shared(SharedLimit),
}

/// What the response hook needs from the request hook.
#[derive(Default)]
pub struct RateState {
    /// `RateLimit-Remaining` and `RateLimit-Reset`, when the request was counted.
    pub(crate) counted: Option<(u32, u64)>,
}

/// What the key is made of; the tag keeps a user named `1.2.3.4` apart from that address.
#[derive(Clone, Copy, Hash)]
pub(crate) enum KeyPart<'a> {
    Ip(std::net::IpAddr),
    Value(u8, &'a [u8]),
}

/// The method a route's cells are counted under: `HEAD` is a `GET` without the body
/// (RFC 9110, section 9.3.2), so the two share one allowance instead of doubling it.
pub(crate) fn counted_method(method: &str) -> &str {
    if method == "HEAD" { "GET" } else { method }
}

impl RateLimitFilter {
    /// A cell's key: `part` hashed with the method and route template (so each route counts
    /// apart) under a per-process random SipHash key: the table holds no API key or header
    /// in the clear, and nobody outside can aim two clients at one cell.
    fn key(&self, request: &Request<'_>, part: &KeyPart<'_>) -> u64 {
        self.shared
            .hasher
            .hash_one((counted_method(request.method()), request.route(), part))
    }

    /// The client's address: the peer, or behind trusted proxies what they forwarded
    /// (every `X-Forwarded-For` line, in order; read only from a trusted peer).
    pub(crate) fn address(&self, request: &Request<'_>) -> std::net::IpAddr {
        self.shared.clients.of(request.peer_addr(), || {
            request.header_values("x-forwarded-for")
        })
    }

    /// What identifies the client, before hashing: the configured value, else its address.
    /// The second part is the address when the key is a value the client writes itself (an
    /// API key, a header), which the address's own limit then bounds.
    pub(crate) fn key_parts<'r>(
        &self,
        request: &'r Request<'_>,
    ) -> (KeyPart<'r>, Option<KeyPart<'r>>) {
        let value = match &self.limit.key {
            KeySpec::Ip => None,
            KeySpec::User => request
                .value(SUBJECT_VALUE)
                .map(|v| KeyPart::Value(1, v.as_bytes())),
            KeySpec::ApiKey => request
                .header_bytes(API_KEY_HEADER)
                .map(|v| KeyPart::Value(2, v)),
            KeySpec::Header(name) => request.header_bytes(name).map(|v| KeyPart::Value(3, v)),
        };
        let address = KeyPart::Ip(self.address(request));
        // Without the value the address is the key, and it still counts against the
        // address's own limit: leaving the header out buys nothing either.
        let bounded = self.limit.key.written_by_client().then_some(address);
        (value.unwrap_or(address), bounded)
    }

    /// The 429 answer, with `Retry-After` and the headers of an exhausted bucket.
    pub(crate) fn refuse(&self, state: &mut RateState, wait: Duration, reset: u64) -> Action {
        self.rejected.add(1);
        state.counted = Some((0, reset));
        let retry_after = ceil_seconds(wait).max(1);
        let reply = Reply::error(429, "too many requests")
            .header("retry-after", retry_after.to_string())
            .header("ratelimit-limit", self.headers.limit_text.clone())
            .header("ratelimit-remaining", "0")
            .header("ratelimit-reset", reset.to_string())
            .header("ratelimit-policy", self.headers.policy_text.clone());
        Action::Respond(reply)
    }

    /// One request against one local bucket: `Ok(remaining, reset)` or the 429.
    fn take_local(
        &self,
        bucket: &Bucket,
        state: &mut RateState,
        key: u64,
    ) -> Result<(u32, u64), Action> {
        if self.shared.limiters.admit(bucket, key) {
            self.evicted.add(1);
        }
        match bucket.check(key) {
            // An upper bound within one period: governor reports whole remaining requests.
            Outcome::Allowed { remaining } => Ok((
                remaining,
                ceil_seconds(bucket.period * bucket.burst.saturating_sub(remaining)),
            )),
            // Exact: the wait for the next request plus the periods of the rest of the burst.
            Outcome::Denied { wait } => {
                let reset = ceil_seconds(wait + bucket.period * bucket.burst.saturating_sub(1));
                Err(self.refuse(state, wait, reset))
            }
        }
    }

    fn check_local(
        &self,
        bucket: &Bucket,
        by_address: Option<&Bucket>,
        state: &mut RateState,
        request: &Request<'_>,
    ) -> Action {
        let (part, address) = self.key_parts(request);
        // The address first: a client that changes its value at every request is stopped
        // there, before each made-up value takes a cell of the table.
        let mut counted = None;
        if let (Some(address), Some(by_address)) = (address, by_address) {
            let key = self.key(request, &address);
            match self.take_local(by_address, state, key) {
                Ok(taken) => counted = Some(taken),
                Err(refusal) => return refusal,
            }
        }
        let key = self.key(request, &part);
        match self.take_local(bucket, state, key) {
            Ok(taken) => {
                state.counted = Some(tighter(taken, counted));
                Action::Continue
            }
            Err(refusal) => refusal,
        }
    }
}

/// What the answer reports when a request was counted twice: the fewer requests left and
/// the later refill.
pub(crate) fn tighter(own: (u32, u64), address: Option<(u32, u64)>) -> (u32, u64) {
    match address {
        Some((remaining, reset)) => (own.0.min(remaining), own.1.max(reset)),
        None => own,
    }
}

impl Filter for RateLimitFilter {
    type State = RateState;

    /// Both hooks; the request hook is the asynchronous one when the buckets live in the
    /// shared store.
    fn hooks(&self) -> Hooks {
        let hooks = Hooks::none().response();
        match self.backend {
            Backend::Local { .. } => hooks.request(),
            Backend::Shared(_) => hooks.request_async(),
        }
    }

    fn on_request(
        &self,
        state: &mut RateState,
        request: &mut Request<'_>,
    ) -> Result<Action, Error> {
        // Preflights are the browser's, not the client's: counting them would halve the
        // limit of every cross-origin API.
        if request.method() == "OPTIONS" {
            return Ok(Action::Continue);
        }
        match &self.backend {
            Backend::Local { bucket, by_address } => {
                Ok(self.check_local(bucket, by_address.as_deref(), state, request))
            }
            Backend::Shared(_) => Err(Error::new(
                "a shared-store limit runs in the asynchronous hook only",
            )),
        }
    }

    async fn on_request_async(
        &self,
        state: &mut RateState,
        request: &mut Request<'_>,
    ) -> Result<Action, Error> {
        let Backend::Shared(limit) = &self.backend else {
            return self.on_request(state, request);
        };
        if request.method() == "OPTIONS" {
            return Ok(Action::Continue);
        }
        let (part, address) = self.key_parts(request);
        let key = crate::shared::store_key(request, &part);
        let address = address.map(|address| crate::shared::store_key(request, &address));
        Ok(limit.check(self, state, &key, address.as_deref()).await)
    }

    fn on_response(&self, state: &mut RateState, response: &mut Response<'_>) -> Result<(), Error> {
        let Some((remaining, reset)) = state.counted else {
            return Ok(());
        };
        let counts = &self.shared.count_headers;
        response.set_prepared(&self.headers.limit)?;
        counts.set_remaining(response, remaining)?;
        counts.set_reset(response, reset)?;
        response.set_prepared(&self.headers.policy)
    }
}

pub(crate) fn ceil_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}
