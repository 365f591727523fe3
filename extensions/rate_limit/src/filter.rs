//! The per-route filter: finds the client's key, checks it, answers 429 or lets the
//! request through, and puts the `RateLimit-*` headers on the answer either way.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use beginnings_abi::{Action, Counter, Error, Filter, Reply, Request, Response};

use crate::Shared;
use crate::config::{KeySpec, Limit};
use crate::store::{Bucket, Outcome};

/// The request value the auth extension sets to the authenticated subject.
const SUBJECT_VALUE: &str = "auth.subject";
const API_KEY_HEADER: &str = "x-api-key";

pub struct RateLimitFilter {
    pub(crate) limit: Limit,
    pub(crate) bucket: Arc<Bucket>,
    pub(crate) shared: Arc<Shared>,
    /// `RateLimit-Limit` and `RateLimit-Policy`, made once.
    pub(crate) limit_header: String,
    pub(crate) policy_header: String,
    pub(crate) rejected: Counter,
    pub(crate) overflowed: Counter,
}

/// What the response hook needs from the request hook.
#[derive(Default)]
pub struct RateState {
    /// `RateLimit-Remaining` and `RateLimit-Reset`, when the request was counted.
    counted: Option<(u32, u64)>,
}

/// What the key is made of; the tag keeps a user named `1.2.3.4` apart from that address.
#[derive(Hash)]
enum KeyPart<'a> {
    Ip(std::net::IpAddr),
    Value(u8, &'a [u8]),
    Overflow,
}

impl RateLimitFilter {
    /// The client's key, hashed with the method and route template (so each route counts apart) under
    /// a per-process random SipHash key: the table holds no API key or header in the clear,
    /// and nobody outside can aim two clients at one cell.
    fn key(&self, request: &Request<'_>) -> u64 {
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
        let part = value.unwrap_or_else(|| {
            KeyPart::Ip(
                self.shared
                    .clients
                    .of(request.peer_addr(), request.header("x-forwarded-for")),
            )
        });
        self.shared
            .hasher
            .hash_one((request.method(), request.route(), part))
    }

    fn overflow_key(&self, request: &Request<'_>) -> u64 {
        self.shared
            .hasher
            .hash_one((request.method(), request.route(), KeyPart::Overflow))
    }

    /// Seconds until the bucket is full again after an allowed request: an upper bound
    /// within one period, since governor reports whole remaining requests.
    fn reset_when_allowed(&self, remaining: u32) -> u64 {
        ceil_seconds(self.bucket.period * self.limit.burst.saturating_sub(remaining))
    }

    /// Seconds until the bucket is full again after a refusal: the wait for the next
    /// request plus the periods of the rest of the burst (exact).
    fn reset_when_denied(&self, wait: Duration) -> u64 {
        ceil_seconds(wait + self.bucket.period * self.limit.burst.saturating_sub(1))
    }
}

impl Filter for RateLimitFilter {
    type State = RateState;

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
        let key = self.key(request);
        let (key, admitted) =
            self.shared
                .limiters
                .admit(&self.bucket, key, self.overflow_key(request));
        if !admitted {
            self.overflowed.add(1);
        }
        match self.bucket.check(key) {
            Outcome::Allowed { remaining } => {
                state.counted = Some((remaining, self.reset_when_allowed(remaining)));
                Ok(Action::Continue)
            }
            Outcome::Denied { wait } => {
                self.rejected.add(1);
                let reset = self.reset_when_denied(wait);
                state.counted = Some((0, reset));
                let retry_after = ceil_seconds(wait).max(1);
                let reply = Reply::error(429, "too many requests")
                    .header("retry-after", retry_after.to_string())
                    .header("ratelimit-limit", self.limit_header.clone())
                    .header("ratelimit-remaining", "0")
                    .header("ratelimit-reset", reset.to_string())
                    .header("ratelimit-policy", self.policy_header.clone());
                Ok(Action::Respond(reply))
            }
        }
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

fn ceil_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}
