//! The safe face of an extension's filter: what a chain calls on every request, in the
//! runtime's own types. The ABI's types (`RResult`, `ROption`, the capability bits, the
//! state pointer) stop here; nothing above the host module names them.

use std::future::Future;

use abi_stable::std_types::{RErr, RNone, ROk, ROption, RSome, RStr};
use beginnings_abi::ffi::{FilterInstance, HookError, HookResult, Reply, StatePtr, caps};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};

use super::views::{RequestSide, ResponseSide, view};
use crate::routing::{Body, Response};

/// What a filter declared it does, read once when the chain is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Capabilities(u32);

impl Capabilities {
    pub fn on_request(self) -> bool {
        self.0 & caps::ON_REQUEST != 0
    }

    /// Its request hook is asynchronous (awaited, under the route's deadline).
    pub fn on_request_async(self) -> bool {
        self.0 & caps::ON_REQUEST_ASYNC != 0
    }

    pub fn on_response(self) -> bool {
        self.0 & caps::ON_RESPONSE != 0
    }

    /// It reads the request body: the body is buffered before the request hooks.
    pub fn needs_body(self) -> bool {
        self.0 & caps::NEEDS_BODY != 0
    }

    /// It keeps a state per request, made before its request hook and freed at the end.
    pub fn per_request_state(self) -> bool {
        self.0 & caps::PER_REQUEST_STATE != 0
    }
}

/// A filter's per-request state, owned by the library that made it; none when stateless.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FilterState(StatePtr);

impl FilterState {
    pub const NONE: FilterState = FilterState(StatePtr::NONE);

    pub fn is_none(self) -> bool {
        self.0.is_none()
    }
}

/// Why a hook failed: an error it returned, or a panic the SDK or the host caught.
#[derive(Debug, Clone)]
pub(crate) struct HookFailure {
    pub panicked: bool,
    pub message: String,
}

impl HookFailure {
    /// A panic that unwound into the host while it polled an extension's future.
    pub fn panicked_while_polled() -> Self {
        HookFailure {
            panicked: true,
            message: "panicked while being polled".to_owned(),
        }
    }
}

impl From<HookError> for HookFailure {
    fn from(error: HookError) -> Self {
        HookFailure {
            panicked: error.panicked,
            message: error.message.into_string(),
        }
    }
}

/// What a request hook decided.
pub(crate) enum RequestOutcome {
    /// Go on to the next filter.
    Continue,
    /// Answer now; `Err` says why the extension's answer could not be made into one.
    Answer(Result<Response, String>),
    Failed(HookFailure),
}

/// One extension's filter for the routes that share its settings.
#[derive(Debug)]
pub(crate) struct Filter(FilterInstance);

impl Filter {
    pub(super) fn new(instance: FilterInstance) -> Self {
        Filter(instance)
    }

    pub fn capabilities(&self) -> Capabilities {
        Capabilities(self.0.caps())
    }

    pub fn new_state(&self) -> FilterState {
        FilterState(self.0.new_state())
    }

    /// Frees a state made by [`Filter::new_state`], once.
    pub fn drop_state(&self, state: FilterState) {
        self.0.drop_state(state.0);
    }

    #[inline]
    pub fn on_request(&self, state: FilterState, side: &mut RequestSide<'_>) -> RequestOutcome {
        request_outcome(self.0.on_request(state.0, view(side)))
    }

    /// The asynchronous request hook; a panic while it is polled unwinds to the caller,
    /// which catches it ([`HookFailure::panicked_while_polled`]).
    pub fn on_request_async<'a>(
        &'a self,
        state: FilterState,
        side: &'a mut RequestSide<'_>,
    ) -> impl Future<Output = RequestOutcome> + Send + 'a {
        let future = self.0.on_request_async(state.0, view(side));
        async move { request_outcome(future.await) }
    }

    #[inline]
    pub fn on_response(
        &self,
        state: FilterState,
        side: &mut ResponseSide<'_>,
    ) -> Result<(), HookFailure> {
        match self.0.on_response(state.0, view(side)) {
            ROk(()) => Ok(()),
            RErr(error) => Err(error.into()),
        }
    }
}

#[inline]
fn request_outcome(result: HookResult<ROption<Reply>>) -> RequestOutcome {
    match result {
        ROk(RNone) => RequestOutcome::Continue,
        ROk(RSome(reply)) => RequestOutcome::Answer(into_response(reply)),
        RErr(error) => RequestOutcome::Failed(error.into()),
    }
}

/// An extension's answer as a response; an invalid status or header is refused whole.
fn into_response(reply: Reply) -> Result<Response, String> {
    let Ok(status) = StatusCode::from_u16(reply.status) else {
        return Err(format!("answered with invalid status {}", reply.status));
    };
    let mut response = Response::new(Body::from(Bytes::from(reply.body.into_vec())));
    *response.status_mut() = status;
    for pair in reply.headers.iter() {
        let (name, value) = (&pair.0, &pair.1);
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value.as_str()),
        ) {
            (Ok(name), Ok(value)) => {
                response.headers_mut().append(name, value);
            }
            _ => return Err(format!("answered with invalid header {name:?}: {value:?}")),
        }
    }
    Ok(response)
}

/// The calls a runtime makes on a created extension, outside requests.
impl super::LoadedExtension {
    /// Whether the extension takes part in the chain of `methods path` with `settings`
    /// (the route's settings it sees, as JSON).
    pub(crate) fn applies(
        &self,
        path: &str,
        methods: &[&str],
        settings: &str,
    ) -> Result<bool, String> {
        let methods: Vec<RStr<'_>> = methods.iter().map(|m| RStr::from_str(m)).collect();
        match self.instance.applies(
            RStr::from_str(path),
            methods.as_slice().into(),
            RStr::from_str(settings),
        ) {
            ROk(applies) => Ok(applies),
            RErr(error) => Err(error.message.into_string()),
        }
    }

    /// The extension's filter for the routes that share `settings`.
    pub(crate) fn new_filter(
        &self,
        path: &str,
        methods: &[&str],
        settings: &str,
    ) -> Result<Filter, String> {
        let methods: Vec<RStr<'_>> = methods.iter().map(|m| RStr::from_str(m)).collect();
        match self.instance.new_filter(
            RStr::from_str(path),
            methods.as_slice().into(),
            RStr::from_str(settings),
        ) {
            ROk(filter) => Ok(Filter::new(filter)),
            RErr(error) => Err(error.message.into_string()),
        }
    }

    /// Sends the extension a command; it answers JSON text, or refuses or panics.
    pub(crate) fn command(&self, name: &str, argument_json: &str) -> Result<String, HookFailure> {
        match self
            .instance
            .command(RStr::from_str(name), RStr::from_str(argument_json))
        {
            ROk(answer) => Ok(answer.into_string()),
            RErr(error) => Err(error.into()),
        }
    }

    /// Runs the extension's startup hook.
    pub(crate) fn start(&self) -> Result<(), String> {
        match self.instance.on_startup() {
            ROk(()) => Ok(()),
            RErr(error) => Err(error.message.into_string()),
        }
    }

    /// Runs the extension's shutdown hook.
    pub(crate) fn stop(&self) -> Result<(), String> {
        match self.instance.on_shutdown() {
            ROk(()) => Ok(()),
            RErr(error) => Err(error.message.into_string()),
        }
    }
}
