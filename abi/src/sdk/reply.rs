use abi_stable::std_types::{RString, RVec, Tuple2};

use crate::ffi;

/// What a request hook decides.
#[derive(Debug)]
pub enum Action {
    /// Go on to the next hook and then the handler.
    Continue,
    /// Answer now: later request hooks and the handler are skipped, but the response hooks
    /// of the extensions that already ran still see this answer.
    Respond(Reply),
}

/// An answer built by an extension.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    pub fn new(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A JSON answer in the host's error shape ([`error_body`]).
    pub fn error(status: u16, message: &str) -> Self {
        Reply::new(status)
            .header("content-type", "application/json")
            .body(error_body(status, message))
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub(crate) fn into_ffi(self) -> ffi::Reply {
        ffi::Reply {
            status: self.status,
            headers: self
                .headers
                .into_iter()
                .map(|(name, value)| Tuple2(RString::from(name), RString::from(value)))
                .collect::<RVec<_>>(),
            body: RVec::from(self.body),
        }
    }
}

/// The body of every error answer, the host's and the extensions' alike:
/// `{"error": {"status": 404, "message": "..."}}`. The message is JSON-escaped, so request
/// text echoed in it cannot break out.
pub fn error_body(status: u16, message: &str) -> String {
    serde_json::json!({"error": {"status": status, "message": message}}).to_string()
}
