//! Request ids and the access log: one structured line per request.

use std::net::SocketAddr;
use std::time::Duration;

use http::{HeaderMap, HeaderName, Method, StatusCode};

use crate::routing::RequestId;

/// The header a request id is read from and echoed in (a constant name: no parsing per
/// request).
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Ids from clients longer than this are replaced.
const MAX_ID_LEN: usize = 128;

/// The client's `X-Request-Id` when it is sane (1 to 128 of `[A-Za-z0-9._-]`, so it can
/// go into logs and headers as it is), a new random id otherwise.
pub(crate) fn request_id(headers: &HeaderMap) -> RequestId {
    if let Some(value) = headers.get(&REQUEST_ID)
        && is_sane(value.as_bytes())
    {
        // Sane ids are visible ASCII; the clone shares the client's bytes.
        return RequestId::from_header(value.clone());
    }
    RequestId::from_random(fastrand::u128(..))
}

fn is_sane(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// What one access-log line says.
pub(crate) struct AccessRecord<'a> {
    pub method: &'a Method,
    /// The matched route template; `-` when nothing matched.
    pub route: &'a str,
    pub status: StatusCode,
    pub duration: Duration,
    pub bytes: Option<u64>,
    pub request_id: &'a str,
    pub peer: SocketAddr,
}

impl AccessRecord<'_> {
    pub fn log(&self) {
        tracing::info!(
            target: "beginnings::access",
            method = %self.method,
            route = self.route,
            status = self.status.as_u16(),
            duration_ms = self.duration.as_secs_f64() * 1000.0,
            bytes = self.bytes,
            request_id = self.request_id,
            peer = %self.peer,
            "request"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_for(value: &str) -> String {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, http::HeaderValue::from_str(value).unwrap());
        request_id(&headers).as_str().to_owned()
    }

    #[test]
    fn sane_client_ids_are_kept_and_others_replaced() {
        assert_eq!(id_for("abc-123_x.y"), "abc-123_x.y");
        let replaced = id_for("bad id<script>");
        assert_eq!(replaced.len(), 32);
        assert!(replaced.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id_for(&"a".repeat(129)), "a".repeat(129));
        assert_eq!(request_id(&HeaderMap::new()).as_str().len(), 32);
    }
}
