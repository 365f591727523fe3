//! Borrowed views of the request and response a hook works on.
//!
//! A view is an opaque pointer to the host's own request or response plus a vtable of
//! accessors, so nothing is copied per request: hyper's message stays the only copy.

use std::{ffi::c_void, marker::PhantomData};

use abi_stable::{
    StableAbi,
    std_types::{ROption, RResult, RSlice, RStr, RString},
};

use super::table::versioned_table;

versioned_table! {
/// The accessor table of a [`MessageView`], built by the host (append-only; see
/// [`super::table`]).
///
/// Every returned `RStr`/`RSlice` borrows from the message behind `this` and is valid only
/// until the next call that changes that message, and never past the hook that received the
/// view; the SDK ties these borrows to the view's lifetime.
pub struct MessageVTable, read through MessageVTableRef {
    /// The request method (`GET`), also on a response view.
    pub method: unsafe extern "C" fn(this: *const c_void) -> RStr<'static>,
    /// The request path without the query, also on a response view.
    pub path: unsafe extern "C" fn(this: *const c_void) -> RStr<'static>,
    /// The raw query string without `?`; empty when there is none.
    pub query: unsafe extern "C" fn(this: *const c_void) -> RStr<'static>,
    /// The response status; 0 on a request view.
    pub status: unsafe extern "C" fn(this: *const c_void) -> u16,
    /// The first value of a header of the message (request or response), by name.
    pub header:
        unsafe extern "C" fn(this: *const c_void, name: RStr<'_>) -> ROption<RSlice<'static, u8>>,
    /// Replaces every value of a header with one value.
    pub set_header: unsafe extern "C" fn(
        this: *mut c_void,
        name: RStr<'_>,
        value: RStr<'_>,
    ) -> RResult<(), RString>,
    /// Adds one value to a header.
    pub append_header: unsafe extern "C" fn(
        this: *mut c_void,
        name: RStr<'_>,
        value: RStr<'_>,
    ) -> RResult<(), RString>,
    /// Removes a header; true when it was present.
    pub remove_header: unsafe extern "C" fn(this: *mut c_void, name: RStr<'_>) -> bool,
    /// The client's socket address (`ip:port`); empty when unknown.
    pub peer_addr: unsafe extern "C" fn(this: *const c_void) -> RString,
    /// The buffered request body; empty unless the filter declared the `NEEDS_BODY` capability.
    pub body: unsafe extern "C" fn(this: *const c_void) -> RSlice<'static, u8>,
    /// A value an extension attached to the request (`auth.user`), by name.
    pub value: unsafe extern "C" fn(this: *const c_void, name: RStr<'_>) -> ROption<RStr<'static>>,
    /// Attaches a value to the request for later extensions and the handler; refused on a
    /// response view (the handler has run).
    pub set_value: unsafe extern "C" fn(
        this: *mut c_void,
        name: RStr<'_>,
        value: RStr<'_>,
    ) -> RResult<(), RString>,
    /// The template of the matched route (`/api/v1/users/{id}`), the same for every request
    /// of the route: a key for per-route state such as rate limits.
    pub route: unsafe extern "C" fn(this: *const c_void) -> RStr<'static>,
    /// The request id (kept from a sane `X-Request-Id` or generated); empty when the host
    /// assigns none.
    pub request_id: unsafe extern "C" fn(this: *const c_void) -> RStr<'static>,
    /// When the host started on this request, on the host's monotonic clock (the clock of
    /// `HostServices::monotonic_ns`): latency without per-request state.
    pub started_ns: unsafe extern "C" fn(this: *const c_void) -> u64,
    /// On a route with `profile_enabled: true`, the time the host measured in each
    /// extension's hooks and in the handler so far, as `Server-Timing` entries
    /// (`ext-cors;dur=0.012, handler;dur=1.250`); empty elsewhere.
    pub timings: unsafe extern "C" fn(this: *const c_void) -> RString,
    /// The `index`th value of a header sent on several lines (`X-Forwarded-For`), in order.
    pub header_nth: unsafe extern "C" fn(
        this: *const c_void,
        name: RStr<'_>,
        index: usize,
    ) -> ROption<RSlice<'static, u8>>,
    /// Sets (`append` false: replacing every value) or appends a header prepared with
    /// `HostServices::prepare_header`; false for an unknown id.
    pub put_prepared: unsafe extern "C" fn(this: *mut c_void, id: u32, append: bool) -> bool,
}
appended {
    /// (1.2) The client's address as numbers: no text to format and parse per request.
    pub peer: unsafe extern "C" fn(this: *const c_void) -> PeerAddress,
    /// (1.2) The `index`th value of a header named by an id from
    /// `HostServices::prepare_header_name`; none for an unknown id.
    pub header_by_id: unsafe extern "C" fn(
        this: *const c_void,
        name: u32,
        index: usize,
    ) -> ROption<RSlice<'static, u8>>,
    /// (1.2) Sets or appends several headers in one call, each named by an id from
    /// `HostServices::prepare_header_name`; only the values are checked. Stops at the first
    /// header it cannot put and says which; the ones before it stay put.
    pub put_headers:
        unsafe extern "C" fn(this: *mut c_void, headers: RSlice<'_, HeaderPut<'_>>) -> RResult<(), RString>,
}
}

/// The client's address as `MessageVTable::peer` gives it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddress {
    /// 4 (the first four bytes of `ip`), 6, or 0 when the host does not know the client.
    pub family: u8,
    pub port: u16,
    pub ip: [u8; 16],
}

impl PeerAddress {
    /// The address of an unknown client.
    pub const UNKNOWN: PeerAddress = PeerAddress {
        family: 0,
        port: 0,
        ip: [0; 16],
    };

    pub fn from_socket(address: Option<std::net::SocketAddr>) -> Self {
        let Some(address) = address else {
            return Self::UNKNOWN;
        };
        let mut ip = [0; 16];
        let family = match address.ip() {
            std::net::IpAddr::V4(v4) => {
                ip[..4].copy_from_slice(&v4.octets());
                4
            }
            std::net::IpAddr::V6(v6) => {
                ip = v6.octets();
                6
            }
        };
        PeerAddress {
            family,
            port: address.port(),
            ip,
        }
    }

    pub fn to_socket(self) -> Option<std::net::SocketAddr> {
        let ip = match self.family {
            4 => std::net::IpAddr::from([self.ip[0], self.ip[1], self.ip[2], self.ip[3]]),
            6 => std::net::IpAddr::from(self.ip),
            _ => return None,
        };
        Some(std::net::SocketAddr::new(ip, self.port))
    }
}

/// One header for `MessageVTable::put_headers`.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct HeaderPut<'a> {
    /// An id from `HostServices::prepare_header_name`.
    pub name: u32,
    /// Adds a value (true) or replaces every value of the name (false).
    pub append: bool,
    pub value: RStr<'a>,
}

/// A borrowed request or response, valid for one hook call.
#[repr(C)]
pub struct MessageView<'a> {
    /// The host's message; only the vtable functions may use it.
    pub(crate) this: *mut c_void,
    pub(crate) vtable: MessageVTableRef,
    pub(crate) borrow: PhantomData<&'a mut ()>,
}

impl<'a> MessageView<'a> {
    /// A view of the host's message `this`, read and changed through `vtable`.
    ///
    /// # Safety
    /// `this` is what every function of `vtable` expects, borrowed exclusively for `'a`.
    pub unsafe fn new(this: *mut c_void, vtable: MessageVTableRef) -> Self {
        MessageView {
            this,
            vtable,
            borrow: PhantomData,
        }
    }
}

// SAFETY: a view stands for an exclusive borrow of the host's message (`&mut` to data that
// is itself `Send`); an asynchronous hook may be resumed on another worker thread.
unsafe impl Send for MessageView<'_> {}
