//! The route settings the host reads itself (`timeout`, `max_body_bytes`, `on_error`,
//! `profile_enabled`), parsed into [`HostRouteSettings`] by one function, [`HostRouteSettings::set`].
//!
//! Two callers share it, so a value means the same at both: the configuration check, which
//! reads each layer of `routes` as it is loaded and reports a refused value at its file, line
//! and key; and route resolution, which reads the merged settings of each route once (settings
//! given in code included) and hands the typed value to the chain and the limits.
//! Every other route setting is free-form and belongs to the extensions.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::error::push_key;
use super::model::RouteSettings;

/// The keys [`HostRouteSettings::set`] reads.
pub(crate) const HOST_KEYS: &[&str] = &["timeout", "max_body_bytes", "on_error", "profile_enabled"];

/// What the host reads from a route's resolved settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostRouteSettings {
    /// `timeout`; `None` when the route does not set one (`app.timeout` applies).
    pub timeout: Option<RouteTimeout>,
    /// `max_body_bytes`; `None` when the route does not set one (`app.max_body_bytes` applies).
    pub max_body_bytes: Option<usize>,
    /// `on_error`: what a request gets when an extension's hook fails.
    pub on_error: OnError,
    /// `profile_enabled`: the host times every hook and the handler.
    pub profile: bool,
}

/// A route's own `timeout`, in whole seconds; `0` turns the limit off for the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteTimeout {
    Unlimited,
    After(Duration),
}

/// `on_error`: one policy for every extension of the route, or one per `module:Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnError {
    Every(FailurePolicy),
    /// Extensions not named stay closed.
    ByExtension(BTreeMap<String, FailurePolicy>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailurePolicy {
    /// The request is answered 500.
    #[default]
    Closed,
    /// The request goes on as if the extension had passed it.
    Open,
}

impl Default for OnError {
    fn default() -> Self {
        OnError::Every(FailurePolicy::Closed)
    }
}

impl OnError {
    /// Whether a failure of `extension` (`module:Type`) lets the request through.
    pub fn fails_open(&self, extension: &str) -> bool {
        let policy = match self {
            OnError::Every(policy) => Some(policy),
            OnError::ByExtension(by_extension) => by_extension.get(extension),
        };
        policy == Some(&FailurePolicy::Open)
    }
}

/// A host setting's value refused: which key (and which `module:Type` under `on_error`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub key: &'static str,
    /// The `module:Type` entry of an `on_error` mapping the refusal is about.
    pub extension: Option<String>,
    pub message: String,
}

impl Refusal {
    /// The refused key's path under `settings_path` (where the route settings were written).
    pub fn key_path(&self, settings_path: &str) -> String {
        let path = push_key(settings_path, self.key);
        match &self.extension {
            Some(extension) => push_key(&path, extension),
            None => path,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.extension {
            Some(extension) => write!(f, "{}.{extension}: {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

impl HostRouteSettings {
    /// The route's time limit: its own `timeout`, else `app_timeout`.
    pub fn timeout_or(&self, app_timeout: Option<Duration>) -> Option<Duration> {
        match self.timeout {
            None => app_timeout,
            Some(RouteTimeout::Unlimited) => None,
            Some(RouteTimeout::After(limit)) => Some(limit),
        }
    }

    /// The route's body limit: its own `max_body_bytes`, else `app_max_body_bytes`.
    pub fn max_body_bytes_or(&self, app_max_body_bytes: usize) -> usize {
        self.max_body_bytes.unwrap_or(app_max_body_bytes)
    }

    /// Reads the host keys of a route's settings; every refused value is returned.
    pub(crate) fn parse(settings: &RouteSettings) -> Result<Self, Vec<Refusal>> {
        let mut host = HostRouteSettings::default();
        let mut refused = Vec::new();
        for key in HOST_KEYS {
            if let Some(value) = settings.get(*key)
                && let Err(refusals) = host.set(key, value)
            {
                refused.extend(refusals);
            }
        }
        if refused.is_empty() {
            Ok(host)
        } else {
            Err(refused)
        }
    }

    /// The one rule for each host key: reads `value` into its field. Keys that are not the
    /// host's are left alone. `null` is refused like any other wrong type: a route that
    /// should follow the `app` default leaves the key out. Every refused entry of an
    /// `on_error` mapping is returned, not only the first.
    pub(crate) fn set(&mut self, key: &str, value: &Value) -> Result<(), Vec<Refusal>> {
        let refuse = |key: &'static str, message: String| {
            vec![Refusal {
                key,
                extension: None,
                message,
            }]
        };
        match key {
            "timeout" => {
                let seconds = whole_number(value)
                    .map_err(|found| refuse("timeout", timeout_message(value, &found)))?;
                self.timeout = Some(match seconds {
                    0 => RouteTimeout::Unlimited,
                    seconds => RouteTimeout::After(Duration::from_secs(seconds)),
                });
            }
            "max_body_bytes" => {
                let bytes = whole_number(value).map_err(|found| {
                    let message = match found {
                        Found::Negative(n) => {
                            format!("max_body_bytes must not be negative, found {n}")
                        }
                        Found::Type(name) => format!("expected integer (bytes), found {name}"),
                    };
                    refuse("max_body_bytes", message)
                })?;
                self.max_body_bytes = Some(usize::try_from(bytes).unwrap_or(usize::MAX));
            }
            "on_error" => self.on_error = on_error(value)?,
            "profile_enabled" => {
                self.profile = value.as_bool().ok_or_else(|| {
                    let found = type_name(value);
                    refuse(
                        "profile_enabled",
                        format!("expected boolean (true or false), found {found}"),
                    )
                })?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Why a value is not a whole number >= 0.
enum Found {
    Negative(i64),
    Type(&'static str),
}

fn whole_number(value: &Value) -> Result<u64, Found> {
    match value {
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(n), _) => Ok(n),
            (None, Some(negative)) => Err(Found::Negative(negative)),
            (None, None) => Err(Found::Type("float")),
        },
        other => Err(Found::Type(type_name(other))),
    }
}

fn timeout_message(value: &Value, found: &Found) -> String {
    match found {
        Found::Negative(n) => format!("timeout must not be negative, found {n}"),
        // A fraction is the likeliest float: say what the rule is.
        Found::Type("float") => {
            format!("expected integer (whole seconds, 0 for no limit), found {value}")
        }
        Found::Type(name) => format!("expected integer, found {name}"),
    }
}

fn on_error(value: &Value) -> Result<OnError, Vec<Refusal>> {
    match value {
        Value::Object(by_extension) => {
            let mut policies = BTreeMap::new();
            let mut refused = Vec::new();
            for (extension, policy) in by_extension {
                match failure_policy(policy) {
                    Ok(policy) => {
                        policies.insert(extension.clone(), policy);
                    }
                    Err(found) => refused.push(Refusal {
                        key: "on_error",
                        extension: Some(extension.clone()),
                        message: format!("expected `open` or `closed`, found {found}"),
                    }),
                }
            }
            if refused.is_empty() {
                Ok(OnError::ByExtension(policies))
            } else {
                Err(refused)
            }
        }
        other => match failure_policy(other) {
            Ok(policy) => Ok(OnError::Every(policy)),
            Err(found) => Err(vec![Refusal {
                key: "on_error",
                extension: None,
                message: format!(
                    "expected `open`, `closed` or a mapping of `module:Type` to one of them, \
                     found {found}"
                ),
            }]),
        },
    }
}

/// `open` or `closed`; otherwise what was found, for the message.
fn failure_policy(value: &Value) -> Result<FailurePolicy, String> {
    match value {
        Value::String(s) if s == "open" => Ok(FailurePolicy::Open),
        Value::String(s) if s == "closed" => Ok(FailurePolicy::Closed),
        Value::String(s) => Err(format!("`{s}`")),
        other => Err(type_name(other).to_owned()),
    }
}

/// The name of a JSON value's type, as the configuration check names a YAML node's.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}
