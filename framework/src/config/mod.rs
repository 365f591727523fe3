//! PLACEHOLDER: a minimal loader with the public shape of the configuration subsystem,
//! replaced by the full one (includes, profiles, interpolation, spans).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub type RouteSettings = Map<String, Value>;

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub path: PathBuf,
    pub profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

#[derive(Debug, Clone)]
pub struct AppConfig {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub workers: Option<usize>,
    pub debug: bool,
    pub extensions_dir: Option<PathBuf>,
    pub access_log: bool,
}

#[derive(Debug, Clone, Default)]
pub struct RoutesConfig {
    pub global_defaults: RouteSettings,
    pub patterns: Vec<(String, RouteSettings, Location)>,
    pub exact: Vec<(String, RouteSettings, Location)>,
    pub methods: Vec<(String, RouteSettings, Location)>,
}

#[derive(Debug, Clone)]
pub struct ExtensionEntry {
    pub name: String,
    pub module: String,
    pub type_name: String,
    pub config: Value,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub app: AppConfig,
    pub routes: RoutesConfig,
    pub extensions: Vec<ExtensionEntry>,
    pub files: Vec<PathBuf>,
    pub effective: Value,
}

#[derive(Debug)]
pub struct Problem {
    pub location: Option<Location>,
    pub key_path: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if let Some(l) = &p.location {
                write!(f, "{l}: ")?;
            }
            write!(f, "{}: {}", p.key_path, p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

fn problem(file: &Path, key: &str, message: String) -> ConfigError {
    ConfigError {
        problems: vec![Problem {
            location: Some(Location {
                file: file.to_path_buf(),
                line: 1,
                column: 1,
            }),
            key_path: key.into(),
            message,
        }],
    }
}

pub fn load(opts: &LoadOptions) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(&opts.path)
        .map_err(|e| problem(&opts.path, "", format!("cannot read: {e}")))?;
    let mut config = load_str(&text, &opts.path)?;
    if let Some(dir) = &config.app.extensions_dir
        && dir.is_relative()
    {
        let base = opts.path.parent().unwrap_or(Path::new("."));
        config.app.extensions_dir = Some(base.join(dir));
    }
    Ok(config)
}

pub fn load_str(yaml: &str, file: &Path) -> Result<Config, ConfigError> {
    let tree: Value = serde_saphyr::from_str(yaml).map_err(|e| problem(file, "", e.to_string()))?;
    let loc = || Location {
        file: file.to_path_buf(),
        line: 1,
        column: 1,
    };
    let app = tree.get("app").cloned().unwrap_or(Value::Null);
    let get_str = |k: &str, d: &str| app.get(k).and_then(Value::as_str).unwrap_or(d).to_string();
    let app_config = AppConfig {
        name: get_str("name", "beginnings"),
        host: get_str("host", "127.0.0.1"),
        port: app.get("port").and_then(Value::as_u64).unwrap_or(8000) as u16,
        workers: app
            .get("workers")
            .and_then(Value::as_u64)
            .map(|w| w as usize),
        debug: app.get("debug").and_then(Value::as_bool).unwrap_or(false),
        extensions_dir: app
            .get("extensions_dir")
            .and_then(Value::as_str)
            .map(PathBuf::from),
        access_log: false,
    };
    let routes = tree.get("routes").cloned().unwrap_or(Value::Null);
    let list = |k: &str| -> Vec<(String, RouteSettings, Location)> {
        routes
            .get(k)
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(p, v)| (p.clone(), v.as_object().cloned().unwrap_or_default(), loc()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let routes_config = RoutesConfig {
        global_defaults: routes
            .get("global_defaults")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        patterns: list("patterns"),
        exact: list("exact"),
        methods: list("methods"),
    };
    let mut extensions = Vec::new();
    if let Some(map) = tree.get("extensions").and_then(Value::as_object) {
        for (name, value) in map {
            let (module, type_name) = name.split_once(':').unwrap_or((name, ""));
            if module.is_empty()
                || !module
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(problem(
                    file,
                    &format!("extensions.\"{name}\""),
                    "module must be [a-z0-9_]+".into(),
                ));
            }
            extensions.push(ExtensionEntry {
                name: name.clone(),
                module: module.into(),
                type_name: type_name.into(),
                config: if value.is_null() {
                    Value::Object(Map::new())
                } else {
                    value.clone()
                },
                location: loc(),
            });
        }
    }
    Ok(Config {
        app: app_config,
        routes: routes_config,
        extensions,
        files: vec![file.to_path_buf()],
        effective: tree,
    })
}

pub use crate::routing::resolve::{ResolvedRouteConfig, RouteConfigResolver};
#[allow(dead_code)]
type Sources = BTreeMap<String, String>;
