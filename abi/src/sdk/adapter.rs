//! Adapters from the safe traits to the FFI objects. Every call from the host lands here and
//! runs inside `catch_unwind`: a panic unwinding out of the library would end the process.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RErr, RNone, ROk, ROption, RSlice, RSome, RStr, RString},
};
use serde_json::{Map, Value};

use super::{Action, Error, Extension, Filter, Request, Response, Route};
use crate::ffi::{
    FfiExtension, FfiFilter, FfiFilter_TO, FilterBox, HookError, HookResult, MessageView, Reply,
    caps,
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
}

impl<F: Filter> FfiFilter for FilterAdapter<F> {
    fn caps(&self) -> u32 {
        let mut bits = 0;
        if F::ON_REQUEST {
            bits |= caps::ON_REQUEST;
        }
        if F::ON_RESPONSE {
            bits |= caps::ON_RESPONSE;
        }
        bits
    }

    fn on_request(&self, request: MessageView<'_>) -> HookResult<ROption<Reply>> {
        guard(|| {
            let mut request = Request::new(request);
            Ok(match self.0.on_request(&mut request)? {
                Action::Continue => RNone,
                Action::Respond(reply) => RSome(reply.into_ffi()),
            })
        })
    }

    fn on_response(&self, response: MessageView<'_>) -> HookResult<()> {
        guard(|| self.0.on_response(&mut Response::new(response)))
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
        Ok(Err(error)) => RErr(HookError {
            panicked: false,
            message: RString::from(error.to_string()),
        }),
        Err(payload) => RErr(HookError {
            panicked: true,
            message: RString::from(format!("panicked: {}", panic_text(payload.as_ref()))),
        }),
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
