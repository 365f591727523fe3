//! The route settings an extension reads, found from its `RouteConfig` type: serde's derive
//! hands a struct's field names to the deserializer, and this deserializer only listens.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::{Map, Value};

use super::Error;

/// The keys `T` reads when it is a struct deriving `Deserialize`; `None` (every key) for
/// any other type, such as a map.
pub(crate) fn keys_of<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    let mut fields = None;
    let _ = T::deserialize(FieldProbe(&mut fields));
    fields
}

/// Deserializes the settings of a route (its resolved configuration, already limited to the
/// extension's keys by the host) as `T`; an error names the route and the key.
pub(crate) fn settings_of<T: DeserializeOwned>(path: &str, json: &str) -> Result<T, Error> {
    let map: Map<String, Value> = serde_json::from_str(json)
        .map_err(|e| Error::new(format!("route configuration is not a JSON object: {e}")))?;
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let key = e.path().to_string();
        Error::new(format!("route {path}: {key}: {}", e.into_inner()))
    })
}

/// The probe stops at the first question, so nothing is ever built.
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field probe")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_message: T) -> Self {
        Stop
    }
}

struct FieldProbe<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for FieldProbe<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = Some(fields);
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Settings {
        cors_enabled: Option<bool>,
        #[serde(rename = "cors")]
        overrides: Option<Value>,
    }

    #[test]
    fn a_struct_reads_its_field_names_and_a_map_reads_everything() {
        assert_eq!(keys_of::<Settings>(), Some(&["cors_enabled", "cors"][..]));
        assert_eq!(keys_of::<super::super::NoRouteSettings>(), Some(&[][..]));
        assert_eq!(keys_of::<Map<String, Value>>(), None);
    }

    #[test]
    fn a_wrong_setting_names_the_route_and_the_key() {
        let error = settings_of::<Settings>("/api", r#"{"cors_enabled": "yes"}"#)
            .err()
            .unwrap();
        assert!(
            error
                .to_string()
                .starts_with("route /api: cors_enabled: invalid type"),
            "{error}"
        );
    }
}
