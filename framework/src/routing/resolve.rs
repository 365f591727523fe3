//! Resolving the configuration of one route from the `routes` section.
//!
//! Layers, each deep-merged over the previous: `global_defaults`, every matching pattern from
//! least to most specific (ties: the one later in the file wins), the exact path, the
//! `"METHOD /path"` entries, and the overrides the application gives in code. This runs once per
//! registered route at startup; requests only see the result.

use std::collections::{BTreeMap, HashMap};

use crate::config::pattern::{
    Pattern, normalize_path, parse_exact, parse_method_key, path_segments,
};
use crate::config::{
    ConfigError, HostRouteSettings, Location, Problem, Refusal, RouteSettings, RoutesConfig,
    deep_merge, push_key,
};

/// The `routes` section compiled for resolution.
#[derive(Debug, Clone)]
pub struct RouteConfigResolver {
    global_defaults: RouteSettings,
    /// Least specific first, which is the order they are applied in.
    patterns: Vec<Layer<Pattern>>,
    exact: HashMap<String, Layer<()>>,
    /// Normalised path -> (method, layer).
    methods: HashMap<String, Vec<(String, Layer<()>)>>,
}

#[derive(Debug, Clone)]
struct Layer<T> {
    matcher: T,
    /// How the layer is named in [`ResolvedRouteConfig::sources`], e.g. `patterns "/api/*"`.
    label: String,
    /// Where the layer was written, for errors in its settings: its key path
    /// (`routes.patterns."/api/*"`) and the position of that key.
    key_path: String,
    location: Location,
    settings: RouteSettings,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedRouteConfig {
    pub settings: RouteSettings,
    /// The keys of `settings` the host reads, parsed once here for the chain and the limits.
    pub host: HostRouteSettings,
    /// Top-level setting -> the layer that last set it: `global_defaults`, `patterns "/api/*"`,
    /// `exact "/api/users"`, `methods "POST /api/users"` or `code`.
    pub sources: BTreeMap<String, String>,
    /// Patterns that matched, as written, in the order they were applied.
    pub matched_patterns: Vec<String>,
}

impl RouteConfigResolver {
    pub fn new(routes: &RoutesConfig) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let mut patterns = Vec::with_capacity(routes.patterns.len());
        for (raw, settings, location) in &routes.patterns {
            match Pattern::parse(raw) {
                Ok(matcher) => patterns.push(Layer {
                    matcher,
                    label: format!("patterns {raw:?}"),
                    key_path: push_key("routes.patterns", raw),
                    location: location.clone(),
                    settings: settings.clone(),
                }),
                Err(e) => problems.push(problem(location, "routes.patterns", raw, e.to_string())),
            }
        }
        // A stable sort keeps file order among equals, so the later of two equally specific
        // patterns is applied last and wins.
        patterns.sort_by_key(|layer| layer.matcher.specificity());

        let mut exact: HashMap<String, Layer<()>> = HashMap::new();
        for (raw, settings, location) in &routes.exact {
            match parse_exact(raw) {
                Ok(path) if exact.contains_key(&path) => {
                    problems.push(problem(
                        location,
                        "routes.exact",
                        raw,
                        format!("duplicate exact path `{path}`"),
                    ));
                }
                Ok(path) => {
                    exact.insert(
                        path,
                        Layer {
                            matcher: (),
                            label: format!("exact {raw:?}"),
                            key_path: push_key("routes.exact", raw),
                            location: location.clone(),
                            settings: settings.clone(),
                        },
                    );
                }
                Err(e) => problems.push(problem(location, "routes.exact", raw, e.to_string())),
            }
        }

        let mut methods: HashMap<String, Vec<(String, Layer<()>)>> = HashMap::new();
        for (raw, settings, location) in &routes.methods {
            match parse_method_key(raw) {
                Ok((method, path)) => {
                    let slot = methods.entry(path).or_default();
                    if slot.iter().any(|(m, _)| *m == method) {
                        problems.push(problem(
                            location,
                            "routes.methods",
                            raw,
                            format!("duplicate entry for `{raw}`"),
                        ));
                    } else {
                        let layer = Layer {
                            matcher: (),
                            label: format!("methods {raw:?}"),
                            key_path: push_key("routes.methods", raw),
                            location: location.clone(),
                            settings: settings.clone(),
                        };
                        slot.push((method, layer));
                    }
                }
                Err(e) => problems.push(problem(location, "routes.methods", raw, e.to_string())),
            }
        }

        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Self {
            global_defaults: routes.global_defaults.clone(),
            patterns,
            exact,
            methods,
        })
    }

    /// Resolves the configuration of the route registered as `path` (a template such as
    /// `/api/v1/users/{id}`) for `methods` (uppercase), with the application's own overrides
    /// applied last, and reads the keys the host reads from it. A value the host refuses is
    /// an error naming the layer that set it (a configuration loaded from files has had each
    /// layer checked already, so only settings given in code or a hand-built
    /// [`RoutesConfig`] can fail here).
    pub fn resolve(
        &self,
        path: &str,
        methods: &[&str],
        code_overrides: Option<&RouteSettings>,
    ) -> Result<ResolvedRouteConfig, ConfigError> {
        let mut resolved = ResolvedRouteConfig {
            host: HostRouteSettings::default(),
            settings: self.global_defaults.clone(),
            sources: self
                .global_defaults
                .keys()
                .map(|k| (k.clone(), "global_defaults".to_owned()))
                .collect(),
            matched_patterns: Vec::new(),
        };
        let segments: Vec<&str> = path_segments(path).collect();
        for layer in &self.patterns {
            if layer.matcher.matches_segments(&segments) {
                resolved.apply(&layer.settings, &layer.label);
                resolved
                    .matched_patterns
                    .push(layer.matcher.as_str().to_owned());
            }
        }
        let path = normalize_path(path);
        if let Some(layer) = self.exact.get(&path) {
            resolved.apply(&layer.settings, &layer.label);
        }
        if let Some(entries) = self.methods.get(&path) {
            for (i, method) in methods.iter().enumerate() {
                if methods[..i].contains(method) {
                    continue;
                }
                if let Some((_, layer)) = entries.iter().find(|(m, _)| m == method) {
                    resolved.apply(&layer.settings, &layer.label);
                }
            }
        }
        if let Some(code) = code_overrides {
            resolved.apply(code, "code");
        }
        match HostRouteSettings::parse(&resolved.settings) {
            Ok(host) => resolved.host = host,
            Err(refusals) => {
                let problems = (refusals.iter())
                    .map(|refusal| self.refused(&resolved, refusal, &path, methods))
                    .collect();
                return Err(ConfigError { problems });
            }
        }
        Ok(resolved)
    }

    /// A refused host setting, named after the layer that set its key last.
    fn refused(
        &self,
        resolved: &ResolvedRouteConfig,
        refusal: &Refusal,
        path: &str,
        methods: &[&str],
    ) -> Problem {
        let source = resolved.sources.get(refusal.key).map_or("", String::as_str);
        if source == "code" {
            let message = format!(
                "in the settings the application gives `{} {path}` in code: {}",
                methods.join(","),
                refusal.message
            );
            return Problem::new(None, refusal.key_path(""), message);
        }
        let layer = (self.patterns.iter())
            .map(|l| (&l.label, &l.key_path, &l.location))
            .chain(
                self.exact
                    .values()
                    .map(|l| (&l.label, &l.key_path, &l.location)),
            )
            .chain(
                (self.methods.values().flatten())
                    .map(|(_, l)| (&l.label, &l.key_path, &l.location)),
            )
            .find(|(label, _, _)| *label == source);
        match layer {
            Some((_, key_path, location)) => Problem::new(
                Some(location.clone()),
                refusal.key_path(key_path),
                refusal.message.clone(),
            ),
            None => Problem::new(
                None,
                refusal.key_path("routes.global_defaults"),
                refusal.message.clone(),
            ),
        }
    }

    /// Number of compiled patterns.
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Which layers of the configuration a client's path takes without `methods` entries
    /// (the patterns that match it and its `exact` entry): paths with the same match resolve
    /// to the same settings, so the match can key what is kept for them. Allocates nothing
    /// for the paths and patterns of a usual configuration.
    pub(crate) fn path_match(&self, path: &str) -> PathMatch {
        let segments: smallvec::SmallVec<[&str; 16]> = path_segments(path).collect();
        let patterns = (self.patterns.iter().enumerate())
            .filter(|(_, layer)| layer.matcher.matches_segments(&segments))
            .map(|(index, _)| u32::try_from(index).unwrap_or(u32::MAX))
            .collect();
        let trimmed = path.trim_end_matches('/');
        let normalized = if trimmed.is_empty() { "/" } else { trimmed };
        let exact = (self.exact.get_key_value(normalized)).map(|(path, _)| Box::from(&**path));
        PathMatch { patterns, exact }
    }
}

/// The layers a path takes ([`RouteConfigResolver::path_match`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PathMatch {
    /// Indices of the matching patterns, least specific first.
    patterns: smallvec::SmallVec<[u32; 8]>,
    /// The `exact` entry's path, when there is one.
    exact: Option<Box<str>>,
}

impl ResolvedRouteConfig {
    fn apply(&mut self, layer: &RouteSettings, label: &str) {
        deep_merge(&mut self.settings, layer);
        for key in layer.keys() {
            match self.sources.get_mut(key) {
                Some(source) => label.clone_into(source),
                None => {
                    self.sources.insert(key.clone(), label.to_owned());
                }
            }
        }
    }
}

fn problem(location: &Location, section: &str, key: &str, message: String) -> Problem {
    Problem::new(Some(location.clone()), push_key(section, key), message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str_with_env;
    use serde_json::json;
    use std::path::Path;

    fn resolver(yaml: &str) -> RouteConfigResolver {
        let config = load_str_with_env(yaml, Path::new("app.yaml"), &|_| None).unwrap();
        RouteConfigResolver::new(&config.routes).unwrap()
    }

    const LAYERS: &str = r#"
routes:
  global_defaults: {timeout: 30, tags: {global: true}, level: global}
  patterns:
    "/api/*": {level: "/api/*", tags: {api: true}}
    "/**": {level: "/**", catch_all: true}
    "/api/*/users": {level: "/api/*/users"}
    "/api/v1/*": {level: "/api/v1/*"}
  exact:
    "/api/v1/users": {level: exact, timeout: 90}
  methods:
    "POST /api/v1/users": {level: post, timeout: 120}
    "GET /api/v1/users": {level: get}
"#;

    #[test]
    fn layers_apply_in_order_and_record_their_source() {
        let r = resolver(LAYERS);
        let all = "/**, /api/*, /api/v1/*, /api/*/users";
        // (path, methods, winning `level`, timeout, matched patterns in application order)
        let cases = [
            ("/other", "GET", "/**", 30, "/**"),
            ("/", "GET", "/**", 30, "/**"),
            ("/api/x", "GET", "/api/*", 30, "/**, /api/*"),
            // a trailing `*` covers its prefix too
            ("/api", "GET", "/api/*", 30, "/**, /api/*"),
            ("/api/v1/", "GET", "/api/v1/*", 30, "/**, /api/*, /api/v1/*"),
            (
                "/api/v2/users",
                "GET",
                "/api/*/users",
                30,
                "/**, /api/*, /api/*/users",
            ),
            (
                "/api/v1/things",
                "GET",
                "/api/v1/*",
                30,
                "/**, /api/*, /api/v1/*",
            ),
            ("/api/v1/users", "PUT", "exact", 90, all),
            ("/api/v1/users/", "POST", "post", 120, all),
            ("/api/v1/users", "GET", "get", 90, all),
            ("/api/v1/users", "GET POST", "post", 120, all),
            ("/api/v1/users", "POST GET", "get", 120, all),
        ];
        for (path, methods, level, timeout, matched) in cases {
            let methods: Vec<&str> = methods.split(' ').collect();
            let got = r.resolve(path, &methods, None).unwrap();
            let source = match level {
                "exact" => "exact \"/api/v1/users\"".to_owned(),
                "post" => "methods \"POST /api/v1/users\"".to_owned(),
                "get" => "methods \"GET /api/v1/users\"".to_owned(),
                pattern => format!("patterns {pattern:?}"),
            };
            assert_eq!(got.settings["level"], json!(level), "{path} {methods:?}");
            assert_eq!(
                got.settings["timeout"],
                json!(timeout),
                "{path} {methods:?}"
            );
            assert_eq!(got.matched_patterns.join(", "), matched, "{path}");
            assert_eq!(got.sources["level"], source, "{path} {methods:?}");
        }
    }

    #[test]
    fn code_overrides_come_last() {
        let r = resolver(LAYERS);
        let code = json!({"level": "code", "tags": {"code": true}});
        let got = r
            .resolve("/api/v1/users", &["POST"], code.as_object())
            .unwrap();
        assert_eq!(got.settings["level"], json!("code"));
        assert_eq!(
            got.settings["tags"],
            json!({"global": true, "api": true, "code": true})
        );
        assert_eq!(
            (
                got.sources["level"].as_str(),
                got.sources["timeout"].as_str()
            ),
            ("code", "methods \"POST /api/v1/users\"")
        );
    }

    #[test]
    fn merge_is_deep_and_sources_name_the_last_layer() {
        let r = resolver(LAYERS);
        let got = r.resolve("/api/v1/users/{id}", &["GET"], None).unwrap();
        assert_eq!(got.settings["tags"], json!({"global": true, "api": true}));
        assert_eq!(got.sources["tags"], "patterns \"/api/*\"");
        assert_eq!(got.sources["timeout"], "global_defaults");
        assert_eq!(got.sources["catch_all"], "patterns \"/**\"");
    }

    #[test]
    fn equally_specific_patterns_later_in_the_file_win() {
        let r = resolver(
            "routes:\n  patterns:\n    \"/a/*\": {v: first}\n    \"/a/**\": {v: second}\n",
        );
        let got = r.resolve("/a/b", &["GET"], None).unwrap();
        assert_eq!(got.settings["v"], json!("second"));
        assert_eq!(got.matched_patterns, ["/a/*", "/a/**"]);
        let r = resolver(
            "routes:\n  patterns:\n    \"/a/**\": {v: first}\n    \"/a/*\": {v: second}\n",
        );
        assert_eq!(
            r.resolve("/a/b", &["GET"], None).unwrap().settings["v"],
            json!("second")
        );
    }

    #[test]
    fn more_specific_patterns_win_whatever_the_file_order() {
        let r = resolver(
            "routes:\n  patterns:\n    \"/api/v1/*\": {v: v1}\n    \"/api/*\": {v: api}\n    \"/*\": {v: all}\n",
        );
        assert_eq!(
            r.resolve("/api/v1/x", &["GET"], None).unwrap().settings["v"],
            json!("v1")
        );
        assert_eq!(
            r.resolve("/api/v2/x", &["GET"], None).unwrap().settings["v"],
            json!("api")
        );
        assert_eq!(
            r.resolve("/x", &["GET"], None).unwrap().settings["v"],
            json!("all")
        );
    }

    #[test]
    fn a_subtree_pattern_covers_its_root_and_a_literal_pattern_beats_it_there() {
        let r = resolver(
            "routes:\n  patterns:\n    \"/static\": {v: literal}\n    \"/static/*\": {v: tree, auth_required: true}\n",
        );
        for template in ["/static/{*path}", "/static/", "/static"] {
            let got = r.resolve(template, &["GET"], None).unwrap();
            assert_eq!(got.settings["auth_required"], json!(true), "{template}");
        }
        assert_eq!(
            r.resolve("/static", &["GET"], None).unwrap().settings["v"],
            json!("literal")
        );
        assert_eq!(
            r.resolve("/static/", &["GET"], None).unwrap().settings["v"],
            json!("literal")
        );
        assert_eq!(
            r.resolve("/static/x", &["GET"], None).unwrap().settings["v"],
            json!("tree")
        );
        assert_eq!(
            r.resolve("/static", &["GET"], None)
                .unwrap()
                .matched_patterns,
            ["/static/*", "/static"]
        );
    }

    #[test]
    fn flat_form_resolves_like_patterns() {
        let r = resolver("global: {timeout: 10}\nroutes:\n  \"/api/*\": {cors_enabled: true}\n");
        let got = r.resolve("/api/users", &["GET"], None).unwrap();
        assert_eq!(
            got.settings,
            json!({"timeout": 10, "cors_enabled": true})
                .as_object()
                .unwrap()
                .clone()
        );
        assert_eq!(got.sources["timeout"], "global_defaults");
    }

    #[test]
    fn no_routes_section_resolves_to_empty() {
        let got = resolver("app: {}\n").resolve("/", &["GET"], None).unwrap();
        assert!(
            got.settings.is_empty() && got.sources.is_empty() && got.matched_patterns.is_empty()
        );
    }

    #[test]
    fn a_refused_host_setting_names_the_layer_that_set_it() {
        let r = resolver("routes:\n  patterns:\n    \"/api/*\": {timeout: 30}\n");
        let code = json!({"timeout": -1});
        let err = (r.resolve("/api/x", &["GET"], code.as_object())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "timeout: in the settings the application gives `GET /api/x` in code: \
             timeout must not be negative, found -1"
        );
        let location = Location {
            file: "x.yaml".into(),
            line: 3,
            column: 5,
        };
        let on_error = json!({"on_error": "maybe"}).as_object().unwrap().clone();
        let routes = RoutesConfig {
            patterns: vec![("/api/*".into(), on_error, location)],
            ..RoutesConfig::default()
        };
        let r = RouteConfigResolver::new(&routes).unwrap();
        let err = r.resolve("/api/x", &["GET"], None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.yaml:3:5: routes.patterns.\"/api/*\".on_error: expected `open`, `closed` or a \
             mapping of `module:Type` to one of them, found `maybe`"
        );
        assert!(
            r.resolve("/other", &["GET"], None).is_ok(),
            "only where it applies"
        );
    }

    #[test]
    fn hand_built_routes_are_checked() {
        let loc = Location {
            file: "x.yaml".into(),
            line: 1,
            column: 1,
        };
        let routes = RoutesConfig {
            patterns: vec![("/users/{id}".into(), RouteSettings::new(), loc.clone())],
            exact: vec![
                ("/a".into(), RouteSettings::new(), loc.clone()),
                ("/a/".into(), RouteSettings::new(), loc.clone()),
            ],
            methods: vec![("get /a".into(), RouteSettings::new(), loc)],
            ..RoutesConfig::default()
        };
        let err = RouteConfigResolver::new(&routes).unwrap_err();
        assert_eq!(err.problems.len(), 3, "{err}");
        assert!(
            err.problems[0]
                .to_string()
                .starts_with("x.yaml:1:1: routes.patterns.\"/users/{id}\": ")
        );
    }
}
