//! Safe wrappers over the borrowed request and response views.

use abi_stable::std_types::{RResult, RStr};

use super::Error;
use crate::ffi::MessageView;

/// The request a hook works on, borrowed from the host for the duration of the hook.
pub struct Request<'a> {
    view: MessageView<'a>,
}

/// The response a hook works on, borrowed from the host for the duration of the hook.
/// It also tells which request it answers (`method`, `path`).
pub struct Response<'a> {
    view: MessageView<'a>,
}

impl<'a> Request<'a> {
    pub(crate) fn new(view: MessageView<'a>) -> Self {
        Request { view }
    }

    pub fn method(&self) -> &str {
        method(&self.view)
    }

    pub fn path(&self) -> &str {
        path(&self.view)
    }

    /// The template of the matched route (`/api/v1/users/{id}`).
    pub fn route(&self) -> &str {
        route(&self.view)
    }

    /// The raw query string, without `?`; empty when there is none.
    pub fn query(&self) -> &str {
        let query_fn = self.view.vtable.query();
        // SAFETY: the view is valid for this hook; the string borrows from it.
        unsafe { query_fn(self.view.this) }.as_str()
    }

    /// The client's address (`ip:port`), when known.
    pub fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        if let Some(peer_fn) = self.view.vtable.peer() {
            // SAFETY: the view is valid for this hook.
            return unsafe { peer_fn(self.view.this) }.to_socket();
        }
        let peer_fn = self.view.vtable.peer_addr();
        // SAFETY: the view is valid for this hook.
        let text = unsafe { peer_fn(self.view.this) };
        text.as_str().parse().ok()
    }

    /// The buffered body; empty unless the filter declared [`Hooks::body`](super::Hooks::body).
    pub fn body(&self) -> &[u8] {
        let body_fn = self.view.vtable.body();
        // SAFETY: the view is valid for this hook; the body is never changed through it.
        unsafe { body_fn(self.view.this) }.as_slice()
    }

    /// Attaches a value to the request; later extensions and the handler read it by name.
    pub fn set_value(&mut self, name: &str, value: &str) -> Result<(), Error> {
        let set_fn = self.view.vtable.set_value();
        let (name, value) = (RStr::from_str(name), RStr::from_str(value));
        // SAFETY: the view is valid for this hook and `&mut self` is the only borrow.
        into_result(unsafe { set_fn(self.view.this, name, value) })
    }
}

impl<'a> Response<'a> {
    pub(crate) fn new(view: MessageView<'a>) -> Self {
        Response { view }
    }

    pub fn status(&self) -> u16 {
        let status_fn = self.view.vtable.status();
        // SAFETY: the view is valid for this hook.
        unsafe { status_fn(self.view.this) }
    }

    /// The method of the request this response answers.
    pub fn method(&self) -> &str {
        method(&self.view)
    }

    /// The path of the request this response answers.
    pub fn path(&self) -> &str {
        path(&self.view)
    }

    /// The template of the route that answered (`/api/v1/users/{id}`).
    pub fn route(&self) -> &str {
        route(&self.view)
    }
}

/// Header access shared by requests and responses.
macro_rules! header_methods {
    ($ty:ident) => {
        impl<'a> $ty<'a> {
            /// The first value of a header, when present and valid UTF-8.
            pub fn header(&self, name: &str) -> Option<&str> {
                self.header_bytes(name)
                    .and_then(|bytes| std::str::from_utf8(bytes).ok())
            }

            /// The first value of a header as raw bytes.
            pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
                let header_fn = self.view.vtable.header();
                // SAFETY: the view is valid for this hook; the slice borrows from the message
                // and `&self` keeps it from being changed while the slice lives.
                let found = unsafe { header_fn(self.view.this, RStr::from_str(name)) };
                found.into_option().map(|slice| slice.as_slice())
            }

            /// Every value of a header, in the order the lines came (a header may be sent on
            /// several lines, such as `X-Forwarded-For`); values that are not UTF-8 are skipped.
            pub fn header_values(&self, name: &str) -> Vec<&str> {
                let nth_fn = self.view.vtable.header_nth();
                let mut values = Vec::new();
                for index in 0.. {
                    // SAFETY: as in `header_bytes`.
                    let found = unsafe { nth_fn(self.view.this, RStr::from_str(name), index) };
                    match found.into_option() {
                        Some(bytes) => {
                            if let Ok(text) = std::str::from_utf8(bytes.as_slice()) {
                                values.push(text);
                            }
                        }
                        None => break,
                    }
                }
                values
            }

            /// The first value of a header named by a prepared name, when present and valid
            /// UTF-8.
            pub fn header_by(&self, name: &crate::PreparedName) -> Option<&str> {
                self.header_nth_by(name, 0)
                    .and_then(|bytes| std::str::from_utf8(bytes).ok())
            }

            /// The `index`th value of a header named by a prepared name, as raw bytes (a
            /// header may be sent on several lines, such as `X-Forwarded-For`).
            pub fn header_nth_by(&self, name: &crate::PreparedName, index: usize) -> Option<&[u8]> {
                let found = match (name.id, self.view.vtable.header_by_id()) {
                    // SAFETY: as in `header_bytes`.
                    (Some(id), Some(by_id)) => unsafe { by_id(self.view.this, id, index) },
                    _ => {
                        let nth_fn = self.view.vtable.header_nth();
                        // SAFETY: as in `header_bytes`.
                        unsafe { nth_fn(self.view.this, RStr::from_str(&name.text), index) }
                    }
                };
                found.into_option().map(|slice| slice.as_slice())
            }

            /// Sets several headers named by prepared names in one call to the host, each
            /// replacing every value of its name; only the values are checked. Stops at the
            /// first value the host refuses and says which; the headers before it stay set.
            pub fn set_headers_by(
                &mut self,
                headers: &[(&crate::PreparedName, &str)],
            ) -> Result<(), Error> {
                let put_fn = self.view.vtable.put_headers();
                let all_prepared = headers.iter().all(|(name, _)| name.id.is_some());
                let Some(put_fn) = put_fn.filter(|_| all_prepared) else {
                    for (name, value) in headers {
                        self.set_header(&name.text, value)?;
                    }
                    return Ok(());
                };
                // Passed in batches from the stack: no allocation per call.
                const BATCH: usize = 8;
                for batch in headers.chunks(BATCH) {
                    let mut puts = [crate::ffi::HeaderPut {
                        name: 0,
                        append: false,
                        value: RStr::from_str(""),
                    }; BATCH];
                    for (put, (name, value)) in puts.iter_mut().zip(batch) {
                        put.name = name.id.unwrap_or_default();
                        put.value = RStr::from_str(value);
                    }
                    let puts = abi_stable::std_types::RSlice::from_slice(&puts[..batch.len()]);
                    // SAFETY: the view is valid for this hook and `&mut self` is the only borrow.
                    into_result(unsafe { put_fn(self.view.this, puts) })?;
                }
                Ok(())
            }

            /// Replaces every value of a header with `value`.
            pub fn set_header(&mut self, name: &str, value: &str) -> Result<(), Error> {
                let set_fn = self.view.vtable.set_header();
                let (name, value) = (RStr::from_str(name), RStr::from_str(value));
                // SAFETY: the view is valid for this hook and `&mut self` is the only borrow.
                let result = unsafe { set_fn(self.view.this, name, value) };
                into_result(result)
            }

            /// Adds a value to a header, keeping those already there.
            pub fn append_header(&mut self, name: &str, value: &str) -> Result<(), Error> {
                let append_fn = self.view.vtable.append_header();
                let (name, value) = (RStr::from_str(name), RStr::from_str(value));
                // SAFETY: as in `set_header`.
                let result = unsafe { append_fn(self.view.this, name, value) };
                into_result(result)
            }

            /// The request id (also sent back as `X-Request-Id`); empty when none was assigned.
            pub fn request_id(&self) -> &str {
                request_id(&self.view)
            }

            /// When the host started on this request, in nanoseconds on the host's monotonic
            /// clock ([`Host::monotonic_ns`](crate::Host::monotonic_ns)).
            pub fn started_ns(&self) -> u64 {
                let started_fn = self.view.vtable.started_ns();
                // SAFETY: the view is valid for this hook.
                unsafe { started_fn(self.view.this) }
            }

            /// On a profiled route (`profile_enabled: true`), the time spent so far in each
            /// extension's hooks and in the handler, as `Server-Timing` entries.
            pub fn timings(&self) -> String {
                let timings_fn = self.view.vtable.timings();
                // SAFETY: the view is valid for this hook.
                unsafe { timings_fn(self.view.this) }.into_string()
            }

            /// A value attached to the request by an earlier extension.
            pub fn value(&self, name: &str) -> Option<&str> {
                let value_fn = self.view.vtable.value();
                // SAFETY: the view is valid for this hook; `&self` keeps values unchanged.
                let found = unsafe { value_fn(self.view.this, RStr::from_str(name)) };
                found.into_option().map(|text| text.as_str())
            }

            /// Sets a prepared header, replacing every value of that name: no parsing and
            /// no copy per request.
            pub fn set_prepared(&mut self, header: &crate::PreparedHeader) -> Result<(), Error> {
                self.put_prepared(header, false)
            }

            /// Adds a prepared header, keeping the values already there.
            pub fn append_prepared(&mut self, header: &crate::PreparedHeader) -> Result<(), Error> {
                self.put_prepared(header, true)
            }

            fn put_prepared(
                &mut self,
                header: &crate::PreparedHeader,
                append: bool,
            ) -> Result<(), Error> {
                let put_fn = self.view.vtable.put_prepared();
                // SAFETY: the view is valid for this hook and `&mut self` is the only borrow.
                if unsafe { put_fn(self.view.this, header.id, append) } {
                    Ok(())
                } else {
                    Err(Error::new(
                        "unknown prepared header (prepare it with this host)",
                    ))
                }
            }

            /// Removes a header; true when it was there.
            pub fn remove_header(&mut self, name: &str) -> bool {
                let remove_fn = self.view.vtable.remove_header();
                // SAFETY: as in `set_header`.
                unsafe { remove_fn(self.view.this, RStr::from_str(name)) }
            }
        }
    };
}

header_methods!(Request);
header_methods!(Response);

fn request_id<'v>(view: &'v MessageView<'_>) -> &'v str {
    let id_fn = view.vtable.request_id();
    // SAFETY: the view is valid for this hook; the id is never changed through it.
    unsafe { id_fn(view.this) }.as_str()
}

fn route<'v>(view: &'v MessageView<'_>) -> &'v str {
    let route_fn = view.vtable.route();
    // SAFETY: the view is valid for this hook; the template lives as long as the server.
    unsafe { route_fn(view.this) }.as_str()
}

fn method<'v>(view: &'v MessageView<'_>) -> &'v str {
    let method_fn = view.vtable.method();
    // SAFETY: the view is valid for this hook; the method is never changed through it.
    unsafe { method_fn(view.this) }.as_str()
}

fn path<'v>(view: &'v MessageView<'_>) -> &'v str {
    let path_fn = view.vtable.path();
    // SAFETY: the view is valid for this hook; the path is never changed through it.
    unsafe { path_fn(view.this) }.as_str()
}

fn into_result(result: RResult<(), abi_stable::std_types::RString>) -> Result<(), Error> {
    result
        .into_result()
        .map_err(|e| Error::new(e.into_string()))
}
