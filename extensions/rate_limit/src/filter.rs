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
    pub(crate) limit_header: String,
    pub(crate) policy_header: String,
    pub(crate) rejected: Counter,
    pub(crate) overflowed: Counter,
}

/// Where the route's buckets live.
pub(crate) enum Backend {
    Local(Arc<Bucket>),
    Shared(SharedLimit),
}

/// What the response hook needs from the request hook.
#[derive(Default)]
pub struct RateState {
    /// `RateLimit-Remaining` and `RateLimit-Reset`, when the request was counted.
    pub(crate) counted: Option<(u32, u64)>,
}

/// What the key is made of; the tag keeps a user named `1.2.3.4` apart from that address.
#[derive(Hash)]
pub(crate) enum KeyPart<'a> {
    Ip(std::net::IpAddr),
    Value(u8, &'a [u8]),
    Overflow,
}

impl RateLimitFilter {
    /// The client's key, hashed with the method and route template (so each route counts apart) under
    /// a per-process random SipHash key: the table holds no API key or header in the clear,
    /// and nobody outside can aim two clients at one cell.
    fn key(&self, request: &Request<'_>) -> u64 {
        self.shared
            .hasher
            .hash_one((request.method(), request.route(), self.key_part(request)))
    }

    /// What identifies the client, before hashing.
    pub(crate) fn key_part<'r>(&self, request: &'r Request<'_>) -> KeyPart<'r> {
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
        value.unwrap_or_else(|| {
            KeyPart::Ip(
                self.shared
                    .clients
                    .of(request.peer_addr(), request.header("x-forwarded-for")),
            )
        })
    }

    fn overflow_key(&self, request: &Request<'_>) -> u64 {
        self.shared
            .hasher
            .hash_one((request.method(), request.route(), KeyPart::Overflow))
    }

    /// Seconds until the bucket is full again after an allowed request: an upper bound
    /// within one period, since governor reports whole remaining requests.
    fn reset_when_allowed(&self, period: Duration, remaining: u32) -> u64 {
        ceil_seconds(period * self.limit.burst.saturating_sub(remaining))
    }

    /// Seconds until the bucket is full again after a refusal: the wait for the next
    /// request plus the periods of the rest of the burst (exact).
    fn reset_when_denied(&self, period: Duration, wait: Duration) -> u64 {
        ceil_seconds(wait + period * self.limit.burst.saturating_sub(1))
    }

    /// The 429 answer, with `Retry-After` and the headers of an exhausted bucket.
    pub(crate) fn refuse(&self, state: &mut RateState, wait: Duration, reset: u64) -> Action {
        self.rejected.add(1);
        state.counted = Some((0, reset));
        let retry_after = ceil_seconds(wait).max(1);
        let reply = Reply::error(429, "too many requests")
            .header("retry-after", retry_after.to_string())
            .header("ratelimit-limit", self.limit_header.clone())
            .header("ratelimit-remaining", "0")
            .header("ratelimit-reset", reset.to_string())
            .header("ratelimit-policy", self.policy_header.clone());
        Action::Respond(reply)
    }

    fn check_local(&self, bucket: &Bucket, state: &mut RateState, request: &Request<'_>) -> Action {
        let key = self.key(request);
        let (key, admitted) = self
            .shared
            .limiters
            .admit(bucket, key, self.overflow_key(request));
        if !admitted {
            self.overflowed.add(1);
        }
        match bucket.check(key) {
            Outcome::Allowed { remaining } => {
                state.counted =
                    Some((remaining, self.reset_when_allowed(bucket.period, remaining)));
                Action::Continue
            }
            Outcome::Denied { wait } => {
                let reset = self.reset_when_denied(bucket.period, wait);
                self.refuse(state, wait, reset)
            }
        }
    }
}

impl Filter for RateLimitFilter {
    type State = RateState;

    /// Both hooks; the request hook is the asynchronous one when the buckets live in the
    /// shared store.
    fn hooks(&self) -> Hooks {
        let hooks = Hooks::none().response();
        match self.backend {
            Backend::Local(_) => hooks.request(),
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
            Backend::Local(bucket) => Ok(self.check_local(bucket, state, request)),
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
        let key = crate::shared::store_key(request, self.key_part(request));
        Ok(limit.check(self, state, &key).await)
    }

    fn on_response(&self, state: &mut RateState, response: &mut Response<'_>) -> Result<(), Error> {
        let Some((remaining, reset)) = state.counted else {
            return Ok(());
        };
        response.set_header("ratelimit-limit", &self.limit_header)?;
        response.set_header("ratelimit-remaining", &remaining.to_string())?;
        response.set_header("ratelimit-reset", &reset.to_string())?;
        response.set_header("ratelimit-policy", &self.policy_header)
    }
}

pub(crate) fn ceil_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}
