//! Adapters from the safe traits to the FFI objects. Every call from the host lands here and
//! runs inside `catch_unwind`: a panic unwinding out of the library would end the process.

use std::any::Any;
use std::collections::HashMap;
use std::ffi::c_void;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use abi_stable::std_types::{RErr, RNone, ROk, ROption, RSlice, RSome, RStr, RString, RVec};
use async_ffi::BorrowingFfiFuture;
use futures_util::FutureExt;
use serde_json::Value;

use super::{Action, Error, Extension, Filter, Hooks, Request, Response, Route, route_keys};
use crate::ffi::{
    ExtensionObject, ExtensionVTable, FilterObject, FilterVTable, HookError, HookResult,
    MessageView, Reply, RequestFuture, StatePtr, TableHeader, caps,
};

/// Builds the extension object the host receives for an instance of `E`.
pub(crate) fn extension_object<E: Extension>(extension: E) -> ExtensionObject {
    let cell = ExtensionCell {
        extension,
        slots: Mutex::new(HashMap::new()),
    };
    ExtensionObject {
        this: Box::into_raw(Box::new(cell)).cast(),
        vtable: (ExtensionFunctions::<E>::VTABLE as *const ExtensionVTable).cast(),
    }
}

/// An extension instance and the filters it built while the host asked whether it takes
/// part in a route, waiting for the host to ask for them (one per distinct settings).
struct ExtensionCell<E: Extension> {
    extension: E,
    slots: Mutex<HashMap<String, Slot<E::Filter>>>,
}

enum Slot<F> {
    /// Built by `applies`, not yet handed over.
    Pending(F),
    /// Handed over: the host keeps it for every route with these settings.
    Taken,
}

/// The extension table of `E`, one per type, built at compile time.
struct ExtensionFunctions<E>(PhantomData<E>);

impl<E: Extension> ExtensionFunctions<E> {
    const VTABLE: &'static ExtensionVTable = &ExtensionVTable {
        table_header: TableHeader::of::<ExtensionVTable>(),
        drop: drop_boxed::<ExtensionCell<E>>,
        applies: Self::applies,
        new_filter: Self::new_filter,
        command: Self::command,
        route_keys: Self::route_keys,
        on_startup: Self::on_startup,
        on_shutdown: Self::on_shutdown,
        values_set: Self::values_set,
        values_read: Self::values_read,
    };

    /// # Safety
    /// `this` is a cell made by [`extension_object`] and not yet dropped.
    unsafe fn get<'a>(this: *const c_void) -> &'a ExtensionCell<E> {
        // SAFETY: the caller's contract.
        unsafe { &*this.cast::<ExtensionCell<E>>() }
    }

    /// The extension's answer for one route: its filter, or none.
    fn filter_for(
        cell: &ExtensionCell<E>,
        path: RStr<'_>,
        methods: RSlice<'_, RStr<'_>>,
        route_config_json: RStr<'_>,
    ) -> Result<Option<E::Filter>, Error> {
        let settings: E::RouteConfig =
            route_keys::settings_of(path.as_str(), route_config_json.as_str())?;
        let methods: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
        let route = Route {
            path: path.as_str(),
            methods: &methods,
            settings: &settings,
        };
        cell.extension.filter(&route)
    }

    unsafe extern "C" fn applies(
        this: *const c_void,
        path: RStr<'_>,
        methods: RSlice<'_, RStr<'_>>,
        route_config_json: RStr<'_>,
    ) -> HookResult<bool> {
        guard(|| {
            // SAFETY: the host passes back the object's own pointer.
            let cell = unsafe { Self::get(this) };
            let Some(filter) = Self::filter_for(cell, path, methods, route_config_json)? else {
                return Ok(false);
            };
            // The host asks for the filter of these settings next, unless it holds one.
            let mut slots = cell.slots.lock().unwrap_or_else(|e| e.into_inner());
            if !slots.contains_key(route_config_json.as_str()) {
                slots.insert(
                    route_config_json.as_str().to_string(),
                    Slot::Pending(filter),
                );
            }
            Ok(true)
        })
    }

    unsafe extern "C" fn new_filter(
        this: *const c_void,
        path: RStr<'_>,
        methods: RSlice<'_, RStr<'_>>,
        route_config_json: RStr<'_>,
    ) -> HookResult<FilterObject> {
        guard(|| {
            // SAFETY: as in `applies`.
            let cell = unsafe { Self::get(this) };
            let pending = {
                let mut slots = cell.slots.lock().unwrap_or_else(|e| e.into_inner());
                match slots.insert(route_config_json.as_str().to_string(), Slot::Taken) {
                    Some(Slot::Pending(filter)) => Some(filter),
                    _ => None,
                }
            };
            let filter = match pending {
                Some(filter) => filter,
                // A later generation (a reload) asks again for settings handed over before.
                None => {
                    Self::filter_for(cell, path, methods, route_config_json)?.ok_or_else(|| {
                        Error::new(format!(
                            "route {path}: the extension declined the route it had taken part in"
                        ))
                    })?
                }
            };
            filter_object(filter)
        })
    }

    unsafe extern "C" fn command(
        this: *const c_void,
        name: RStr<'_>,
        argument_json: RStr<'_>,
    ) -> HookResult<RString> {
        guard(|| {
            // SAFETY: as in `applies`.
            let cell = unsafe { Self::get(this) };
            let argument: Value = if argument_json.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(argument_json.as_str())?
            };
            let answer = cell.extension.command(name.as_str(), argument)?;
            Ok(RString::from(answer.to_string()))
        })
    }

    unsafe extern "C" fn route_keys(_this: *const c_void) -> ROption<RVec<RString>> {
        let keys = catch_unwind(|| {
            route_keys::keys_of::<E::RouteConfig>()
                .map(|keys| keys.iter().map(|key| RString::from(*key)).collect())
        });
        // A probe that panicked tells nothing: every key then matters.
        keys.ok().flatten().map_or(RNone, RSome)
    }

    unsafe extern "C" fn on_startup(this: *const c_void) -> HookResult<()> {
        // SAFETY: as in `applies`.
        guard(|| unsafe { Self::get(this) }.extension.on_startup())
    }

    unsafe extern "C" fn on_shutdown(this: *const c_void) -> HookResult<()> {
        // SAFETY: as in `applies`.
        guard(|| unsafe { Self::get(this) }.extension.on_shutdown())
    }

    unsafe extern "C" fn values_set(this: *const c_void) -> HookResult<RVec<RString>> {
        guard(|| {
            // SAFETY: as in `applies`.
            let cell = unsafe { Self::get(this) };
            Ok(value_names(cell.extension.values_set()))
        })
    }

    unsafe extern "C" fn values_read(this: *const c_void) -> HookResult<RVec<RString>> {
        guard(|| {
            // SAFETY: as in `applies`.
            let cell = unsafe { Self::get(this) };
            Ok(value_names(cell.extension.values_read()))
        })
    }
}

fn value_names(names: Vec<String>) -> RVec<RString> {
    names.into_iter().map(RString::from).collect()
}

/// A filter as the host receives it, with its hooks asked once (a panic there is a build
/// error, not a filter that silently does nothing).
fn filter_object<F: Filter>(filter: F) -> Result<FilterObject, Error> {
    let hooks = catch_unwind(AssertUnwindSafe(|| filter.hooks()))
        .map_err(|payload| Error::new(format!("panicked: {}", panic_text(payload.as_ref()))))?;
    let cell = FilterCell {
        caps: caps_of::<F>(hooks),
        filter,
    };
    Ok(FilterObject {
        this: Box::into_raw(Box::new(cell)).cast(),
        vtable: (FilterFunctions::<F>::VTABLE as *const FilterVTable).cast(),
    })
}

/// A filter and the capability bits of its declared hooks.
struct FilterCell<F> {
    filter: F,
    caps: u32,
}

fn caps_of<F: Filter>(hooks: Hooks) -> u32 {
    let mut bits = 0;
    if hooks.has_request() {
        bits |= caps::ON_REQUEST;
        if hooks.is_request_async() {
            bits |= caps::ON_REQUEST_ASYNC;
        }
    }
    if hooks.has_response() {
        bits |= caps::ON_RESPONSE;
    }
    if hooks.reads_body() {
        bits |= caps::NEEDS_BODY;
    }
    if is_stateful::<F>() {
        bits |= caps::PER_REQUEST_STATE;
    }
    bits
}

/// Frees a boxed object; a panicking destructor is contained here, inside the library.
unsafe extern "C" fn drop_boxed<T>(this: *mut c_void) {
    // SAFETY: `this` was made by `Box::into_raw` for a `T` and the host drops it once.
    let boxed = unsafe { Box::from_raw(this.cast::<T>()) };
    if catch_unwind(AssertUnwindSafe(move || drop(boxed))).is_err() {
        log::error!("a destructor panicked; the panic was contained");
    }
}

/// Whether `F` keeps per-request state; a zero-sized state is made on the stack for free.
const fn is_stateful<F: Filter>() -> bool {
    std::mem::size_of::<F::State>() != 0
}

/// Runs `hook` with the filter's state: the host's per-request state when the filter is
/// stateful, a fresh zero-sized one otherwise.
fn with_state<F: Filter, T>(state: StatePtr, hook: impl FnOnce(&mut F::State) -> T) -> T {
    if is_stateful::<F>() && !state.0.is_null() {
        // SAFETY: a non-null state comes from `new_state` of this filter type and is used by
        // one request at a time, which the host guarantees.
        hook(unsafe { &mut *state.0.cast::<F::State>() })
    } else {
        hook(&mut F::State::default())
    }
}

/// The filter table of `F`, one per type, built at compile time.
struct FilterFunctions<F>(PhantomData<F>);

impl<F: Filter> FilterFunctions<F> {
    const VTABLE: &'static FilterVTable = &FilterVTable {
        table_header: TableHeader::of::<FilterVTable>(),
        drop: drop_boxed::<FilterCell<F>>,
        caps: Self::caps,
        new_state: Self::new_state,
        drop_state: Self::drop_state,
        on_request: Self::on_request,
        on_request_async: Self::on_request_async,
        on_response: Self::on_response,
        on_complete: Self::on_complete,
    };

    /// # Safety
    /// `this` is a cell made by [`filter_object`] and not yet dropped.
    unsafe fn get<'a>(this: *const c_void) -> &'a F {
        // SAFETY: the caller's contract.
        unsafe { &(*this.cast::<FilterCell<F>>()).filter }
    }

    unsafe extern "C" fn caps(this: *const c_void) -> u32 {
        // SAFETY: the host passes back the object's own pointer.
        unsafe { (*this.cast::<FilterCell<F>>()).caps }
    }

    unsafe extern "C" fn new_state(_this: *const c_void) -> StatePtr {
        if !is_stateful::<F>() {
            return StatePtr::NONE;
        }
        match catch_unwind(F::State::default) {
            Ok(state) => StatePtr(Box::into_raw(Box::new(state)).cast()),
            // The hooks then run with a fresh state each; the panic was logged by the hook.
            Err(_) => StatePtr::NONE,
        }
    }

    unsafe extern "C" fn drop_state(_this: *const c_void, state: StatePtr) {
        if is_stateful::<F>() && !state.0.is_null() {
            // SAFETY: made by `new_state` above with `Box::into_raw`, dropped once by the host.
            unsafe { drop_boxed::<F::State>(state.0) }
        }
    }

    unsafe extern "C" fn on_request(
        this: *const c_void,
        state: StatePtr,
        request: MessageView<'_>,
    ) -> HookResult<ROption<Reply>> {
        guard(|| {
            // SAFETY: as in `caps`.
            let filter = unsafe { Self::get(this) };
            let mut request = Request::new(request);
            let action = with_state::<F, _>(state, |state| filter.on_request(state, &mut request))?;
            Ok(into_ffi(action))
        })
    }

    unsafe extern "C" fn on_request_async<'a>(
        this: *const c_void,
        state: StatePtr,
        request: MessageView<'a>,
    ) -> RequestFuture<'a> {
        // SAFETY: as in `caps`; the host keeps the filter alive while it polls the future.
        let filter: &'a F = unsafe { Self::get(this) };
        let shared_state: Option<&'a mut F::State> = if is_stateful::<F>() && !state.0.is_null() {
            // SAFETY: as in `with_state`; the host keeps the state alive and unshared until
            // this future completes or is dropped.
            Some(unsafe { &mut *state.0.cast::<F::State>() })
        } else {
            None
        };
        let future = async move {
            let mut request = Request::new(request);
            let mut local = F::State::default();
            let state = match shared_state {
                Some(state) => state,
                None => &mut local,
            };
            let action = AssertUnwindSafe(filter.on_request_async(state, &mut request))
                .catch_unwind()
                .await;
            match action {
                Ok(Ok(action)) => ROk(into_ffi(action)),
                Ok(Err(error)) => RErr(hook_error(error)),
                Err(payload) => RErr(panic_error(payload.as_ref())),
            }
        };
        // The host drops an unfinished future on timeout: its destructor must not unwind
        // out of the library.
        BorrowingFfiFuture::new(DropGuarded::new(future))
    }

    unsafe extern "C" fn on_response(
        this: *const c_void,
        state: StatePtr,
        response: MessageView<'_>,
    ) -> HookResult<()> {
        guard(|| {
            // SAFETY: as in `caps`.
            let filter = unsafe { Self::get(this) };
            let mut response = Response::new(response);
            with_state::<F, _>(state, |state| filter.on_response(state, &mut response))
        })
    }
}

impl<F: Filter> FilterFunctions<F> {
    unsafe extern "C" fn on_complete(this: *const c_void) {
        // SAFETY: the host passes back the object's own pointer.
        let filter = unsafe { Self::get(this) };
        let _ = catch_unwind(AssertUnwindSafe(|| filter.on_complete()));
    }
}

/// A future whose destructor cannot unwind: a panic while dropping it is caught and logged.
struct DropGuarded<F> {
    inner: std::mem::ManuallyDrop<F>,
}

impl<F> DropGuarded<F> {
    fn new(inner: F) -> Self {
        DropGuarded {
            inner: std::mem::ManuallyDrop::new(inner),
        }
    }
}

impl<F: Future> Future for DropGuarded<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out, only dropped in place.
        unsafe { self.map_unchecked_mut(|this| &mut *this.inner) }.poll(cx)
    }
}

impl<F> Drop for DropGuarded<F> {
    fn drop(&mut self) {
        let inner = &mut self.inner;
        // SAFETY: dropped in place exactly once, here.
        let dropped = catch_unwind(AssertUnwindSafe(|| unsafe {
            std::mem::ManuallyDrop::drop(inner)
        }));
        if dropped.is_err() {
            log::error!("dropping an unfinished request hook panicked; the panic was contained");
        }
    }
}

fn into_ffi(action: Action) -> ROption<Reply> {
    match action {
        Action::Continue => RNone,
        Action::Respond(reply) => RSome(reply.into_ffi()),
    }
}

/// Runs `f`, turning its error or its panic into a [`HookError`].
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, Error>) -> HookResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => ROk(value),
        Ok(Err(error)) => RErr(hook_error(error)),
        Err(payload) => RErr(panic_error(payload.as_ref())),
    }
}

fn hook_error(error: Error) -> HookError {
    HookError {
        panicked: false,
        message: RString::from(error.to_string()),
    }
}

fn panic_error(payload: &(dyn Any + Send)) -> HookError {
    HookError {
        panicked: true,
        message: RString::from(format!("panicked: {}", panic_text(payload))),
    }
}

pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "non-string panic payload"
    }
}
