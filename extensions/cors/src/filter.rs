//! The per-route filter: answers preflights, and marks the answers to allowed cross-origin
//! requests. A request without `Origin` costs one header lookup and gets only `Vary: Origin`
//! (unless every origin gets the same answer, `*`).

use std::collections::HashMap;

use beginnings_abi::log::debug;
use beginnings_abi::{
    Action, Counter, Error, Filter, Hooks, Host, PreparedHeader, PreparedName, Reply, Request,
    Response,
};
use parking_lot::Mutex;

use crate::origin::Origins;
use crate::policy::Policy;

/// `Vary` on every preflight answer: it depends on all three request headers.
pub const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/// Per-origin preflight answers kept at most; past it answers are built per request, so
/// a stream of made-up subdomains cannot grow the cache.
const CACHE_CAPACITY: usize = 1024;

/// The host counters the filters of one extension instance share.
#[derive(Clone, Copy)]
pub struct Counters {
    pub denied: Counter,
    pub cache_hits: Counter,
    pub cache_misses: Counter,
}

pub struct CorsFilter {
    policy: Policy,
    /// Allowed preflight answers by `Access-Control-Allow-Origin` value, when
    /// `cache_preflight` is on.
    cache: Option<Mutex<HashMap<String, Reply>>>,
    counters: Counters,
    headers: Prepared,
}

/// The headers an answer to a cross-origin request gets, checked by the host once when the
/// filter is built: setting them per request then copies and parses nothing.
struct Prepared {
    /// `Vary: Origin`.
    vary_origin: PreparedHeader,
    /// `Access-Control-Allow-Origin: *`, for `allow_origins: "*"`.
    any_origin: PreparedHeader,
    /// `Access-Control-Allow-Origin` echoing each origin listed exactly; an origin allowed
    /// by a pattern is echoed as text.
    listed_origins: HashMap<String, PreparedHeader>,
    credentials: Option<PreparedHeader>,
    expose: Option<PreparedHeader>,
    /// The names read or set per request, checked by the host once (ABI 1.2).
    origin: PreparedName,
    request_method: PreparedName,
    vary: PreparedName,
    allow_origin: PreparedName,
}

impl Prepared {
    fn new(policy: &Policy, host: Host) -> Result<Self, Error> {
        // An entry no header may carry (a control character) cannot come from a browser
        // either: it is left out here as it never matches there.
        let listed_origins = policy
            .origins
            .listed()
            .filter_map(|origin| {
                let header = host.prepare_header(ALLOW_ORIGIN, origin).ok()?;
                Some((origin.to_string(), header))
            })
            .collect();
        Ok(Prepared {
            vary_origin: host.prepare_header("vary", "Origin")?,
            any_origin: host.prepare_header(ALLOW_ORIGIN, "*")?,
            listed_origins,
            credentials: (policy.credentials)
                .then(|| host.prepare_header("access-control-allow-credentials", "true"))
                .transpose()?,
            expose: (policy.expose.as_deref())
                .map(|expose| host.prepare_header("access-control-expose-headers", expose))
                .transpose()?,
            origin: host.prepare_name("origin")?,
            request_method: host.prepare_name("access-control-request-method")?,
            vary: host.prepare_name("vary")?,
            allow_origin: host.prepare_name(ALLOW_ORIGIN)?,
        })
    }
}

const ALLOW_ORIGIN: &str = "access-control-allow-origin";

/// What the request hook decided, for the response hook.
#[derive(Debug, Default)]
pub enum Outcome {
    /// No `Origin`: same-origin or not from a browser; no CORS header, but `Vary: Origin`
    /// when an answer to an origin would differ (a cache must not hand this answer to a
    /// cross-origin request, nor the other way round).
    #[default]
    Untouched,
    /// A preflight this filter answered itself.
    Answered,
    /// An origin the route does not allow: no CORS headers, but `Vary: Origin`.
    Denied,
    /// `allow_origins: "*"`.
    AnyOrigin,
    /// An origin listed exactly, echoed back by its prepared header.
    Listed(PreparedHeader),
    /// An origin a pattern allows, echoed back.
    Origin(String),
}

impl CorsFilter {
    pub fn new(policy: Policy, counters: Counters, host: Host) -> Result<Self, Error> {
        let cache = policy.cache_preflight.then(|| Mutex::new(HashMap::new()));
        Ok(CorsFilter {
            headers: Prepared::new(&policy, host)?,
            policy,
            cache,
            counters,
        })
    }

    fn preflight(&self, origin: &str, method: &str, request: &Request<'_>) -> Reply {
        let requested_headers = request.header("access-control-request-headers");
        let allowed = self.policy.origins.allows(origin)
            && self.policy.allows_method(method)
            && self.policy.allows_headers(requested_headers);
        if !allowed {
            // Answered, so the handler never runs for it, but without CORS headers: the
            // browser then refuses the actual request, as with any CORS library.
            self.counters.denied.add(1);
            debug!(
                "preflight refused: origin {origin:?}, method {method:?}, headers {requested_headers:?}"
            );
            return Reply::new(204).header("vary", PREFLIGHT_VARY);
        }
        let mut reply = match &self.cache {
            Some(cache) => self.cached(cache, origin),
            None => self.allowed_preflight(origin),
        };
        if self.policy.echoes_request() {
            if let Some(value) = self.policy.methods_value(method) {
                reply = reply.header("access-control-allow-methods", value);
            }
            if let Some(value) = self.policy.headers_value(requested_headers) {
                reply = reply.header("access-control-allow-headers", value);
            }
        }
        reply
    }

    fn cached(&self, cache: &Mutex<HashMap<String, Reply>>, origin: &str) -> Reply {
        let key = self.allow_origin_value(origin);
        if let Some(reply) = cache.lock().get(key) {
            self.counters.cache_hits.add(1);
            return reply.clone();
        }
        self.counters.cache_misses.add(1);
        let reply = self.allowed_preflight(origin);
        let mut entries = cache.lock();
        if entries.len() < CACHE_CAPACITY {
            entries.insert(key.to_string(), reply.clone());
        }
        reply
    }

    /// The answer to an allowed preflight, less what echoes the request.
    fn allowed_preflight(&self, origin: &str) -> Reply {
        let policy = &self.policy;
        let mut reply = Reply::new(204)
            .header(ALLOW_ORIGIN, self.allow_origin_value(origin))
            .header("vary", PREFLIGHT_VARY);
        if policy.credentials {
            reply = reply.header("access-control-allow-credentials", "true");
        }
        if !policy.echoes_request() {
            if let Some(value) = policy.methods_value("") {
                reply = reply.header("access-control-allow-methods", value);
            }
            if let Some(value) = policy.headers_value(None) {
                reply = reply.header("access-control-allow-headers", value);
            }
        }
        reply.header("access-control-max-age", policy.max_age.as_str())
    }

    fn allow_origin_value<'a>(&self, origin: &'a str) -> &'a str {
        match self.policy.origins {
            Origins::Any => "*",
            Origins::List { .. } => origin,
        }
    }
}

impl Filter for CorsFilter {
    type State = Outcome;

    /// Both hooks: the request hook answers preflights and judges the origin, the response
    /// hook marks the answer.
    fn hooks(&self) -> Hooks {
        Hooks::none().request().response()
    }

    fn on_request(&self, state: &mut Outcome, request: &mut Request<'_>) -> Result<Action, Error> {
        let Some(origin) = request.header_nth_by(&self.headers.origin, 0) else {
            return Ok(Action::Continue);
        };
        let Ok(origin) = std::str::from_utf8(origin) else {
            *state = Outcome::Denied;
            return Ok(Action::Continue);
        };
        if request.method() == "OPTIONS"
            && let Some(method) = request.header_by(&self.headers.request_method)
        {
            *state = Outcome::Answered;
            return Ok(Action::Respond(self.preflight(origin, method, request)));
        }
        *state = if matches!(self.policy.origins, Origins::Any) {
            Outcome::AnyOrigin
        } else if let Some(header) = self.headers.listed_origins.get(origin) {
            Outcome::Listed(*header)
        } else if self.policy.origins.allows(origin) {
            Outcome::Origin(origin.to_string())
        } else {
            self.counters.denied.add(1);
            Outcome::Denied
        };
        Ok(Action::Continue)
    }

    fn on_response(&self, state: &mut Outcome, response: &mut Response<'_>) -> Result<(), Error> {
        let headers = &self.headers;
        // Set rather than appended: the configuration speaks for the route, not the handler.
        let echoed = match std::mem::take(state) {
            Outcome::Answered => return Ok(()),
            // `*` without credentials is the same answer to every origin: nothing varies.
            Outcome::Untouched if matches!(self.policy.origins, Origins::Any) => return Ok(()),
            Outcome::Untouched | Outcome::Denied => return self.add_vary_origin(response),
            Outcome::AnyOrigin => {
                response.set_prepared(&headers.any_origin)?;
                false
            }
            Outcome::Listed(header) => {
                response.set_prepared(&header)?;
                true
            }
            Outcome::Origin(origin) => {
                response.set_headers_by(&[(&headers.allow_origin, &origin)])?;
                true
            }
        };
        if let Some(credentials) = &headers.credentials {
            response.set_prepared(credentials)?;
        }
        if let Some(expose) = &headers.expose {
            response.set_prepared(expose)?;
        }
        if echoed {
            self.add_vary_origin(response)?;
        }
        Ok(())
    }
}

impl CorsFilter {
    /// Adds `Origin` to `Vary`, keeping what the handler put there.
    fn add_vary_origin(&self, response: &mut Response<'_>) -> Result<(), Error> {
        if let Some(existing) = response.header_by(&self.headers.vary) {
            let present = existing
                .split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.eq_ignore_ascii_case("Origin"));
            if present {
                return Ok(());
            }
        }
        response.append_prepared(&self.headers.vary_origin)
    }
}
