//! Adapters from the safe traits to the FFI objects. Every call from the host lands here and
//! runs inside `catch_unwind`: a panic unwinding out of the library would end the process.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RErr, RNone, ROk, ROption, RSlice, RSome, RStr, RString, RVec},
};
use async_ffi::BorrowingFfiFuture;
use futures_util::FutureExt;
use serde_json::{Map, Value};

use super::{Action, Error, Extension, Filter, Request, Response, Route};
use crate::ffi::{
    FfiExtension, FfiFilter, FfiFilter_TO, FilterBox, HookError, HookResult, MessageView, Reply,
    RequestFuture, StatePtr, caps,
};

pub(crate) struct ExtensionAdapter<E>(pub(crate) E);

struct FilterAdapter<F>(F);

impl<E: Extension> FfiExtension for ExtensionAdapter<E> {
    fn applies(
        &self,
        path: RStr<'_>,
        methods: RSlice<'_, RStr<'_>>,
        route_config_json: RStr<'_>,
    ) -> HookResult<bool> {
        guard(|| {
            let config = parse_route_config(route_config_json)?;
            let methods: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
            let route = Route {
                path: path.as_str(),
                methods: &methods,
                config: &config,
            };
            Ok(self.0.applies(&route))
        })
    }

    fn new_filter(&self, path: RStr<'_>, route_config_json: RStr<'_>) -> HookResult<FilterBox> {
        guard(|| {
            let config = parse_route_config(route_config_json)?;
            let route = Route {
                path: path.as_str(),
                methods: &[],
                config: &config,
            };
            let filter = self.0.filter(&route)?;
            Ok(FfiFilter_TO::from_value(FilterAdapter(filter), TD_Opaque))
        })
    }

    fn command(&self, name: RStr<'_>, argument_json: RStr<'_>) -> HookResult<RString> {
        guard(|| {
            let argument: Value = if argument_json.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(argument_json.as_str())?
            };
            let answer = self.0.command(name.as_str(), argument)?;
            Ok(RString::from(answer.to_string()))
        })
    }

    fn route_keys(&self) -> ROption<RVec<RString>> {
        match E::ROUTE_KEYS {
            Some(keys) => RSome(keys.iter().map(|key| RString::from(*key)).collect()),
            None => RNone,
        }
    }

    fn on_startup(&self) -> HookResult<()> {
        guard(|| self.0.on_startup())
    }

    fn on_shutdown(&self) -> HookResult<()> {
        guard(|| self.0.on_shutdown())
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

impl<F: Filter> FfiFilter for FilterAdapter<F> {
    fn caps(&self) -> u32 {
        // A panic in these answers falls back to the declared constants.
        let (request, asynchronous, response, body) = catch_unwind(AssertUnwindSafe(|| {
            (
                self.0.has_request_hook(),
                self.0.async_request(),
                self.0.has_response_hook(),
                self.0.needs_body(),
            )
        }))
        .unwrap_or((
            F::ON_REQUEST,
            F::ASYNC_REQUEST,
            F::ON_RESPONSE,
            F::NEEDS_BODY,
        ));
        let mut bits = 0;
        if request {
            bits |= caps::ON_REQUEST;
            if asynchronous {
                bits |= caps::ON_REQUEST_ASYNC;
            }
        }
        if response {
            bits |= caps::ON_RESPONSE;
        }
        if body {
            bits |= caps::NEEDS_BODY;
        }
        if is_stateful::<F>() {
            bits |= caps::PER_REQUEST_STATE;
        }
        bits
    }

    fn new_state(&self) -> StatePtr {
        if !is_stateful::<F>() {
            return StatePtr::NONE;
        }
        match catch_unwind(F::State::default) {
            Ok(state) => StatePtr(Box::into_raw(Box::new(state)).cast()),
            // The hooks then run with a fresh state each; the panic was logged by the hook.
            Err(_) => StatePtr::NONE,
        }
    }

    fn drop_state(&self, state: StatePtr) {
        if is_stateful::<F>() && !state.0.is_null() {
            // SAFETY: made by `new_state` above with `Box::into_raw`, dropped once by the host.
            let state = unsafe { Box::from_raw(state.0.cast::<F::State>()) };
            // A panicking destructor must not cross the boundary.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(state)));
        }
    }

    fn on_request(&self, state: StatePtr, request: MessageView<'_>) -> HookResult<ROption<Reply>> {
        guard(|| {
            let mut request = Request::new(request);
            let action = with_state::<F, _>(state, |state| self.0.on_request(state, &mut request))?;
            Ok(into_ffi(action))
        })
    }

    fn on_request_async<'a>(
        &'a self,
        state: StatePtr,
        request: MessageView<'a>,
    ) -> RequestFuture<'a> {
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
            let action = AssertUnwindSafe(self.0.on_request_async(state, &mut request))
                .catch_unwind()
                .await;
            match action {
                Ok(Ok(action)) => ROk(into_ffi(action)),
                Ok(Err(error)) => RErr(hook_error(error)),
                Err(payload) => RErr(panic_error(payload.as_ref())),
            }
        };
        BorrowingFfiFuture::new(future)
    }

    fn on_response(&self, state: StatePtr, response: MessageView<'_>) -> HookResult<()> {
        guard(|| {
            let mut response = Response::new(response);
            with_state::<F, _>(state, |state| self.0.on_response(state, &mut response))
        })
    }
}

fn into_ffi(action: Action) -> ROption<Reply> {
    match action {
        Action::Continue => RNone,
        Action::Respond(reply) => RSome(reply.into_ffi()),
    }
}

fn parse_route_config(json: RStr<'_>) -> Result<Map<String, Value>, Error> {
    serde_json::from_str(json.as_str())
        .map_err(|e| Error::new(format!("route configuration is not a JSON object: {e}")))
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
