//! The traits an extension author implements.

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

    /// The extension's configuration, deserialized from its entry under `extensions:`.
    /// Errors reach the user with the key path (`allow_origins[1]: invalid type ...`).
    type Config: DeserializeOwned;
    type Filter: Filter;

    fn new(config: Self::Config, host: Host) -> Result<Self, Error>;

    /// Whether the extension takes part in a route. Asked at startup only.
    fn applies(&self, _route: &Route<'_>) -> bool {
        true
    }

    /// Builds the filter for a route configuration; routes with equal configurations share it.
    fn filter(&self, route: &Route<'_>) -> Result<Self::Filter, Error>;

    /// Answers a command sent by the application.
    fn command(&self, name: &str, _argument: Value) -> Result<Value, Error> {
        Err(Error::new(format!(
            "{} has no command `{name}`",
            Self::NAME
        )))
    }
}

/// The hooks run on each request of a route the extension applies to.
pub trait Filter: Send + Sync + 'static {
    /// Set to false when `on_request` is not implemented, so the host never calls it.
    const ON_REQUEST: bool = true;
    /// Set to false when `on_response` is not implemented, so the host never calls it.
    const ON_RESPONSE: bool = true;

    fn on_request(&self, _request: &mut Request<'_>) -> Result<Action, Error> {
        Ok(Action::Continue)
    }

    fn on_response(&self, _response: &mut Response<'_>) -> Result<(), Error> {
        Ok(())
    }
}

/// A registered route as the extension sees it at startup.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    /// The path template (`/api/v1/users/{id}`).
    pub path: &'a str,
    /// The methods the route answers, uppercase.
    pub methods: &'a [&'a str],
    /// The resolved route configuration (defaults, patterns, exact and method entries merged).
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
