//! The traits an extension author implements.

use std::future::Future;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{Action, Error, Host, Request, Response};

/// An extension type, exported by a library and named in configuration as `module:NAME`.
///
/// The host creates one instance per configuration entry, asks it once per route whether it
/// applies, and asks it once per distinct route configuration for a [`Filter`].
pub trait Extension: Sized + Send + Sync + 'static {
    /// The `Type` part of `module:Type`.
    const NAME: &'static str;
    /// One line for `beginnings ext inspect`.
    const DESCRIPTION: &'static str = "";
    /// The configuration keys and their defaults in one line, for `beginnings ext inspect`
    /// (`allow_origins: [string] = []; max_age: seconds = 600`).
    const CONFIG_SUMMARY: &'static str = "";
    /// The route settings this extension reads. Routes whose settings differ only in
    /// other keys share one filter; `None` (the default) means every key matters.
    const ROUTE_KEYS: Option<&'static [&'static str]> = None;

    /// The extension's configuration, deserialized from its entry under `extensions:`.
    /// Errors reach the user with the key path (`allow_origins[1]: invalid type ...`).
    type Config: DeserializeOwned;
    type Filter: Filter;

    fn new(config: Self::Config, host: Host) -> Result<Self, Error>;

    /// Whether the extension takes part in a route. Asked once per route at startup.
    fn applies(&self, _route: &Route<'_>) -> bool {
        true
    }

    /// Builds the filter for a route configuration; routes with equal configurations share it.
    fn filter(&self, route: &Route<'_>) -> Result<Self::Filter, Error>;

    /// Answers a command sent by the application (`app.extension("module:Type")`).
    fn command(&self, name: &str, _argument: Value) -> Result<Value, Error> {
        Err(Error::new(format!(
            "{} has no command `{name}`",
            Self::NAME
        )))
    }

    /// Runs before the server accepts connections, in load order. An error stops start-up.
    fn on_startup(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Runs after the server has drained, in reverse load order.
    fn on_shutdown(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// The hooks run on each request of a route the extension applies to.
///
/// A filter is shared by every request of the routes with its configuration; what must
/// live from the request hook to the response hook goes in [`Filter::State`], made fresh
/// for each request (`()` costs nothing and allocates nothing).
pub trait Filter: Send + Sync + 'static {
    /// Per-request state between this filter's hooks.
    type State: Default + Send + 'static;

    /// Set to false when `on_request` is not implemented, so the host never calls it.
    const ON_REQUEST: bool = true;
    /// Set to false when `on_response` is not implemented, so the host never calls it.
    const ON_RESPONSE: bool = true;
    /// Set to true to have `on_request_async` called instead of `on_request`.
    const ASYNC_REQUEST: bool = false;
    /// Set to true when the request hooks read the body; the host then buffers it (up to
    /// the route's limit) before them. Other filters never cause buffering.
    const NEEDS_BODY: bool = false;

    /// Whether this filter's request hook runs; by default [`Filter::ON_REQUEST`]. A filter
    /// whose configuration leaves its request hook with nothing to do returns false, so the
    /// host skips the call on every request of its routes.
    fn has_request_hook(&self) -> bool {
        Self::ON_REQUEST
    }

    /// Whether the request hook is the asynchronous one; by default
    /// [`Filter::ASYNC_REQUEST`]. A filter that waits only in some configurations (a shared
    /// store) returns false otherwise, and its synchronous `on_request` runs instead.
    fn async_request(&self) -> bool {
        Self::ASYNC_REQUEST
    }

    /// Whether the request hooks read the body; by default [`Filter::NEEDS_BODY`]. A filter
    /// that reads it only on some routes (one endpoint it answers itself) says so here, so
    /// its other routes never buffer bodies.
    fn needs_body(&self) -> bool {
        Self::NEEDS_BODY
    }

    /// Whether this filter's response hook runs; by default [`Filter::ON_RESPONSE`].
    fn has_response_hook(&self) -> bool {
        Self::ON_RESPONSE
    }

    fn on_request(
        &self,
        _state: &mut Self::State,
        _request: &mut Request<'_>,
    ) -> Result<Action, Error> {
        Ok(Action::Continue)
    }

    /// The request hook for filters that wait (on the host's `sleep`, on a shared store).
    /// It runs under the route's timeout; use the [`Host`] services, never a runtime of
    /// the extension's own.
    fn on_request_async<'a>(
        &'a self,
        state: &'a mut Self::State,
        request: &'a mut Request<'_>,
    ) -> impl Future<Output = Result<Action, Error>> + Send + 'a {
        std::future::ready(self.on_request(state, request))
    }

    fn on_response(
        &self,
        _state: &mut Self::State,
        _response: &mut Response<'_>,
    ) -> Result<(), Error> {
        Ok(())
    }
    /// (ABI 1.1) Runs once the answer has been sent; an older host never calls it.
    fn on_complete(&self) {}
}

/// A registered route as the extension sees it at startup.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    /// The path template (`/api/v1/users/{id}`).
    pub path: &'a str,
    /// The methods the route answers, uppercase; empty when building a shared filter.
    pub methods: &'a [&'a str],
    /// The resolved route configuration (defaults, patterns, exact and method entries,
    /// code), limited to [`Extension::ROUTE_KEYS`] when the extension declares them.
    pub config: &'a Map<String, Value>,
}

impl Route<'_> {
    /// A route setting deserialized as `T`; `None` when absent. The error names the key.
    pub fn setting<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        match self.config.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => T::deserialize(value)
                .map(Some)
                .map_err(|e| Error::new(format!("route {}: {key}: {e}", self.path))),
        }
    }

    /// A boolean route setting with a default.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool, Error> {
        Ok(self.setting::<bool>(key)?.unwrap_or(default))
    }
}
