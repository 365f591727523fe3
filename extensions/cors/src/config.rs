//! The extension's configuration, and the per-route `cors:` map laid over it.

use std::fmt;

use beginnings_abi::Error;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The keys under `extensions: "cors:CorsExtension"`, also accepted in a route's `cors:` map.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Exact origins, `*`, or patterns such as `https://*.example.com`.
    #[serde(default)]
    pub allow_origins: List,
    /// Methods a preflight may ask for; `*` allows whatever is asked.
    #[serde(default = "defaults::allow_methods")]
    pub allow_methods: List,
    /// Request headers a preflight may ask for; `*` allows whatever is asked.
    #[serde(default = "defaults::allow_headers")]
    pub allow_headers: List,
    /// Response headers the calling script may read; `*` (without credentials) means all.
    #[serde(default)]
    pub expose_headers: List,
    #[serde(default)]
    pub allow_credentials: bool,
    /// Seconds a browser may reuse a preflight answer.
    #[serde(default = "defaults::max_age")]
    pub max_age: u64,
    /// Builds each allowed origin's preflight answer once and keeps it.
    #[serde(default)]
    pub cache_preflight: bool,
}

mod defaults {
    use super::List;

    pub fn allow_methods() -> List {
        List::of(&["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
    }
    pub fn allow_headers() -> List {
        List::of(&["content-type", "authorization", "x-requested-with"])
    }
    pub fn max_age() -> u64 {
        600
    }
}

impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            allow_origins: List::default(),
            allow_methods: defaults::allow_methods(),
            allow_headers: defaults::allow_headers(),
            expose_headers: List::default(),
            allow_credentials: false,
            max_age: defaults::max_age(),
            cache_preflight: false,
        }
    }
}

impl CorsConfig {
    /// This configuration with a route's `cors:` map laid over it. Errors name the key
    /// under `cors.` (`cors.allow_origins[1]: invalid type ...`).
    pub fn overlay(&self, route_map: &Map<String, Value>) -> Result<CorsConfig, Error> {
        let Value::Object(mut merged) = serde_json::to_value(self)? else {
            return Err(Error::new(
                "cors: the configuration did not serialize as a map",
            ));
        };
        for (key, value) in route_map {
            merged.insert(key.clone(), value.clone());
        }
        // Only the route's map can bring an unknown key, so serde names it where it was written.
        serde_path_to_error::deserialize(Value::Object(merged)).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." || path.is_empty() {
                Error::new(format!("cors: {inner}"))
            } else {
                Error::new(format!("cors.{path}: {inner}"))
            }
        })
    }
}

/// A list of strings written as a YAML list or as one string (`allow_origins: "*"`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct List(pub Vec<String>);

impl List {
    fn of(items: &[&str]) -> List {
        List(items.iter().map(|s| s.to_string()).collect())
    }

    /// True when the list holds `*`.
    pub fn is_any(&self) -> bool {
        self.0.iter().any(|item| item == "*")
    }
}

impl<'de> Deserialize<'de> for List {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;

        impl<'de> Visitor<'de> for ListVisitor {
            type Value = List;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<List, E> {
                Ok(List(vec![value.to_string()]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(List(items))
            }
        }

        deserializer.deserialize_any(ListVisitor)
    }
}
