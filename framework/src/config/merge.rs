//! Deep merge: mappings merge key by key, everything else (scalars, lists) is replaced.
//!
//! One rule serves includes, profile overlays and route-config resolution, so a user learns it
//! once.

use serde_json::{Map, Value};

use super::node::{Kind, Node};

/// Merges `overlay` over `base`. Keys new to `base` are appended, so file order is kept: the
/// first file that names a key decides its position.
pub(crate) fn merge_node(base: &mut Node, overlay: Node) {
    match (&mut base.kind, overlay.kind) {
        (Kind::Map(base_entries), Kind::Map(overlay_entries)) => {
            for entry in overlay_entries {
                match base_entries.iter_mut().find(|e| e.key == entry.key) {
                    Some(existing) => {
                        let both_maps = matches!(existing.value.kind, Kind::Map(_))
                            && matches!(entry.value.kind, Kind::Map(_));
                        if !both_maps {
                            // The value now comes from the overlay, so errors should point there.
                            existing.key_span = entry.key_span;
                        }
                        merge_node(&mut existing.value, entry.value);
                    }
                    None => base_entries.push(entry),
                }
            }
        }
        (_, kind) => {
            base.kind = kind;
            base.span = overlay.span;
        }
    }
}

/// The JSON form of the configuration's deep merge, used when resolving route settings.
pub fn deep_merge(base: &mut Map<String, Value>, overlay: &Map<String, Value>) {
    for (key, value) in overlay {
        match (base.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                deep_merge(existing, incoming)
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse::parse;
    use serde_json::json;
    use std::path::Path;

    #[test]
    fn merge_rules_table() {
        // (base, overlay, expected)
        let cases = [
            ("a: 1", "a: 2", json!({"a": 2})),
            ("a: 1", "b: 2", json!({"a": 1, "b": 2})),
            (
                "a: {x: 1, y: 1}",
                "a: {y: 2, z: 3}",
                json!({"a": {"x": 1, "y": 2, "z": 3}}),
            ),
            ("a: [1, 2]", "a: [3]", json!({"a": [3]})),
            ("a: {x: 1}", "a: 5", json!({"a": 5})),
            ("a: 5", "a: {x: 1}", json!({"a": {"x": 1}})),
            (
                "a: {x: {y: {z: 1, w: 1}}}",
                "a: {x: {y: {z: 2}}}",
                json!({"a": {"x": {"y": {"z": 2, "w": 1}}}}),
            ),
            ("a: {x: 1}", "a: null", json!({"a": null})),
        ];
        for (base, overlay, want) in cases {
            let mut b = parse(base, 0, Path::new("b")).unwrap();
            let o = parse(overlay, 1, Path::new("o")).unwrap();
            merge_node(&mut b, o);
            assert_eq!(b.to_json(), want, "{base} <- {overlay}");

            let mut bj = parse(base, 0, Path::new("b")).unwrap().to_json();
            let oj = parse(overlay, 1, Path::new("o")).unwrap().to_json();
            deep_merge(bj.as_object_mut().unwrap(), oj.as_object().unwrap());
            assert_eq!(bj, want, "json {base} <- {overlay}");
        }
    }

    #[test]
    fn merged_keys_keep_first_position_and_point_at_the_overriding_file() {
        let mut b = parse("a: 1\nb: 2\n", 0, Path::new("b")).unwrap();
        let o = parse("c: 3\na: 9\n", 1, Path::new("o")).unwrap();
        merge_node(&mut b, o);
        let keys: Vec<_> = b.as_map().unwrap().iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        let a = b.get("a").unwrap();
        assert_eq!((a.key_span.file, a.key_span.line), (1, 2));
        assert_eq!(a.value.span.file, 1);
    }
}
