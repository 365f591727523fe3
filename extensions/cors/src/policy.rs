//! A route's CORS policy, checked and compiled once when its filter is built: the filter
//! never meets an invalid value and formats no constant header per request.

use beginnings_abi::Error;
use serde_json::{Map, Value};

use crate::config::{CorsConfig, List};
use crate::origin::Origins;

/// What a preflight may ask for.
#[derive(Debug, Clone)]
enum Allowed {
    /// `*`: whatever is asked is allowed and echoed back (a literal `*` would not cover
    /// credentialed requests nor the `Authorization` header).
    Any,
    /// Uppercase methods or lowercase header names, and the header value listing them.
    Only(Vec<String>, Option<String>),
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub origins: Origins,
    methods: Allowed,
    headers: Allowed,
    pub credentials: bool,
    /// The `Access-Control-Expose-Headers` value, when any.
    pub expose: Option<String>,
    pub max_age: String,
    pub cache_preflight: bool,
}

impl Policy {
    /// Checks and compiles a configuration. `overrides` is the route's `cors:` map when
    /// there is one: errors then name the key under `cors.` that the route set.
    pub fn compile(
        config: &CorsConfig,
        overrides: Option<&Map<String, Value>>,
    ) -> Result<Policy, Error> {
        let prefix = if overrides.is_some() { "cors." } else { "" };
        // The first of `keys` the route set (the extension's own keys were checked at start).
        let blame = |keys: &[&'static str]| -> String {
            let key = keys
                .iter()
                .find(|k| overrides.is_some_and(|m| m.contains_key(**k)))
                .unwrap_or(&keys[0]);
            format!("{prefix}{key}")
        };
        let origins = Origins::compile(&config.allow_origins.0, &blame(&["allow_origins"]))
            .map_err(Error::new)?;
        if config.allow_credentials && matches!(origins, Origins::Any) {
            return Err(Error::new(format!(
                "{}: allow_credentials: true cannot be combined with allow_origins \"*\" \
                 (browsers reject it); list the allowed origins",
                blame(&["allow_credentials", "allow_origins"])
            )));
        }
        let methods = allowed(
            &config.allow_methods,
            &blame(&["allow_methods"]),
            "a method",
        )?;
        let methods = match methods {
            Allowed::Only(list, _) => {
                let upper: Vec<String> = list.iter().map(|m| m.to_ascii_uppercase()).collect();
                let value = (!upper.is_empty()).then(|| upper.join(", "));
                Allowed::Only(upper, value)
            }
            any => any,
        };
        let headers = allowed(
            &config.allow_headers,
            &blame(&["allow_headers"]),
            "a header name",
        )?;
        let expose = match allowed(
            &config.expose_headers,
            &blame(&["expose_headers"]),
            "a header name",
        )? {
            Allowed::Any if config.allow_credentials => {
                return Err(Error::new(format!(
                    "{}: expose_headers \"*\" is read as a header named `*` on credentialed \
                     requests; list the headers to expose",
                    blame(&["expose_headers", "allow_credentials"])
                )));
            }
            Allowed::Any => Some("*".to_string()),
            Allowed::Only(_, value) => value,
        };
        Ok(Policy {
            origins,
            methods,
            headers,
            credentials: config.allow_credentials,
            expose,
            max_age: config.max_age.to_string(),
            cache_preflight: config.cache_preflight,
        })
    }

    /// Whether a preflight's `Access-Control-Request-Method` is allowed.
    pub fn allows_method(&self, method: &str) -> bool {
        match &self.methods {
            Allowed::Any => is_token(method),
            Allowed::Only(list, _) => list.iter().any(|m| m == method),
        }
    }

    /// Whether every header a preflight's `Access-Control-Request-Headers` names is allowed.
    pub fn allows_headers(&self, requested: Option<&str>) -> bool {
        let Some(requested) = requested else {
            return true;
        };
        let mut names = requested
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty());
        match &self.headers {
            Allowed::Any => names.all(is_token),
            Allowed::Only(list, _) => {
                names.all(|name| list.iter().any(|h| h.eq_ignore_ascii_case(name)))
            }
        }
    }

    /// The `Access-Control-Allow-Methods` value: fixed, or the requested method echoed.
    pub fn methods_value<'a>(&'a self, requested: &'a str) -> Option<&'a str> {
        match &self.methods {
            Allowed::Any => Some(requested),
            Allowed::Only(_, value) => value.as_deref(),
        }
    }

    /// The `Access-Control-Allow-Headers` value: fixed, or the requested headers echoed.
    pub fn headers_value<'a>(&'a self, requested: Option<&'a str>) -> Option<&'a str> {
        match &self.headers {
            Allowed::Any => requested.filter(|r| !r.trim().is_empty()),
            Allowed::Only(_, value) => value.as_deref(),
        }
    }

    /// True when a preflight answer depends on more than the origin, so it is not cached whole.
    pub fn echoes_request(&self) -> bool {
        matches!(self.methods, Allowed::Any) || matches!(self.headers, Allowed::Any)
    }
}

/// A list of tokens or `*`; an error names the index of the bad entry.
fn allowed(list: &List, key: &str, what: &str) -> Result<Allowed, Error> {
    if list.is_any() {
        return Ok(Allowed::Any);
    }
    let mut items = Vec::with_capacity(list.0.len());
    for (index, item) in list.0.iter().enumerate() {
        let item = item.trim();
        if !is_token(item) {
            return Err(Error::new(format!(
                "{key}[{index}]: {item:?} is not {what}"
            )));
        }
        if !items.iter().any(|i: &String| i.eq_ignore_ascii_case(item)) {
            items.push(item.to_ascii_lowercase());
        }
    }
    let value = (!items.is_empty()).then(|| items.join(", "));
    Ok(Allowed::Only(items, value))
}

/// An HTTP token (method and header names).
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
