//! Keeps an extension's documentation true to its types: the keys of its configuration entry
//! and its route settings are the field names serde hands over for `Extension::Config` and
//! `Extension::RouteConfig`, so the list comes from the extension itself, never from a copy.

use serde::de::DeserializeOwned;

use crate::sdk::Extension;
use crate::sdk::route_keys::keys_of;

/// The keys of `E`'s configuration entry, when its `Config` is a struct deriving
/// `Deserialize` (`None` for a map or a custom deserializer, which reads any key).
pub fn config_keys<E: Extension>() -> Option<&'static [&'static str]> {
    fields::<E::Config>()
}

/// The route settings `E` reads, when its `RouteConfig` is such a struct.
pub fn route_keys<E: Extension>() -> Option<&'static [&'static str]> {
    fields::<E::RouteConfig>()
}

fn fields<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    keys_of::<T>()
}

/// Checks the section `## {name}` of `markdown` (the shipped `docs/extensions.md` layout)
/// against `E`, both ways:
///
/// * every key of `E::Config` is the first segment of a key in the first column of the
///   section's key table (`` `jwt.secret` `` documents `jwt`), and every key that column
///   names is one `E::Config` reads;
/// * every route setting of `E::RouteConfig` is written as inline code in the section's
///   `**Route settings**` paragraph.
///
/// The error lists every difference, one per line.
pub fn check_documented_keys<E: Extension>(markdown: &str, name: &str) -> Result<(), String> {
    let section = section(markdown, name).ok_or_else(|| format!("no section `## {name}`"))?;
    let mut problems = Vec::new();
    let documented = table_keys(section);
    match config_keys::<E>() {
        Some(keys) => {
            for key in keys {
                if !documented.iter().any(|d| d == key) {
                    problems.push(format!("`{key}` is read but not in the key table"));
                }
            }
            for key in &documented {
                if !keys.contains(&key.as_str()) {
                    problems.push(format!("`{key}` is documented but not read"));
                }
            }
        }
        None if !documented.is_empty() => problems
            .push("the configuration is not a struct, so its keys cannot be compared".to_string()),
        None => {}
    }
    let route_paragraph = route_settings(section);
    for key in route_keys::<E>().unwrap_or_default() {
        if !route_paragraph.contains(&format!("`{key}`")) {
            problems.push(format!(
                "route setting `{key}` is read but not in **Route settings**"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{name}:\n{}", problems.join("\n")))
    }
}

/// From the heading `## {name}` to the next second-level heading.
fn section<'a>(markdown: &'a str, name: &str) -> Option<&'a str> {
    let heading = format!("## {name}\n");
    let start = markdown.find(&heading)? + heading.len();
    let rest = &markdown[start..];
    let end = rest.find("\n## ").map_or(rest.len(), |end| end + 1);
    Some(&rest[..end])
}

/// The top-level keys the first column of the section's key table names.
fn table_keys(section: &str) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for line in section.lines() {
        let Some(row) = line.strip_prefix('|') else {
            continue;
        };
        let first = row.split('|').next().unwrap_or_default();
        for span in first.split('`').skip(1).step_by(2) {
            let top = span.split(['.', '[']).next().unwrap_or_default();
            if !top.is_empty() && !keys.iter().any(|k| k == top) {
                keys.push(top.to_string());
            }
        }
    }
    keys
}

/// The `**Route settings**` paragraph, up to the next blank line.
fn route_settings(section: &str) -> &str {
    let Some(start) = section.find("**Route settings**") else {
        return "";
    };
    let rest = &section[start..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# x\n\n## a:A\n\n| key | default | meaning |\n|---|---|---|\n\
        | `jwt.secret` / `jwt.key` | none | x |\n| `realm`, `depth` | `1` | y |\n\n\
        **Route settings**: `a_enabled` (default `true`).\n\n## b:B\n\n| `other` | | |\n";

    #[test]
    fn a_section_ends_at_the_next_heading() {
        let a = section(DOC, "a:A").unwrap();
        assert!(a.contains("`realm`") && !a.contains("`other`"), "{a}");
        assert_eq!(table_keys(a), ["jwt", "realm", "depth"]);
        assert!(route_settings(a).contains("`a_enabled`"));
        assert_eq!(table_keys(section(DOC, "b:B").unwrap()), ["other"]);
    }
}
