//! From the merged tree to the typed model, collecting every problem on the way.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::error::{Location, Problem, push_key, unknown_key_message};
use super::model::{ExtensionEntry, RouteSettings};
use super::node::{Entry, Files, Kind, Node, Span};
use super::route_settings::{HOST_KEYS, HostRouteSettings, Refusal};

pub(crate) const TOP_KEYS: &[&str] = &[
    "app",
    "include",
    "routes",
    "extensions",
    "global",
    "static",
    "templates",
    "database",
];

pub(crate) struct Ctx<'a> {
    pub files: &'a Files,
    pub problems: Vec<Problem>,
}

impl Ctx<'_> {
    pub fn location(&self, span: Span) -> Location {
        self.files.location(span)
    }

    pub fn report(&mut self, span: Span, key_path: &str, message: impl Into<String>) {
        let location = self.location(span);
        self.problems
            .push(Problem::new(Some(location), key_path, message));
    }

    /// Reports a value of the wrong type, pointing at a scalar itself but at the key of a
    /// collection or an empty value (whose own position is only where it would have started).
    pub fn wrong_type(&mut self, entry: &Entry, key_path: &str, expected: &str) {
        if entry.value.is_invalid() {
            return;
        }
        let span = match entry.value.kind {
            Kind::Null | Kind::Map(_) | Kind::Seq(_) => entry.key_span,
            _ => entry.value.span,
        };
        let found = entry.value.type_name();
        self.report(
            span,
            key_path,
            format!("expected {expected}, found {found}"),
        );
    }

    /// The entries of a mapping, or a reported problem; `null` reads as an empty mapping.
    pub fn map_entries<'n>(
        &mut self,
        entry: &'n Entry,
        key_path: &str,
        expected: &str,
    ) -> Option<&'n [Entry]> {
        match &entry.value.kind {
            Kind::Map(entries) => Some(entries),
            Kind::Null => Some(&[]),
            _ => {
                self.wrong_type(entry, key_path, expected);
                None
            }
        }
    }
}

/// Checks the top-level keys; returns the entries the caller builds sections from.
pub(crate) fn top_level<'n>(
    root: &'n Node,
    ctx: &mut Ctx<'_>,
    string_source: bool,
) -> Vec<&'n Entry> {
    let mut known = Vec::new();
    for entry in root.as_map().unwrap_or_default() {
        let key = entry.key.as_str();
        if key == "include" && string_source {
            ctx.report(
                entry.key_span,
                key,
                "includes need a configuration file on disk (use config::load)",
            );
        } else if TOP_KEYS.contains(&key) {
            known.push(entry);
        } else {
            ctx.report(entry.key_span, key, unknown_key_message(key, TOP_KEYS));
        }
    }
    known
}

pub(crate) fn set_string(slot: &mut String, field: &Entry, path: &str, ctx: &mut Ctx<'_>) {
    match field.value.as_str() {
        Some("") => ctx.report(field.value.span, path, "must not be empty"),
        Some(s) => *slot = s.to_owned(),
        None => ctx.wrong_type(field, path, "string"),
    }
}

pub(crate) fn set_bool(slot: &mut bool, field: &Entry, path: &str, ctx: &mut Ctx<'_>) {
    match field.value.as_bool() {
        Some(b) => *slot = b,
        None => ctx.wrong_type(field, path, "boolean (true or false)"),
    }
}

pub(crate) fn extensions(entry: Option<&Entry>, ctx: &mut Ctx<'_>) -> Vec<ExtensionEntry> {
    let mut out = Vec::new();
    let Some(entry) = entry else { return out };
    let Some(items) = ctx.map_entries(
        entry,
        "extensions",
        "a mapping of `module:Type` to settings",
    ) else {
        return out;
    };
    for item in items {
        let path = push_key("extensions", &item.key);
        let Some((module, type_name)) = split_extension_name(&item.key, item.key_span, &path, ctx)
        else {
            continue;
        };
        let Some(settings) = ctx.map_entries(item, &path, "a mapping of extension settings") else {
            continue;
        };
        let mut enabled = true;
        for setting in settings {
            if setting.key == "enabled" && !setting.value.is_invalid() {
                match setting.value.as_bool() {
                    Some(b) => enabled = b,
                    None => ctx.wrong_type(
                        setting,
                        &push_key(&path, "enabled"),
                        "boolean (true or false)",
                    ),
                }
            }
        }
        let mut config = item.value.to_json();
        if config.is_null() {
            config = Value::Object(serde_json::Map::new());
        }
        // `enabled: "${FLAG}"` arrives as a string; the extension sees the typed value.
        if let Value::Object(map) = &mut config
            && map.contains_key("enabled")
        {
            map.insert("enabled".to_owned(), Value::Bool(enabled));
        }
        out.push(ExtensionEntry {
            name: item.key.clone(),
            module,
            type_name,
            config,
            enabled,
            location: ctx.location(item.key_span),
        });
    }
    out
}

fn split_extension_name(
    name: &str,
    span: Span,
    path: &str,
    ctx: &mut Ctx<'_>,
) -> Option<(String, String)> {
    let Some((module, type_name)) = name.split_once(':') else {
        ctx.report(
            span,
            path,
            "an extension is named `module:Type`, e.g. `cors:CorsExtension`",
        );
        return None;
    };
    let module_ok = !module.is_empty()
        && module
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !module_ok {
        let message = format!(
            "invalid module name `{module}`: use lowercase letters, digits and `_` only (it names lib{}.so in extensions_dir)",
            if module.is_empty() {
                "<module>"
            } else {
                module
            }
        );
        ctx.report(span, path, message);
        return None;
    }
    let type_ok = type_name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && type_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !type_ok {
        ctx.report(span, path, format!("invalid type name `{type_name}` in `{name}`: expected an identifier such as `CorsExtension`"));
        return None;
    }
    Some((module.to_owned(), type_name.to_owned()))
}

/// Route settings: free-form, except for the keys the host reads itself (read by the one
/// parser route resolution uses, [`HostRouteSettings::set`]). The others belong to the
/// extensions, which check them when their filters are built (`beginnings check` builds
/// them too).
pub(crate) fn route_settings(
    entry: &Entry,
    path: &str,
    ctx: &mut Ctx<'_>,
) -> Option<RouteSettings> {
    let entries = ctx.map_entries(entry, path, "a mapping of route settings")?;
    let mut settings = RouteSettings::new();
    let mut host = HostRouteSettings::default();
    for setting in entries {
        let mut value = setting.value.to_json();
        if setting.value.is_invalid() {
            // Its interpolation failed and was reported; a type error on top would be noise.
        } else if HOST_KEYS.contains(&setting.key.as_str()) {
            value = host_value(&setting.value);
            if let Err(refusals) = host.set(&setting.key, &value) {
                for refusal in refusals {
                    report_refusal(setting, path, &refusal, ctx);
                }
            }
        }
        settings.insert(setting.key.clone(), value);
    }
    Some(settings)
}

/// The value a host key is read from: a `${VAR}` that is the whole value reads as a number or
/// a boolean, quoted or not, as the `app` keys read it; the settings keep that typed value, so
/// extensions see it too.
fn host_value(node: &Node) -> Value {
    if let Some(n) = node.as_int() {
        if let Ok(n) = i64::try_from(n) {
            return Value::from(n);
        }
        if let Ok(n) = u64::try_from(n) {
            return Value::from(n);
        }
    }
    match node.as_bool() {
        Some(b) => Value::Bool(b),
        None => node.to_json(),
    }
}

/// Reports a refused host setting where it was written: at a scalar itself, at the key of a
/// collection or an empty value.
fn report_refusal(setting: &Entry, path: &str, refusal: &Refusal, ctx: &mut Ctx<'_>) {
    let mut at = setting;
    if let Some(extension) = &refusal.extension {
        let entries = setting.value.as_map().unwrap_or_default();
        match entries.iter().find(|e| e.key == *extension) {
            Some(entry) if entry.value.is_invalid() => return,
            Some(entry) => at = entry,
            None => {}
        }
    }
    let span = match at.value.kind {
        Kind::Null | Kind::Map(_) | Kind::Seq(_) => at.key_span,
        _ => at.value.span,
    };
    ctx.report(span, &refusal.key_path(path), refusal.message.clone());
}

/// A relative `extensions_dir` is relative to the main configuration file, not to wherever
/// the server happens to be started.
pub(crate) fn base_dir(main: &Path) -> PathBuf {
    main.parent().map(Path::to_path_buf).unwrap_or_default()
}
