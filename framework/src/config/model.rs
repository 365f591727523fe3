//! The typed configuration that the rest of Beginnings reads.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::error::Location;

/// Free-form route settings: any keys, values as written (after interpolation).
pub type RouteSettings = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, Clone)]
pub struct Config {
    pub app: AppConfig,
    pub routes: RoutesConfig,
    /// In the order written in the file(s).
    pub extensions: Vec<ExtensionEntry>,
    /// `static:`: directories served under URL prefixes.
    pub static_files: Option<super::StaticConfig>,
    /// `templates:`: the template directory.
    pub templates: Option<super::TemplatesConfig>,
    /// `database:`: the pooled connection handlers query.
    pub database: Option<super::DatabaseConfig>,
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
    /// Tokio worker threads; `None` means one per core.
    pub workers: Option<usize>,
    pub debug: bool,
    /// A caller on the loopback interface may ask for the time each extension took on its
    /// request (`X-Beginnings-Debug: timing`).
    pub request_debug: bool,
    /// A caller anywhere may ask so when it also sends `X-Beginnings-Debug-Token` with it.
    pub request_debug_token: Option<String>,
    /// Already resolved against the main configuration file's directory.
    pub extensions_dir: Option<PathBuf>,
    /// Where new builds of loaded libraries are copied before they are opened; `None`: a
    /// `.beginnings` directory in the extensions directory. Already resolved against the
    /// main configuration file's directory.
    pub state_dir: Option<PathBuf>,
    /// After a reload swaps in a new build of a library, how long the generation it replaced
    /// is kept ready: when the panic breaker of the new build's extension trips within this,
    /// the server goes back to it. Zero keeps nothing (no rollback on panics).
    pub swap_rollback_window: Duration,
    /// One log line per request (target `beginnings::access`).
    pub access_log: bool,
    /// `text` or `json` log lines; read by the binary that installs the log subscriber.
    pub log_format: LogFormat,
    /// The listen queue length handed to `listen(2)`.
    pub backlog: u32,
    /// Connections served at once; beyond it new connections wait in the backlog.
    pub max_connections: Option<usize>,
    /// Request bodies larger than this are answered 413; a route's `max_body_bytes` wins.
    pub max_body_bytes: usize,
    /// The whole request (hooks and handler) for routes without their own `timeout`.
    pub timeout: Option<Duration>,
    /// A client must send a request head within this, or its connection is closed; it also
    /// bounds the wait for a connection's first request on HTTP/2.
    pub header_read_timeout: Option<Duration>,
    /// Whether connections are kept open between requests.
    pub keep_alive: bool,
    /// An idle kept-alive connection is told to close after this, and dropped if it has not
    /// closed after the same time again; `None` keeps it open.
    pub keep_alive_timeout: Option<Duration>,
    /// The request line and headers together; larger heads are answered 431.
    pub max_header_bytes: usize,
    /// A connection whose answer could not be written at all for this long is closed.
    pub send_timeout: Option<Duration>,
    /// A request body that sends nothing for this long is answered 408.
    pub client_body_timeout: Option<Duration>,
    /// Bytes per second a request body must keep up, on average, once
    /// `client_body_timeout` has passed; slower bodies are answered 408.
    pub client_body_min_rate: Option<u64>,
    /// How long a new process started by a SIGUSR2 handover has to report ready before it
    /// is stopped (and this one keeps serving).
    pub handover_timeout: Duration,
    /// A WebSocket message (or frame) larger than this closes the socket with 1009.
    pub websocket_max_message_bytes: usize,
    /// A WebSocket with no message either way for this long is closed with 1001; `None`
    /// keeps it open.
    pub websocket_idle_timeout: Option<Duration>,
    /// How long requests in flight may take to finish once shutdown starts.
    pub shutdown_grace: Duration,
    /// How long readiness answers 503 while connections are still accepted, before the
    /// listener closes (time for a load balancer to notice).
    pub shutdown_delay: Duration,
    /// The server answers `GET /health` and `GET /ready` itself, without extensions or
    /// access log, where the application mounted no route of its own.
    pub probes: bool,
    /// Once the server is ready, the pages of the program's and libraries' code and
    /// read-only data that the start touched are given back; serving faults in its own.
    pub release_start_pages: bool,
    /// Where extensions' shared state lives: in this process, or in Redis when several
    /// instances must share limits and revocations.
    pub shared_store: crate::config::StoreConfig,
    /// How long one shared-store operation may take before it counts as failed.
    pub store_timeout: Duration,
    /// The built-in `/metrics` endpoint.
    pub metrics: MetricsConfig,
}

/// `app.metrics`: the built-in metrics endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    pub enabled: bool,
    pub path: String,
    /// Serve the metrics on their own listener (`HOST:PORT`), not beside the routes.
    pub bind: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            path: "/metrics".to_owned(),
            bind: None,
        }
    }
}

/// The smallest head limit the HTTP/1 parser accepts.
pub const MIN_HEADER_BYTES: usize = 8192;

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            name: "beginnings".to_owned(),
            host: "127.0.0.1".to_owned(),
            port: 8000,
            workers: None,
            debug: false,
            request_debug: false,
            request_debug_token: None,
            extensions_dir: None,
            state_dir: None,
            swap_rollback_window: Duration::from_secs(60),
            access_log: true,
            log_format: LogFormat::Text,
            backlog: 1024,
            max_connections: None,
            max_body_bytes: 2 * 1024 * 1024,
            timeout: None,
            header_read_timeout: Some(Duration::from_secs(10)),
            keep_alive: true,
            keep_alive_timeout: Some(Duration::from_secs(5)),
            max_header_bytes: 32 * 1024,
            send_timeout: Some(Duration::from_secs(60)),
            client_body_timeout: Some(Duration::from_secs(60)),
            client_body_min_rate: Some(240),
            websocket_max_message_bytes: 64 * 1024,
            websocket_idle_timeout: Some(Duration::from_secs(60)),
            shutdown_grace: Duration::from_secs(30),
            handover_timeout: Duration::from_secs(30),
            shutdown_delay: Duration::ZERO,
            probes: true,
            release_start_pages: true,
            shared_store: crate::config::StoreConfig::Memory,
            store_timeout: crate::config::DEFAULT_STORE_TIMEOUT,
            metrics: MetricsConfig::default(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The keys `app:` accepts.
pub(crate) const APP_KEYS: &[&str] = &[
    "name",
    "host",
    "port",
    "workers",
    "debug",
    "request_debug",
    "request_debug_token",
    "extensions_dir",
    "state_dir",
    "swap_rollback_window_seconds",
    "access_log",
    "log_format",
    "backlog",
    "max_connections",
    "max_body_bytes",
    "timeout",
    "header_read_timeout",
    "keep_alive",
    "keep_alive_timeout",
    "max_header_bytes",
    "send_timeout",
    "client_body_timeout",
    "client_body_min_rate",
    "websocket_max_message_bytes",
    "websocket_idle_timeout",
    "shutdown_grace_seconds",
    "shutdown_delay_seconds",
    "handover_timeout_seconds",
    "probes",
    "release_start_pages",
    "shared_store",
    "store_timeout_ms",
    "metrics",
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
