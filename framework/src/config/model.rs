//! The typed configuration that the rest of Beginnings reads.

use std::fmt;
use std::path::PathBuf;

use super::error::Location;

/// Free-form route settings: any keys, values as written (after interpolation).
pub type RouteSettings = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, Clone)]
pub struct Config {
    pub app: AppConfig,
    pub routes: RoutesConfig,
    /// In the order written in the file(s).
    pub extensions: Vec<ExtensionEntry>,
    /// Every file that contributed, in load order.
    pub files: Vec<PathBuf>,
    pub form: ConfigForm,
    /// Canonical profile name after alias expansion (`dev` -> `development`).
    pub profile: Option<String>,
    /// The merged, interpolated tree, for `config show` (pass it through [`super::redacted`]).
    pub effective: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    pub name: String,
    pub host: String,
    /// 0 asks the operating system for a free port.
    pub port: u16,
    pub workers: Option<usize>,
    pub debug: bool,
    /// Already resolved against the main configuration file's directory.
    pub extensions_dir: Option<PathBuf>,
    pub access_log: bool,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            name: "beginnings".to_owned(),
            host: "127.0.0.1".to_owned(),
            port: 8000,
            workers: None,
            debug: false,
            extensions_dir: None,
            access_log: false,
        }
    }
}

/// The keys `app:` accepts.
pub(crate) const APP_KEYS: &[&str] = &[
    "name",
    "host",
    "port",
    "workers",
    "debug",
    "extensions_dir",
    "access_log",
];

#[derive(Debug, Clone, Default)]
pub struct RoutesConfig {
    pub global_defaults: RouteSettings,
    /// Pattern as written, its settings and where its key was written; in file order.
    pub patterns: Vec<(String, RouteSettings, Location)>,
    pub exact: Vec<(String, RouteSettings, Location)>,
    /// Keys like `"POST /api/users"`.
    pub methods: Vec<(String, RouteSettings, Location)>,
}

#[derive(Debug, Clone)]
pub struct ExtensionEntry {
    /// `module:Type` as written.
    pub name: String,
    /// The library is `lib<module>.so`; restricted to `[a-z0-9_]+` so it can never be a path.
    pub module: String,
    pub type_name: String,
    /// The mapping under the key; `{}` when the key has no value.
    pub config: serde_json::Value,
    /// `enabled:` in the extension's settings, `true` when absent.
    pub enabled: bool,
    pub location: Location,
}

/// Which of the two accepted shapes a configuration used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigForm {
    /// `routes: {global_defaults, patterns, exact, methods}`.
    Nested,
    /// The shape of the Python edition of Beginnings: `global:` plus `routes:` mapping
    /// patterns directly, accepted so its users can move over unchanged.
    Flat,
}

impl fmt::Display for ConfigForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigForm::Nested => "nested (routes.global_defaults / routes.patterns)",
            ConfigForm::Flat => "flat (global: + routes: {pattern: settings})",
        })
    }
}
