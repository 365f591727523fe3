//! The host side of the borrowed views: the vtables through which an extension reads and
//! changes the request or response in place. It lives in `loader/` with the rest of the
//! host's side of the ABI, where the runtime keeps its unsafe code.

use std::ffi::c_void;
use std::marker::PhantomData;
use std::net::SocketAddr;

use abi_stable::std_types::{RErr, RNone, ROk, ROption, RResult, RSlice, RSome, RStr, RString};
use beginnings_abi::ffi::{MessageVTable, MessageVTableRef, MessageView, PeerAddress, TableHeader};

use super::guard::guarded;
use http::{HeaderMap, Method, Uri};

use crate::routing::{RequestValues, Response};

/// The time the host measured in each hook and in the handler, on profiled routes.
#[derive(Debug, Default)]
pub(crate) struct Timings(pub Vec<(std::sync::Arc<str>, std::time::Duration)>);

impl Timings {
    /// `Server-Timing` entries: `ext-cors;dur=0.012, handler;dur=1.250` (milliseconds).
    pub fn render(&self) -> String {
        let mut merged: Vec<(&str, std::time::Duration)> = Vec::new();
        for (name, took) in &self.0 {
            match merged.iter_mut().find(|(n, _)| n == &&**name) {
                Some((_, total)) => *total += *took,
                None => merged.push((name, *took)),
            }
        }
        merged
            .iter()
            .map(|(name, took)| format!("{name};dur={:.3}", took.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What a request hook sees.
pub(crate) struct RequestSide<'a> {
    pub route: &'a str,
    pub request_id: &'a str,
    /// When the pipeline started on the request (host monotonic nanoseconds).
    pub started_ns: u64,
    pub timings: Option<&'a parking_lot::Mutex<Timings>>,
    pub parts: &'a mut http::request::Parts,
    pub peer: Option<SocketAddr>,
    /// The buffered body, when a filter of the chain asked for it.
    pub body: &'a [u8],
    /// Values extensions attach for later extensions and the handler.
    pub values: &'a mut RequestValues,
}

/// What a response hook sees: the response and the request it answers.
pub(crate) struct ResponseSide<'a> {
    pub route: &'a str,
    pub started_ns: u64,
    pub timings: Option<&'a parking_lot::Mutex<Timings>>,
    pub request_id: &'a str,
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub response: &'a mut Response,
    pub peer: Option<SocketAddr>,
    pub values: Option<&'a RequestValues>,
}

/// The accessors the vtable needs from either side.
pub(crate) trait Side {
    fn started_ns(&self) -> u64;
    fn timings(&self) -> Option<&parking_lot::Mutex<Timings>>;
    fn route(&self) -> &str;
    fn request_id(&self) -> &str;
    fn method(&self) -> &str;
    fn uri(&self) -> &Uri;
    fn status(&self) -> u16;
    fn headers(&self) -> &HeaderMap;
    fn headers_mut(&mut self) -> &mut HeaderMap;
    fn peer(&self) -> Option<SocketAddr>;
    fn body(&self) -> &[u8];
    fn value(&self, name: &str) -> Option<&str>;
    fn set_value(&mut self, name: &str, value: &str) -> Result<(), String>;
}

impl Side for RequestSide<'_> {
    fn started_ns(&self) -> u64 {
        self.started_ns
    }
    fn timings(&self) -> Option<&parking_lot::Mutex<Timings>> {
        self.timings
    }
    fn route(&self) -> &str {
        self.route
    }
    fn request_id(&self) -> &str {
        self.request_id
    }
    fn method(&self) -> &str {
        self.parts.method.as_str()
    }
    fn uri(&self) -> &Uri {
        &self.parts.uri
    }
    fn status(&self) -> u16 {
        0
    }
    fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }
    fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.parts.headers
    }
    fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }
    fn body(&self) -> &[u8] {
        self.body
    }
    fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name)
    }
    fn set_value(&mut self, name: &str, value: &str) -> Result<(), String> {
        self.values.set(name, value)
    }
}

impl Side for ResponseSide<'_> {
    fn started_ns(&self) -> u64 {
        self.started_ns
    }
    fn timings(&self) -> Option<&parking_lot::Mutex<Timings>> {
        self.timings
    }
    fn route(&self) -> &str {
        self.route
    }
    fn request_id(&self) -> &str {
        self.request_id
    }
    fn method(&self) -> &str {
        self.method.as_str()
    }
    fn uri(&self) -> &Uri {
        self.uri
    }
    fn status(&self) -> u16 {
        self.response.status().as_u16()
    }
    fn headers(&self) -> &HeaderMap {
        self.response.headers()
    }
    fn headers_mut(&mut self) -> &mut HeaderMap {
        self.response.headers_mut()
    }
    fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }
    fn body(&self) -> &[u8] {
        &[]
    }
    fn value(&self, name: &str) -> Option<&str> {
        self.values?.get(name)
    }
    fn set_value(&mut self, name: &str, _value: &str) -> Result<(), String> {
        Err(format!(
            "cannot attach value {name:?} in a response hook: the handler has already run"
        ))
    }
}

/// A view of `side` valid while `side` is borrowed.
pub(crate) fn view<'a, S: Side + 'a>(side: &'a mut S) -> MessageView<'a> {
    // SAFETY: the accessors of `VTables::<S>` read `this` as the `S` borrowed here for `'a`.
    unsafe {
        MessageView::new(
            (side as *mut S).cast::<c_void>(),
            MessageVTableRef::of(VTables::<S>::VTABLE),
        )
    }
}

mod headers;

use headers::{
    append_header, header, header_by_id, header_nth, put_headers, put_prepared, remove_header,
    set_header,
};
pub(crate) use headers::{parse_header, parse_name};

/// One constant vtable per side type.
struct VTables<S>(PhantomData<S>);

impl<S: Side> VTables<S> {
    const VTABLE: &'static MessageVTable = &MessageVTable {
        table_header: TableHeader::of::<MessageVTable>(),
        method: method::<S>,
        path: path::<S>,
        query: query::<S>,
        status: status::<S>,
        header: header::<S>,
        set_header: set_header::<S>,
        append_header: append_header::<S>,
        remove_header: remove_header::<S>,
        peer_addr: peer_addr::<S>,
        body: body::<S>,
        value: value::<S>,
        set_value: set_value::<S>,
        route: route::<S>,
        request_id: request_id::<S>,
        started_ns: started_ns::<S>,
        timings: timings::<S>,
        header_nth: header_nth::<S>,
        put_prepared: put_prepared::<S>,
        peer: peer::<S>,
        header_by_id: header_by_id::<S>,
        put_headers: put_headers::<S>,
    };
}

/// # Safety
/// `this` must be the `S` a view was made from, still borrowed by that view.
pub(super) unsafe fn side<'a, S>(this: *const c_void) -> &'a S {
    // SAFETY: guaranteed by the caller; views are only made by `view` above.
    unsafe { &*this.cast::<S>() }
}

/// # Safety
/// As for [`side`], and no other reference to the side is in use.
pub(super) unsafe fn side_mut<'a, S>(this: *mut c_void) -> &'a mut S {
    // SAFETY: guaranteed by the caller; the view holds the only borrow.
    unsafe { &mut *this.cast::<S>() }
}

/// Widens a borrow to `'static` for the FFI signature; the SDK narrows it back to the view.
fn erase(text: &str) -> RStr<'static> {
    // SAFETY: the string lives in the message behind the view; the vtable contract (see
    // `MessageVTable`) forbids using it after the hook or after a change to the message.
    RStr::from_str(unsafe { &*(text as *const str) })
}

unsafe extern "C" fn started_ns<S: Side>(this: *const c_void) -> u64 {
    guarded(
        "started_ns",
        || 0,
        || {
            // SAFETY: the extension passes back the pointer of the view it was given.
            unsafe { side::<S>(this) }.started_ns()
        },
    )
}

unsafe extern "C" fn timings<S: Side>(this: *const c_void) -> RString {
    guarded("timings", RString::new, || {
        // SAFETY: as in `started_ns`.
        match unsafe { side::<S>(this) }.timings() {
            Some(timings) => RString::from(timings.lock().render()),
            None => RString::new(),
        }
    })
}

unsafe extern "C" fn request_id<S: Side>(this: *const c_void) -> RStr<'static> {
    guarded("request_id", empty, || {
        // SAFETY: the extension passes back the pointer of the view it was given.
        erase(unsafe { side::<S>(this) }.request_id())
    })
}

unsafe extern "C" fn route<S: Side>(this: *const c_void) -> RStr<'static> {
    guarded("route", empty, || {
        // SAFETY: the extension passes back the pointer of the view it was given.
        erase(unsafe { side::<S>(this) }.route())
    })
}

unsafe extern "C" fn method<S: Side>(this: *const c_void) -> RStr<'static> {
    guarded("method", empty, || {
        // SAFETY: the extension passes back the pointer of the view it was given.
        erase(unsafe { side::<S>(this) }.method())
    })
}

unsafe extern "C" fn path<S: Side>(this: *const c_void) -> RStr<'static> {
    guarded("path", empty, || {
        // SAFETY: as in `method`.
        erase(unsafe { side::<S>(this) }.uri().path())
    })
}

unsafe extern "C" fn query<S: Side>(this: *const c_void) -> RStr<'static> {
    guarded("query", empty, || {
        // SAFETY: as in `method`.
        erase(unsafe { side::<S>(this) }.uri().query().unwrap_or(""))
    })
}

unsafe extern "C" fn status<S: Side>(this: *const c_void) -> u16 {
    guarded(
        "status",
        || 0,
        || {
            // SAFETY: as in `method`.
            unsafe { side::<S>(this) }.status()
        },
    )
}

/// The empty text a text accessor answers when the host panicked.
pub(super) fn empty() -> RStr<'static> {
    RStr::from_str("")
}

/// The error a changing accessor answers when the host panicked.
pub(super) fn host_panicked() -> RResult<(), RString> {
    RErr(RString::from(
        "the host panicked while changing the message",
    ))
}

unsafe extern "C" fn peer_addr<S: Side>(this: *const c_void) -> RString {
    guarded("peer_addr", RString::new, || {
        // SAFETY: as in `method`.
        let side = unsafe { side::<S>(this) };
        side.peer()
            .map(|peer| RString::from(peer.to_string()))
            .unwrap_or_default()
    })
}

unsafe extern "C" fn peer<S: Side>(this: *const c_void) -> PeerAddress {
    guarded(
        "peer",
        || PeerAddress::UNKNOWN,
        || {
            // SAFETY: as in `method`.
            PeerAddress::from_socket(unsafe { side::<S>(this) }.peer())
        },
    )
}

unsafe extern "C" fn body<S: Side>(this: *const c_void) -> RSlice<'static, u8> {
    guarded(
        "body",
        || RSlice::from_slice(&[]),
        || {
            // SAFETY: as in `method`.
            let side = unsafe { side::<S>(this) };
            // SAFETY: the body outlives the hook; see `erase`.
            RSlice::from_slice(unsafe { &*(side.body() as *const [u8]) })
        },
    )
}

unsafe extern "C" fn value<S: Side>(this: *const c_void, name: RStr<'_>) -> ROption<RStr<'static>> {
    guarded(
        "value",
        || RNone,
        || {
            // SAFETY: as in `method`.
            let side = unsafe { side::<S>(this) };
            match side.value(name.as_str()) {
                Some(value) => RSome(erase(value)),
                None => RNone,
            }
        },
    )
}

unsafe extern "C" fn set_value<S: Side>(
    this: *mut c_void,
    name: RStr<'_>,
    value: RStr<'_>,
) -> RResult<(), RString> {
    guarded("set_value", host_panicked, || {
        // SAFETY: as in `set_header`.
        let side = unsafe { side_mut::<S>(this) };
        match side.set_value(name.as_str(), value.as_str()) {
            Ok(()) => ROk(()),
            Err(message) => RErr(RString::from(message)),
        }
    })
}
