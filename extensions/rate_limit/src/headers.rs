//! The `RateLimit-*` headers of a counted answer, set with as little work per request as the
//! host allows. `RateLimit-Limit` and `RateLimit-Policy` never change for a route: the host
//! checks them once, when the filter is built. `RateLimit-Remaining` and `RateLimit-Reset`
//! change from request to request, but over a small range of values that come back again
//! and again (a reset is a few seconds, what is left of a small burst a few requests): each
//! such value is prepared the first time it is sent and set by id afterwards. Larger values
//! are formatted on the stack and set by prepared name (ABI 1.2), so only the value is copied.

use std::sync::OnceLock;

use beginnings_abi::{Error, Host, PreparedHeader, PreparedName, Response};

/// The values below this are prepared on first use, per header. Bounded so that a route
/// with a burst of millions cannot make the host keep millions of headers; 1024 covers the
/// reset of any window up to 17 minutes and what is left of any burst up to 1024.
const PREPARED_VALUES: usize = 1024;

/// One numeric header of the answer and the values of it already prepared.
pub(crate) struct NumberHeader {
    /// The name, checked by the host once.
    name: PreparedName,
    prepared: Box<[OnceLock<PreparedHeader>]>,
}

impl NumberHeader {
    fn new(host: Host, name: &'static str) -> Result<Self, Error> {
        Ok(NumberHeader {
            name: host.prepare_name(name)?,
            prepared: (0..PREPARED_VALUES).map(|_| OnceLock::new()).collect(),
        })
    }

    /// Sets the header to `value` on `response`, replacing any value the handler gave it.
    fn set(&self, host: Host, response: &mut Response<'_>, value: u64) -> Result<(), Error> {
        let mut digits = itoa::Buffer::new();
        let text = digits.format(value);
        let Some(slot) = usize::try_from(value)
            .ok()
            .and_then(|index| self.prepared.get(index))
        else {
            return self.set_text(response, text);
        };
        if let Some(header) = slot.get() {
            return response.set_prepared(header);
        }
        // Two requests may prepare the same value at once: the host gives equal headers one
        // id, so whichever lands in the slot is the same header. A host that refuses (it
        // never should, for digits) still gets the value as text.
        match host.prepare_header(self.name.as_str(), text) {
            Ok(header) => {
                let _ = slot.set(header);
                response.set_prepared(&header)
            }
            Err(_) => self.set_text(response, text),
        }
    }

    /// Sets a value that is not prepared: only the value is copied.
    fn set_text(&self, response: &mut Response<'_>, text: &str) -> Result<(), Error> {
        response.set_headers_by(&[(&self.name, text)])
    }
}

/// The numeric headers every filter of one extension instance sets.
pub(crate) struct CountHeaders {
    host: Host,
    remaining: NumberHeader,
    reset: NumberHeader,
}

impl CountHeaders {
    pub(crate) fn new(host: Host) -> Result<Self, Error> {
        Ok(CountHeaders {
            host,
            remaining: NumberHeader::new(host, "ratelimit-remaining")?,
            reset: NumberHeader::new(host, "ratelimit-reset")?,
        })
    }

    pub(crate) fn set_remaining(
        &self,
        response: &mut Response<'_>,
        remaining: u32,
    ) -> Result<(), Error> {
        self.remaining
            .set(self.host, response, u64::from(remaining))
    }

    pub(crate) fn set_reset(&self, response: &mut Response<'_>, reset: u64) -> Result<(), Error> {
        self.reset.set(self.host, response, reset)
    }
}

/// The route's fixed headers, checked by the host when the filter is built.
pub(crate) struct RouteHeaders {
    /// `RateLimit-Limit` and `RateLimit-Policy` as text, for the 429 answer.
    pub(crate) limit_text: String,
    pub(crate) policy_text: String,
    pub(crate) limit: PreparedHeader,
    pub(crate) policy: PreparedHeader,
}

impl RouteHeaders {
    /// The headers of a limit of `requests` per `window_seconds` with `burst`.
    pub(crate) fn new(
        host: Host,
        requests: u32,
        window_seconds: u64,
        burst: u32,
    ) -> Result<Self, Error> {
        let mut policy_text = format!("{requests};w={window_seconds}");
        if burst != requests {
            policy_text.push_str(&format!(";burst={burst}"));
        }
        let limit_text = burst.to_string();
        Ok(RouteHeaders {
            limit: host.prepare_header("ratelimit-limit", &limit_text)?,
            policy: host.prepare_header("ratelimit-policy", &policy_text)?,
            limit_text,
            policy_text,
        })
    }
}
