//! Every key path the configuration accepts, for documentation and tools.
//!
//! Built from the key lists the validators themselves check against, so a key added to a
//! section shows up here (and in the documentation test that compares this list with
//! `docs/configuration.md`) without anyone remembering to list it twice.

use super::app_section::METRICS_KEYS;
use super::database_section::DATABASE_KEYS;
use super::model::APP_KEYS;
use super::route_settings::HOST_KEYS;
use super::routes::SECTIONS;
use super::static_section::{DIRECTORY_KEYS, STATIC_KEYS};
use super::templates_section::TEMPLATES_KEYS;
use super::validate::TOP_KEYS;

/// The keys of an extension's entry that the host reads and strips before the extension
/// sees its configuration. The loader's own list is private to it; the documentation test
/// loads an extension that refuses unknown keys with each of these, so a key missing from
/// the loader fails there.
const EXTENSION_HOST_KEYS: &[&str] = &["enabled", "priority", "sha256", "breaker"];

/// `extensions.<module:Type>.breaker`: when the host stops calling a panicking extension.
const BREAKER_KEYS: &[&str] = &["panics", "window_seconds"];

/// `cors` is not the host's, but a route key the validator checks (its `allow_origins`
/// against `allow_credentials`), so it is listed with the host's route settings.
const CHECKED_ROUTE_SETTINGS: &[&str] = &["cors"];

/// Every key path the configuration accepts, in section order.
///
/// Paths join keys with `.`; `[]` stands for every item of a list and `<...>` for a key the
/// user chooses:
///
/// * `app.port`, `app.metrics.path`: fixed keys;
/// * `static.directories[].url_path`: a key of each list item;
/// * `extensions.<module:Type>.priority`: a key under a name the user writes;
/// * `routes.patterns.<pattern>.timeout`: a route setting Beginnings reads itself. Route
///   settings are free-form, so only those are listed; they are accepted wherever route
///   settings are (`routes.global_defaults`, `routes.exact.<path>`,
///   `routes.methods.<METHOD path>`, and `global` and `routes.<pattern>` in the flat form).
///
/// The sections themselves (`app`, `routes`, ...) are in the list too.
pub fn known_keys() -> Vec<String> {
    let mut keys = Vec::new();
    let nested = |keys: &mut Vec<String>, prefix: &str, names: &[&str]| {
        keys.extend(names.iter().map(|name| format!("{prefix}.{name}")));
    };
    for &section in TOP_KEYS {
        keys.push(section.to_owned());
        match section {
            "app" => {
                nested(&mut keys, "app", APP_KEYS);
                nested(&mut keys, "app.metrics", METRICS_KEYS);
            }
            "routes" => {
                nested(&mut keys, "routes", SECTIONS);
                nested(&mut keys, "routes.patterns.<pattern>", HOST_KEYS);
                nested(
                    &mut keys,
                    "routes.patterns.<pattern>",
                    CHECKED_ROUTE_SETTINGS,
                );
                keys.push("routes.patterns.<pattern>.on_error.<module:Type>".to_owned());
                // The flat form: patterns directly under `routes`.
                keys.push("routes.<pattern>".to_owned());
            }
            "extensions" => {
                let entry = "extensions.<module:Type>";
                keys.push(entry.to_owned());
                nested(&mut keys, entry, EXTENSION_HOST_KEYS);
                nested(&mut keys, &format!("{entry}.breaker"), BREAKER_KEYS);
            }
            "static" => {
                nested(&mut keys, "static", STATIC_KEYS);
                nested(&mut keys, "static.directories[]", DIRECTORY_KEYS);
            }
            "templates" => nested(&mut keys, "templates", TEMPLATES_KEYS),
            "database" => nested(&mut keys, "database", DATABASE_KEYS),
            _ => {}
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::known_keys;

    #[test]
    fn every_section_and_nested_list_is_covered() {
        let keys = known_keys();
        for key in [
            "app",
            "app.port",
            "app.metrics.path",
            "include",
            "global",
            "routes.methods",
            "routes.patterns.<pattern>.timeout",
            "extensions.<module:Type>.breaker.window_seconds",
            "static.directories[].url_path",
            "templates.auto_reload",
            "database.pool_size",
        ] {
            assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
        }
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "no key twice");
    }
}
