//! An in-process test host: create an extension from its configuration, build its filter
//! for a route, run its hooks on a request you build, and check the answer — without a
//! server or a `.so`. Calls go through the same FFI adapters, panic guards and views as
//! in the real host, so what passes here behaves the same when loaded.
//!
//! ```
//! use beginnings_abi::testing::{TestExtension, TestRequest, TestResponse};
//! # use beginnings_abi::{Error, Extension, Filter, Hooks, Host, NoRouteSettings, Response, Route};
//! # #[derive(serde::Deserialize)] struct Config { value: String }
//! # struct PoweredBy(String);
//! # impl Extension for PoweredBy {
//! #     type Config = Config;
//! #     type RouteConfig = NoRouteSettings;
//! #     type Filter = PoweredByFilter;
//! #     fn new(config: Config, _host: Host) -> Result<Self, Error> { Ok(PoweredBy(config.value)) }
//! #     fn filter(&self, _route: &Route<'_, NoRouteSettings>) -> Result<Option<PoweredByFilter>, Error> { Ok(Some(PoweredByFilter(self.0.clone()))) }
//! # }
//! # struct PoweredByFilter(String);
//! # impl Filter for PoweredByFilter {
//! #     type State = ();
//! #     fn hooks(&self) -> Hooks { Hooks::none().response() }
//! #     fn on_response(&self, _: &mut (), response: &mut Response<'_>) -> Result<(), Error> {
//! #         response.set_header("x-powered-by", &self.0)
//! #     }
//! # }
//! let extension = TestExtension::new::<PoweredBy>(serde_json::json!({"value": "beginnings"})).unwrap();
//! let filter = extension.filter("/api/users", serde_json::json!({})).unwrap();
//! let outcome = filter
//!     .exchange(TestRequest::get("/api/users"), |_request| TestResponse::new(200))
//!     .unwrap();
//! assert_eq!(outcome.response.header_value("x-powered-by"), Some("beginnings"));
//! ```

mod documented;
mod host;
mod message;
#[cfg(test)]
mod tests;

use abi_stable::std_types::{RErr, RNone, ROk, RSlice, RSome, RStr};
use serde_json::Value;

pub use documented::{check_documented_keys, config_keys, route_keys};
pub use host::{TestHost, block_on};
pub use message::{TestRequest, TestResponse};

use crate::Error;
use crate::ffi::{ExtensionInstance, FilterInstance, HookError, StatePtr, caps};
use crate::sdk::Extension;
use crate::sdk::export::create_extension;
use message::{Exchange, view};

/// An extension instance created the way the host creates one.
pub struct TestExtension {
    extension: ExtensionInstance,
    host: TestHost,
}

/// The filter an extension built for one route configuration.
pub struct TestFilter {
    filter: FilterInstance,
    caps: u32,
    host: TestHost,
}

/// A request's way through one filter.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The request as the hooks left it (headers, values).
    pub request: TestRequest,
    /// The answer: the handler's, or the early answer, after the response hook.
    pub response: TestResponse,
    /// The request hook answered; the handler did not run.
    pub answered_early: bool,
}

fn hook_error(error: HookError) -> Error {
    Error::new(error.message.into_string())
}

impl TestExtension {
    /// Creates `E` from `config` (the mapping under its `extensions:` entry, as JSON).
    /// A configuration error carries the key path, as it would at start-up.
    pub fn new<E: Extension>(config: Value) -> Result<Self, Error> {
        let host = TestHost::new();
        let handle = host.host().handle;
        let created =
            host.scope(|| create_extension::<E>(RStr::from_str(&config.to_string()), handle));
        match created {
            ROk(object) => {
                // SAFETY: fresh from `create_extension`, taken over once.
                let extension =
                    unsafe { ExtensionInstance::from_object(object) }.map_err(Error::new)?;
                Ok(TestExtension { extension, host })
            }
            RErr(message) => Err(Error::new(message.into_string())),
        }
    }

    /// The host the extension was given: its logs and metrics.
    pub fn host(&self) -> &TestHost {
        &self.host
    }

    /// Whether the extension applies to `route` (a template) with these route settings.
    pub fn applies(&self, route: &str, methods: &[&str], settings: Value) -> Result<bool, Error> {
        let methods: Vec<RStr<'_>> = methods.iter().map(|m| RStr::from_str(m)).collect();
        self.host
            .scope(|| {
                self.extension.applies(
                    RStr::from_str(route),
                    methods.as_slice().into(),
                    RStr::from_str(&settings.to_string()),
                )
            })
            .into_result()
            .map_err(hook_error)
    }

    /// The filter for `route` with these resolved route settings (a JSON object).
    pub fn filter(&self, route: &str, settings: Value) -> Result<TestFilter, Error> {
        let filter = self
            .host
            .scope(|| {
                self.extension.new_filter(
                    RStr::from_str(route),
                    RSlice::from_slice(&[]),
                    RStr::from_str(&settings.to_string()),
                )
            })
            .into_result()
            .map_err(hook_error)?;
        let caps = filter.caps();
        Ok(TestFilter {
            filter,
            caps,
            host: self.host.clone(),
        })
    }

    /// Sends a command, as `app.extension("module:Type").command(..)` does.
    pub fn command(&self, name: &str, argument: Value) -> Result<Value, Error> {
        let answer = self
            .host
            .scope(|| {
                self.extension
                    .command(RStr::from_str(name), RStr::from_str(&argument.to_string()))
            })
            .into_result()
            .map_err(hook_error)?;
        serde_json::from_str(answer.as_str()).map_err(Error::from)
    }

    pub fn startup(&self) -> Result<(), Error> {
        self.host
            .scope(|| self.extension.on_startup())
            .into_result()
            .map_err(hook_error)
    }

    pub fn shutdown(&self) -> Result<(), Error> {
        self.host
            .scope(|| self.extension.on_shutdown())
            .into_result()
            .map_err(hook_error)
    }
}

impl TestFilter {
    /// Runs the request hook, the handler unless the hook answered, and the response hook:
    /// a one-extension chain, as the host runs it.
    pub fn exchange(
        &self,
        mut request: TestRequest,
        handler: impl FnOnce(&TestRequest) -> TestResponse,
    ) -> Result<Outcome, Error> {
        let state = if self.caps & caps::PER_REQUEST_STATE != 0 {
            self.filter.new_state()
        } else {
            StatePtr::NONE
        };
        let result = self.host.scope(|| self.run(state, &mut request, handler));
        if !state.0.is_null() {
            self.filter.drop_state(state);
        }
        let (response, answered_early) = result?;
        Ok(Outcome {
            request,
            response,
            answered_early,
        })
    }

    fn run(
        &self,
        state: StatePtr,
        request: &mut TestRequest,
        handler: impl FnOnce(&TestRequest) -> TestResponse,
    ) -> Result<(TestResponse, bool), Error> {
        let mut early = None;
        if self.caps & caps::ON_REQUEST != 0 {
            let mut exchange = Exchange {
                request: &mut *request,
                response: None,
            };
            let result = if self.caps & caps::ON_REQUEST_ASYNC != 0 {
                block_on(self.filter.on_request_async(state, view(&mut exchange)))
            } else {
                self.filter.on_request(state, view(&mut exchange))
            };
            match result {
                ROk(RNone) => {}
                ROk(RSome(reply)) => {
                    let mut response = TestResponse::new(reply.status).body(reply.body.into_vec());
                    for pair in reply.headers.iter() {
                        response = response.header(pair.0.as_str(), pair.1.as_str());
                    }
                    early = Some(response);
                }
                RErr(error) => return Err(hook_error(error)),
            }
        }
        let answered_early = early.is_some();
        let mut response = match early {
            Some(response) => response,
            None => handler(request),
        };
        if self.caps & caps::ON_RESPONSE != 0 {
            let mut exchange = Exchange {
                request: &mut *request,
                response: Some(&mut response),
            };
            self.filter
                .on_response(state, view(&mut exchange))
                .into_result()
                .map_err(hook_error)?;
        }
        Ok((response, answered_early))
    }
}
