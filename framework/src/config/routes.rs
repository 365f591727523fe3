//! The `routes` section, in either of its two forms.

use std::collections::HashMap;

use super::error::{Location, push_key, unknown_key_message};
use super::model::{ConfigForm, RouteSettings, RoutesConfig};
use super::node::Entry;
use super::pattern::{Pattern, normalize_path, parse_exact, parse_method_key};
use super::validate::{Ctx, route_settings};

pub(crate) const SECTIONS: &[&str] = &["global_defaults", "patterns", "exact", "methods"];

/// Decides the form from the keys present: section names mean nested, keys starting with `/`
/// under `routes` (or a top-level `global`) mean flat.
pub(crate) fn detect_form(routes: Option<&Entry>, global: Option<&Entry>) -> ConfigForm {
    let keys = routes.and_then(|r| r.value.as_map()).unwrap_or_default();
    let has_section = keys.iter().any(|e| SECTIONS.contains(&e.key.as_str()));
    let has_path = keys.iter().any(|e| e.key.starts_with('/'));
    if has_section || !(has_path || global.is_some()) {
        ConfigForm::Nested
    } else {
        ConfigForm::Flat
    }
}

pub(crate) fn routes(
    routes: Option<&Entry>,
    global: Option<&Entry>,
    form: ConfigForm,
    ctx: &mut Ctx<'_>,
) -> RoutesConfig {
    let mut out = RoutesConfig::default();
    match form {
        ConfigForm::Nested => {
            if let Some(global) = global {
                ctx.report(
                    global.key_span,
                    "global",
                    "`global` belongs to the flat form; in this file write routes.global_defaults",
                );
            }
            let Some(routes) = routes else { return out };
            let Some(sections) = ctx.map_entries(routes, "routes", "a mapping") else {
                return out;
            };
            for section in sections {
                let path = push_key("routes", &section.key);
                match section.key.as_str() {
                    "global_defaults" => {
                        out.global_defaults =
                            route_settings(section, &path, ctx).unwrap_or_default()
                    }
                    "patterns" => out.patterns = keyed(section, &path, ctx, Kind::Pattern),
                    "exact" => out.exact = keyed(section, &path, ctx, Kind::Exact),
                    "methods" => out.methods = keyed(section, &path, ctx, Kind::Method),
                    key if key.starts_with('/') => {
                        let message = format!(
                            "route pattern `{key}` belongs under routes.patterns (this file uses the nested form)"
                        );
                        ctx.report(section.key_span, &path, message);
                    }
                    key => ctx.report(section.key_span, &path, unknown_key_message(key, SECTIONS)),
                }
            }
        }
        ConfigForm::Flat => {
            if let Some(global) = global {
                out.global_defaults = route_settings(global, "global", ctx).unwrap_or_default();
            }
            if let Some(routes) = routes {
                out.patterns = keyed(routes, "routes", ctx, Kind::Pattern);
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pattern,
    Exact,
    Method,
}

/// Reads a mapping of route keys to settings, checking each key and refusing two keys that
/// mean the same route (`/api/users` and `/api/users/`), since one would silently lose.
fn keyed(
    section: &Entry,
    path: &str,
    ctx: &mut Ctx<'_>,
    kind: Kind,
) -> Vec<(String, RouteSettings, Location)> {
    let mut out = Vec::new();
    let Some(entries) = ctx.map_entries(section, path, "a mapping of routes to settings") else {
        return out;
    };
    let mut seen: HashMap<String, Location> = HashMap::new();
    for entry in entries {
        let key_path = push_key(path, &entry.key);
        let canonical = match kind {
            Kind::Pattern => Pattern::parse(&entry.key).map(|_| normalize_path(&entry.key)),
            Kind::Exact => parse_exact(&entry.key),
            Kind::Method => parse_method_key(&entry.key).map(|(m, p)| format!("{m} {p}")),
        };
        let location = ctx.location(entry.key_span);
        let canonical = match canonical {
            Ok(canonical) => canonical,
            Err(e) => {
                ctx.report(entry.key_span, &key_path, e.to_string());
                continue;
            }
        };
        if let Some(first) = seen.get(&canonical) {
            ctx.report(
                entry.key_span,
                &key_path,
                format!("same route as the key at {first}; merge the two"),
            );
            continue;
        }
        seen.insert(canonical, location.clone());
        if let Some(settings) = route_settings(entry, &key_path, ctx) {
            out.push((entry.key.clone(), settings, location));
        }
    }
    out
}
