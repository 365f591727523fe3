//! The traits an extension author implements.

use std::future::Future;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Action, Error, Host, Request, Response};

/// An extension type, exported by a library with [`export_extension!`](crate::export_extension)
/// and named in configuration as `module:Type`, where `Type` is the Rust type's name.
///
/// The host creates one instance per configuration entry and asks it, once per route at
/// startup, for the route's [`Filter`] (or none).
pub trait Extension: Sized + Send + Sync + 'static {
    /// One line for `beginnings ext inspect`.
    const DESCRIPTION: &'static str = "";
    /// The configuration keys and their defaults in one line, for `beginnings ext inspect`
    /// (`allow_origins: [string] = []; max_age: seconds = 600`).
    const CONFIG_SUMMARY: &'static str = "";

    /// The extension's configuration, deserialized from its entry under `extensions:`.
    /// Errors reach the user with the key path (`allow_origins[1]: invalid type ...`).
    type Config: DeserializeOwned;
    /// The route settings the extension reads, deserialized from each route's resolved
    /// configuration (a struct deriving `Deserialize`; [`NoRouteSettings`] when it reads
    /// none). Its field names are the keys the extension reads: routes whose values for
    /// them are equal share one filter, and other keys never reach the extension. A type that
    /// is not a struct (a map) reads every key.
    type RouteConfig: DeserializeOwned;
    type Filter: Filter;

    fn new(config: Self::Config, host: Host) -> Result<Self, Error>;

    /// The filter for a route, or `None` when the extension takes no part in it. Asked once
    /// per route at startup. Routes whose settings are equal share the first filter built
    /// for them, so the filter may depend on the settings only; the path and methods may
    /// decide whether the extension takes part.
    fn filter(&self, route: &Route<'_, Self::RouteConfig>) -> Result<Option<Self::Filter>, Error>;

    /// Answers a command sent by the application (`app.extension("module:Type")`).
    fn command(&self, name: &str, _argument: Value) -> Result<Value, Error> {
        Err(Error::new(format!(
            "{} has no command `{name}`",
            type_name::<Self>()
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

    /// (ABI 1.1) The names of the request values this instance's filters may set with
    /// [`Request::set_value`] (`auth.subject`). Asked once, after [`Extension::new`]; it
    /// lets the host check that every value some extension [reads](Extension::values_read)
    /// is set by an extension before it on each route. A host older than 1.1 never asks.
    fn values_set(&self) -> Vec<String> {
        Vec::new()
    }

    /// (ABI 1.1) The names of the request values this instance's filters read from other
    /// extensions (`auth.subject` for a token bound to the user). On every route where an
    /// extension that [sets](Extension::values_set) one takes part, that extension must run
    /// before this one: the host refuses to start (and `beginnings check` fails) when it
    /// runs after, or when no configured extension sets the value at all. Values the
    /// filters set themselves are not listed. A host older than 1.1 never asks.
    fn values_read(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The last segment of a type's path (`CorsExtension`), as configuration names it.
pub(crate) fn type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

/// The route settings of an extension that reads none.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub struct NoRouteSettings {}

/// Which hooks a filter has. The host calls only these: a hook not named here never runs,
/// and one named here but left at its default costs a call that does nothing.
///
/// ```
/// # use beginnings_abi::Hooks;
/// let hooks = Hooks::none().request().response();
/// assert!(hooks.has_request() && hooks.has_response() && !hooks.reads_body());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hooks {
    request: bool,
    request_async: bool,
    response: bool,
    body: bool,
}

impl Hooks {
    /// No hook: the filter only takes part (a startup or command-only extension).
    pub const fn none() -> Self {
        Hooks {
            request: false,
            request_async: false,
            response: false,
            body: false,
        }
    }

    /// The synchronous request hook, [`Filter::on_request`].
    pub const fn request(mut self) -> Self {
        self.request = true;
        self.request_async = false;
        self
    }

    /// The asynchronous request hook, [`Filter::on_request_async`], run under the route's
    /// timeout, for filters that wait (on the host's `sleep`, on a shared store).
    pub const fn request_async(mut self) -> Self {
        self.request = true;
        self.request_async = true;
        self
    }

    /// The response hook, [`Filter::on_response`].
    pub const fn response(mut self) -> Self {
        self.response = true;
        self
    }

    /// The request hook reads the body: the host buffers it (up to the route's limit)
    /// first. Filters that do not say so never cause buffering.
    pub const fn body(mut self) -> Self {
        self.body = true;
        self
    }

    pub const fn has_request(&self) -> bool {
        self.request
    }

    pub const fn is_request_async(&self) -> bool {
        self.request_async
    }

    pub const fn has_response(&self) -> bool {
        self.response
    }

    pub const fn reads_body(&self) -> bool {
        self.body
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

    /// The hooks this filter has; asked once, when it is built. The one way to declare
    /// them: a filter whose configuration leaves a hook with nothing to do leaves it out,
    /// and the host skips it on every request of its routes.
    fn hooks(&self) -> Hooks;

    fn on_request(
        &self,
        _state: &mut Self::State,
        _request: &mut Request<'_>,
    ) -> Result<Action, Error> {
        Ok(Action::Continue)
    }

    /// The request hook for filters that wait (on the host's `sleep`, on a shared store),
    /// called instead of `on_request` when [`Hooks::request_async`] is declared. It runs
    /// under the route's timeout; use the [`Host`] services, never a runtime of the
    /// extension's own.
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

    /// (ABI 1.3) Runs once the answer has been sent; an older host never calls it.
    fn on_complete(&self) {}
}

/// A registered route as the extension sees it at startup.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a, C> {
    /// The path template (`/api/v1/users/{id}`).
    pub path: &'a str,
    /// The methods the route answers, uppercase.
    pub methods: &'a [&'a str],
    /// The extension's settings for this route (defaults, patterns, exact and method
    /// entries, code), as its [`Extension::RouteConfig`].
    pub settings: &'a C,
}
