//! The objects an extension library hands to the host: an extension instance, and the
//! filters it builds, one per distinct route configuration.
//!
//! Each object is a pointer to the library's own data plus a pointer to a versioned table of
//! functions (see [`super::table`]), built by the library. The host reads the table's length
//! before it calls a function appended after 1.0, so an older library's objects keep working
//! on a newer host and simply lack the newer hooks.

use std::ffi::c_void;

use abi_stable::{
    StableAbi,
    std_types::{ROption, RResult, RSlice, RStr, RString, RVec, Tuple2},
};
use async_ffi::BorrowingFfiFuture;

use super::MessageView;
use super::table::versioned_table;

/// Capability bits a filter reports once, so the host skips what a filter does not use.
pub mod caps {
    /// The filter has a synchronous request hook.
    pub const ON_REQUEST: u32 = 1;
    /// The filter has a response hook.
    pub const ON_RESPONSE: u32 = 1 << 1;
    /// The request hook is asynchronous: call `on_request_async` instead of `on_request`.
    pub const ON_REQUEST_ASYNC: u32 = 1 << 2;
    /// The request hooks read the body: buffer it (up to the route's limit) before them.
    pub const NEEDS_BODY: u32 = 1 << 3;
    /// The filter keeps state between its hooks: call `new_state` per request.
    pub const PER_REQUEST_STATE: u32 = 1 << 4;
}

/// An answer a request hook gives instead of letting the request reach the handler.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: RVec<Tuple2<RString, RString>>,
    pub body: RVec<u8>,
}

/// Why a hook failed: an error it returned, or a panic the SDK caught.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct HookError {
    pub panicked: bool,
    pub message: RString,
}

/// The result of every hook.
pub type HookResult<T> = RResult<T, HookError>;

/// What an asynchronous request hook gives back: a future borrowing the filter, its state
/// and the request for as long as the host polls it.
pub type RequestFuture<'a> = BorrowingFfiFuture<'a, HookResult<ROption<Reply>>>;

/// A filter's per-request state, owned by the library that made it; null when stateless.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct StatePtr(pub(crate) *mut c_void);

impl StatePtr {
    pub const NONE: StatePtr = StatePtr(std::ptr::null_mut());

    /// Whether the filter made no state (it keeps none, or making it failed).
    pub fn is_none(&self) -> bool {
        self.0.is_null()
    }
}

// SAFETY: a state is used by one request at a time; the host moves it between threads only
// together with that request, as it would a `Box`.
unsafe impl Send for StatePtr {}

/// An extension instance as it crosses the boundary: the library's data and its table.
/// Part of the frozen core (two pointers); the table behind `vtable` is versioned.
#[repr(C)]
#[derive(StableAbi, Debug)]
pub struct ExtensionObject {
    pub(crate) this: *mut c_void,
    /// An [`ExtensionVTable`] (read it with [`ExtensionVTableRef`]).
    pub(crate) vtable: *const c_void,
}

/// A filter as it crosses the boundary: the library's data and its table.
#[repr(C)]
#[derive(StableAbi, Debug)]
pub struct FilterObject {
    pub(crate) this: *mut c_void,
    /// A [`FilterVTable`] (read it with [`FilterVTableRef`]).
    pub(crate) vtable: *const c_void,
}

versioned_table! {
/// The functions of an extension instance, built by the library.
///
/// Every function runs inside the library's panic guard; `this` is the object's own pointer.
pub struct ExtensionVTable, read through ExtensionVTableRef {
    /// Frees the instance (once, after its last use).
    pub drop: unsafe extern "C" fn(this: *mut c_void),
    /// Whether the extension takes part in a route (path template, methods, resolved route
    /// configuration as JSON). Asked once per route at startup, never per request.
    pub applies: unsafe extern "C" fn(
        this: *const c_void,
        path: RStr<'_>,
        methods: RSlice<'_, RStr<'_>>,
        route_config_json: RStr<'_>,
    ) -> HookResult<bool>,
    /// The filter for one distinct route configuration, asked right after `applies`
    /// answered true for a route with it (whose path and methods come along).
    pub new_filter: unsafe extern "C" fn(
        this: *const c_void,
        path: RStr<'_>,
        methods: RSlice<'_, RStr<'_>>,
        route_config_json: RStr<'_>,
    ) -> HookResult<FilterObject>,
    /// Answers a command from the application (`name`, JSON argument) with JSON.
    pub command: unsafe extern "C" fn(
        this: *const c_void,
        name: RStr<'_>,
        argument_json: RStr<'_>,
    ) -> HookResult<RString>,
    /// The route settings the extension reads; `RNone` when it reads them all. Routes that
    /// differ only in other settings share one filter.
    pub route_keys: unsafe extern "C" fn(this: *const c_void) -> ROption<RVec<RString>>,
    /// Runs before the listener opens, in load order.
    pub on_startup: unsafe extern "C" fn(this: *const c_void) -> HookResult<()>,
    /// Runs after the server drained, in reverse load order.
    pub on_shutdown: unsafe extern "C" fn(this: *const c_void) -> HookResult<()>,
}
appended {
    /// (1.1) The names of the request values this instance's filters may set. Asked once,
    /// after the instance is created; a 1.0 library has no such function and sets none
    /// as far as the host knows.
    pub values_set: unsafe extern "C" fn(this: *const c_void) -> HookResult<RVec<RString>>,
    /// (1.1) The names of the request values this instance's filters read and expect an
    /// earlier extension on the route to have set: the host refuses to start a route where
    /// none does.
    pub values_read: unsafe extern "C" fn(this: *const c_void) -> HookResult<RVec<RString>>,
}
}

versioned_table! {
/// The functions of a per-route filter: phase hooks over borrowed views, built by the library.
pub struct FilterVTable, read through FilterVTableRef {
    /// Frees the filter (once, after its last use).
    pub drop: unsafe extern "C" fn(this: *mut c_void),
    /// Which hooks and needs this filter has (see [`caps`]); asked once.
    pub caps: unsafe extern "C" fn(this: *const c_void) -> u32,
    /// A fresh per-request state (only called with [`caps::PER_REQUEST_STATE`]).
    pub new_state: unsafe extern "C" fn(this: *const c_void) -> StatePtr,
    /// Frees a state made by `new_state`, in the library that allocated it.
    pub drop_state: unsafe extern "C" fn(this: *const c_void, state: StatePtr),
    /// Runs before the handler; `RSome` answers the request without calling the handler.
    pub on_request: unsafe extern "C" fn(
        this: *const c_void,
        state: StatePtr,
        request: MessageView<'_>,
    ) -> HookResult<ROption<Reply>>,
    /// The asynchronous form of `on_request`, for filters that wait on I/O. The future
    /// borrows the filter, the state and the request until it completes or is dropped.
    pub on_request_async: for<'a> unsafe extern "C" fn(
        this: *const c_void,
        state: StatePtr,
        request: MessageView<'a>,
    ) -> RequestFuture<'a>,
    /// Runs after the handler (or an early answer), in reverse chain order.
    pub on_response: unsafe extern "C" fn(
        this: *const c_void,
        state: StatePtr,
        response: MessageView<'_>,
    ) -> HookResult<()>,
}
appended {
    /// (1.3) Runs once the answer has been sent.
    pub on_complete: unsafe extern "C" fn(this: *const c_void),
}
}
