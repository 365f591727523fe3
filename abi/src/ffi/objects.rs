//! The objects an extension library hands to the host: an extension instance, and the
//! filters it builds, one per distinct route configuration.

use std::ffi::c_void;

use abi_stable::{
    StableAbi, sabi_trait,
    std_types::{RBox, ROption, RResult, RSlice, RStr, RString, RVec, Tuple2},
};
use async_ffi::BorrowingFfiFuture;

use super::MessageView;

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
pub struct StatePtr(pub *mut c_void);

impl StatePtr {
    pub const NONE: StatePtr = StatePtr(std::ptr::null_mut());
}

// SAFETY: a state is used by one request at a time; the host moves it between threads only
// together with that request, as it would a `Box`.
unsafe impl Send for StatePtr {}

/// An extension instance, created from its configuration.
#[sabi_trait]
pub trait FfiExtension: Send + Sync {
    /// Whether the extension takes part in a route (path template, methods, resolved route
    /// configuration as JSON). Asked once per route at startup, never per request.
    fn applies(
        &self,
        path: RStr<'_>,
        methods: RSlice<'_, RStr<'_>>,
        route_config_json: RStr<'_>,
    ) -> HookResult<bool>;

    /// Builds the filter for one distinct route configuration.
    fn new_filter(&self, path: RStr<'_>, route_config_json: RStr<'_>) -> HookResult<FilterBox>;

    /// Answers a command from the application (`name`, JSON argument) with JSON.
    fn command(&self, name: RStr<'_>, argument_json: RStr<'_>) -> HookResult<RString>;

    /// The route settings the extension reads; `RNone` when it reads them all. Routes that
    /// differ only in other settings share one filter.
    fn route_keys(&self) -> ROption<RVec<RString>>;

    /// Runs before the listener opens, in load order.
    fn on_startup(&self) -> HookResult<()>;

    /// Runs after the server drained, in reverse load order.
    #[sabi(last_prefix_field)]
    fn on_shutdown(&self) -> HookResult<()>;
}

/// The per-route filter: phase hooks over borrowed views.
#[sabi_trait]
pub trait FfiFilter: Send + Sync {
    /// Which hooks and needs this filter has (see [`caps`]); asked once.
    fn caps(&self) -> u32;

    /// A fresh per-request state (only called with [`caps::PER_REQUEST_STATE`]).
    fn new_state(&self) -> StatePtr;

    /// Frees a state made by `new_state`, in the library that allocated it.
    fn drop_state(&self, state: StatePtr);

    /// Runs before the handler; `RSome` answers the request without calling the handler.
    fn on_request(&self, state: StatePtr, request: MessageView<'_>) -> HookResult<ROption<Reply>>;

    /// The asynchronous form of `on_request`, for filters that wait on I/O.
    fn on_request_async<'a>(
        &'a self,
        state: StatePtr,
        request: MessageView<'a>,
    ) -> RequestFuture<'a>;

    /// Runs after the handler (or an early answer), in reverse chain order.
    #[sabi(last_prefix_field)]
    fn on_response(&self, state: StatePtr, response: MessageView<'_>) -> HookResult<()>;
}

/// An owned extension instance as it crosses the boundary.
pub type ExtensionBox = FfiExtension_TO<'static, RBox<()>>;
/// An owned filter as it crosses the boundary.
pub type FilterBox = FfiFilter_TO<'static, RBox<()>>;
