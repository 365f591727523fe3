//! Requests and responses as a test builds and reads them, and the view vtable over them
//! (the same accessors the real host provides).

use std::ffi::c_void;
use std::marker::PhantomData;
use std::net::SocketAddr;

use abi_stable::std_types::{RErr, RNone, ROk, ROption, RResult, RSlice, RSome, RStr, RString};

use crate::ffi::{
    HeaderPut, MessageVTable, MessageVTableRef, MessageView, PeerAddress, TableHeader,
};

/// A request for a test: build it, run hooks on it, read what they changed.
#[derive(Debug, Clone, Default)]
pub struct TestRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    /// The route template; defaults to the path.
    pub route: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub peer: Option<SocketAddr>,
    pub request_id: String,
    /// Values extensions attached (`auth.subject`, `csp.nonce`).
    pub values: Vec<(String, String)>,
}

impl TestRequest {
    pub fn new(method: &str, path_and_query: &str) -> Self {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        TestRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            route: path.to_string(),
            ..TestRequest::default()
        }
    }

    pub fn get(path: &str) -> Self {
        TestRequest::new("GET", path)
    }

    pub fn post(path: &str) -> Self {
        TestRequest::new("POST", path)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn peer(mut self, peer: SocketAddr) -> Self {
        self.peer = Some(peer);
        self
    }

    pub fn route(mut self, template: &str) -> Self {
        self.route = template.to_string();
        self
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// A value an extension attached.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A response for a test: what the handler answered, then what the hooks made of it.
#[derive(Debug, Clone, Default)]
pub struct TestResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn new(status: u16) -> Self {
        TestResponse {
            status,
            ..TestResponse::default()
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn header_value(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// Every value of a header.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }
}

fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    headers
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.as_str())
}

/// What a view points at: the request, and the response once there is one.
pub(crate) struct Exchange<'a> {
    pub request: &'a mut TestRequest,
    pub response: Option<&'a mut TestResponse>,
}

pub(crate) fn view<'a>(exchange: &'a mut Exchange<'_>) -> MessageView<'a> {
    MessageView {
        this: (exchange as *mut Exchange<'_>).cast::<c_void>(),
        vtable: MessageVTableRef::of(&VTABLE),
        borrow: PhantomData,
    }
}

static VTABLE: MessageVTable = MessageVTable {
    table_header: TableHeader::of::<MessageVTable>(),
    method,
    path,
    query,
    status,
    header,
    set_header,
    append_header,
    remove_header,
    peer_addr,
    body,
    value,
    set_value,
    route,
    request_id,
    started_ns,
    timings,
    header_nth,
    put_prepared,
    peer,
    header_by_id,
    put_headers,
};

/// # Safety
/// `this` must come from [`view`] and still be borrowed by it.
unsafe fn exchange<'a>(this: *const c_void) -> &'a mut Exchange<'a> {
    // SAFETY: guaranteed by the caller; the view holds the only borrow.
    unsafe { &mut *(this as *mut Exchange<'a>) }
}

fn erase(text: &str) -> RStr<'static> {
    // SAFETY: the text lives in the test's request or response, which outlives the hook;
    // the SDK narrows the borrow back to the view.
    RStr::from_str(unsafe { &*(text as *const str) })
}

fn headers<'a>(exchange: &'a mut Exchange<'_>) -> &'a mut Vec<(String, String)> {
    match exchange.response.as_deref_mut() {
        Some(response) => &mut response.headers,
        None => &mut exchange.request.headers,
    }
}

unsafe extern "C" fn method(this: *const c_void) -> RStr<'static> {
    // SAFETY: the SDK passes back its view's pointer.
    erase(&unsafe { exchange(this) }.request.method)
}

unsafe extern "C" fn path(this: *const c_void) -> RStr<'static> {
    // SAFETY: as in `method`.
    erase(&unsafe { exchange(this) }.request.path)
}

unsafe extern "C" fn query(this: *const c_void) -> RStr<'static> {
    // SAFETY: as in `method`.
    erase(&unsafe { exchange(this) }.request.query)
}

unsafe extern "C" fn route(this: *const c_void) -> RStr<'static> {
    // SAFETY: as in `method`.
    erase(&unsafe { exchange(this) }.request.route)
}

unsafe extern "C" fn request_id(this: *const c_void) -> RStr<'static> {
    // SAFETY: as in `method`.
    erase(&unsafe { exchange(this) }.request.request_id)
}

unsafe extern "C" fn started_ns(_this: *const c_void) -> u64 {
    0
}

unsafe extern "C" fn timings(_this: *const c_void) -> RString {
    RString::new()
}

unsafe extern "C" fn status(this: *const c_void) -> u16 {
    // SAFETY: as in `method`.
    unsafe { exchange(this) }
        .response
        .as_ref()
        .map_or(0, |response| response.status)
}

unsafe extern "C" fn header(this: *const c_void, name: RStr<'_>) -> ROption<RSlice<'static, u8>> {
    // SAFETY: as in `method`.
    match find(headers(unsafe { exchange(this) }), name.as_str()) {
        Some(value) => RSome(RSlice::from_slice(erase(value).as_str().as_bytes())),
        None => RNone,
    }
}

unsafe extern "C" fn header_nth(
    this: *const c_void,
    name: RStr<'_>,
    index: usize,
) -> ROption<RSlice<'static, u8>> {
    let name = name.as_str().to_ascii_lowercase();
    // SAFETY: as in `method`.
    let found = headers(unsafe { exchange(this) })
        .iter()
        .filter(|(key, _)| *key == name)
        .nth(index);
    match found {
        Some((_, value)) => RSome(RSlice::from_slice(erase(value).as_str().as_bytes())),
        None => RNone,
    }
}

pub(crate) fn check(name: &str, value: &str) -> Result<(), RString> {
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !name_ok {
        return Err(RString::from(format!("invalid header name {name:?}")));
    }
    if value.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
        return Err(RString::from(format!(
            "invalid value for header {name}: {value:?}"
        )));
    }
    Ok(())
}

/// Replaces every value of the header (`append` false) or adds one; names are kept lowercase.
fn put(headers: &mut Vec<(String, String)>, name: &str, value: &str, append: bool) {
    let name = name.to_ascii_lowercase();
    if !append {
        headers.retain(|(key, _)| *key != name);
    }
    headers.push((name, value.to_string()));
}

/// # Safety
/// As for [`exchange`].
unsafe fn put_checked(
    this: *mut c_void,
    name: RStr<'_>,
    value: RStr<'_>,
    append: bool,
) -> RResult<(), RString> {
    if let Err(message) = check(name.as_str(), value.as_str()) {
        return RErr(message);
    }
    // SAFETY: guaranteed by the caller.
    let headers = headers(unsafe { exchange(this) });
    put(headers, name.as_str(), value.as_str(), append);
    ROk(())
}

unsafe extern "C" fn set_header(
    this: *mut c_void,
    name: RStr<'_>,
    value: RStr<'_>,
) -> RResult<(), RString> {
    // SAFETY: as in `method`.
    unsafe { put_checked(this, name, value, false) }
}

unsafe extern "C" fn append_header(
    this: *mut c_void,
    name: RStr<'_>,
    value: RStr<'_>,
) -> RResult<(), RString> {
    // SAFETY: as in `method`.
    unsafe { put_checked(this, name, value, true) }
}

unsafe extern "C" fn put_prepared(this: *mut c_void, id: u32, append: bool) -> bool {
    let Some((name, value)) = super::host::PREPARED
        .lock()
        .unwrap()
        .get(id as usize)
        .cloned()
    else {
        return false;
    };
    // SAFETY: as in `method`.
    put(headers(unsafe { exchange(this) }), &name, &value, append);
    true
}

unsafe extern "C" fn remove_header(this: *mut c_void, name: RStr<'_>) -> bool {
    // SAFETY: as in `method`.
    let headers = headers(unsafe { exchange(this) });
    let lower = name.as_str().to_ascii_lowercase();
    let before = headers.len();
    headers.retain(|(key, _)| *key != lower);
    headers.len() != before
}

unsafe extern "C" fn peer_addr(this: *const c_void) -> RString {
    // SAFETY: as in `method`.
    unsafe { exchange(this) }
        .request
        .peer
        .map(|peer| RString::from(peer.to_string()))
        .unwrap_or_default()
}

unsafe extern "C" fn peer(this: *const c_void) -> PeerAddress {
    // SAFETY: as in `method`.
    PeerAddress::from_socket(unsafe { exchange(this) }.request.peer)
}

/// The name prepared with the test host under `id`.
fn prepared_name(id: u32) -> Option<String> {
    super::host::PREPARED_NAMES
        .lock()
        .unwrap()
        .get(id as usize)
        .cloned()
}

unsafe extern "C" fn header_by_id(
    this: *const c_void,
    name: u32,
    index: usize,
) -> ROption<RSlice<'static, u8>> {
    match prepared_name(name) {
        // SAFETY: as in `method`.
        Some(name) => unsafe { header_nth(this, RStr::from_str(&name), index) },
        None => RNone,
    }
}

unsafe extern "C" fn put_headers(
    this: *mut c_void,
    puts: RSlice<'_, HeaderPut<'_>>,
) -> RResult<(), RString> {
    for put in puts.iter() {
        let Some(name) = prepared_name(put.name) else {
            return RErr(RString::from(format!(
                "unknown prepared header name {}",
                put.name
            )));
        };
        // SAFETY: as in `method`.
        let put = unsafe { put_checked(this, RStr::from_str(&name), put.value, put.append) };
        if let RErr(message) = put {
            return RErr(message);
        }
    }
    ROk(())
}

unsafe extern "C" fn body(this: *const c_void) -> RSlice<'static, u8> {
    // SAFETY: as in `method`.
    let body = &unsafe { exchange(this) }.request.body;
    // SAFETY: see `erase`.
    RSlice::from_slice(unsafe { &*(body.as_slice() as *const [u8]) })
}

unsafe extern "C" fn value(this: *const c_void, name: RStr<'_>) -> ROption<RStr<'static>> {
    // SAFETY: as in `method`.
    match unsafe { exchange(this) }.request.value(name.as_str()) {
        Some(value) => RSome(erase(value)),
        None => RNone,
    }
}

unsafe extern "C" fn set_value(
    this: *mut c_void,
    name: RStr<'_>,
    value: RStr<'_>,
) -> RResult<(), RString> {
    // SAFETY: as in `method`.
    let exchange = unsafe { exchange(this) };
    if exchange.response.is_some() {
        return RErr(RString::from(format!(
            "cannot attach value {:?} in a response hook: the handler has already run",
            name.as_str()
        )));
    }
    let values = &mut exchange.request.values;
    values.retain(|(key, _)| key != name.as_str());
    values.push((name.as_str().to_string(), value.as_str().to_string()));
    ROk(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestHost;
    use crate::{PreparedName, Request, Response};

    /// The message table of a host built for ABI 1.1: the same accessors, its header saying
    /// it ends before the fields 1.2 appended.
    static VTABLE_1_1: MessageVTable = MessageVTable {
        table_header: TableHeader {
            size: std::mem::offset_of!(MessageVTable, peer) as u32,
            version: crate::ffi::AbiVersion::new(1, 1),
        },
        ..VTABLE
    };

    fn view_with<'a>(
        exchange: &'a mut Exchange<'_>,
        table: &'static MessageVTable,
    ) -> MessageView<'a> {
        MessageView {
            this: (exchange as *mut Exchange<'_>).cast::<c_void>(),
            vtable: MessageVTableRef::of(table),
            borrow: PhantomData,
        }
    }

    /// The 1.2 calls of the SDK give the same answers on a 1.2 host (by id, typed) and on a
    /// 1.1 host (by text), so an extension built for 1.2 runs unchanged on either.
    #[test]
    fn prepared_names_and_the_typed_peer_answer_alike_on_a_1_2_and_a_1_1_host() {
        let host = TestHost::new().host();
        let forwarded = host.prepare_name("X-Forwarded-For").unwrap();
        let limit = host.prepare_name("ratelimit-limit").unwrap();
        assert!(forwarded.id.is_some(), "the test host is a 1.2 host");
        let unknown = PreparedName {
            id: Some(u32::MAX),
            text: "x-unknown".into(),
        };
        let peer: SocketAddr = "[2001:db8::1]:4321".parse().unwrap();
        for table in [&VTABLE, &VTABLE_1_1] {
            let mut request = TestRequest::get("/")
                .header("x-forwarded-for", "1.1.1.1")
                .header("x-forwarded-for", "2.2.2.2")
                .peer(peer);
            let mut response = TestResponse::new(200);
            {
                let mut exchange = Exchange {
                    request: &mut request,
                    response: None,
                };
                let view = Request::new(view_with(&mut exchange, table));
                assert_eq!(view.header_by(&forwarded), Some("1.1.1.1"));
                assert_eq!(view.header_nth_by(&forwarded, 1), Some(&b"2.2.2.2"[..]));
                assert_eq!(view.header_nth_by(&forwarded, 2), None);
                assert_eq!(view.peer_addr(), Some(peer));
            }
            {
                let mut exchange = Exchange {
                    request: &mut request,
                    response: Some(&mut response),
                };
                let mut view = Response::new(view_with(&mut exchange, table));
                view.set_headers_by(&[(&limit, "100"), (&forwarded, "3.3.3.3")])
                    .unwrap();
                assert!(view.set_headers_by(&[(&limit, "bad\nvalue")]).is_err());
                let refused = view.set_headers_by(&[(&unknown, "1")]);
                if std::ptr::eq(table, &VTABLE) {
                    assert!(refused.is_err(), "an id the host never gave is refused");
                }
            }
            assert_eq!(response.header_value("ratelimit-limit"), Some("100"));
            assert_eq!(response.header_value("x-forwarded-for"), Some("3.3.3.3"));
        }
    }
}
