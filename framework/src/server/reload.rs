//! Generations and reload: a generation is a configuration with its extensions and route
//! table; a reload builds the next one beside the current and swaps it in atomically.
//! Requests in flight finish on the generation they started on, which is then retired:
//! its extensions' shutdown hooks run and it is freed (the libraries stay loaded).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use abi_stable::std_types::RErr;

use crate::app;
use crate::config::{self, AppConfig, LoadOptions};
use crate::error::{Error, ReloadError};
use crate::loader::LoadedExtension;
use crate::routing::{Method, RouteDef, RouteMatch, RouteTable};
use crate::store::SharedStore;

/// A configuration in force: the route table with its chains and the extensions they use.
pub(crate) struct Generation {
    // Fields drop in order: the chains (and their filters) before the extensions.
    pub table: RouteTable,
    pub extensions: Vec<LoadedExtension>,
    /// The shared store this generation's extensions were created with.
    pub store: Arc<SharedStore>,
    pub app: AppConfig,
    /// Whether requests are logged (`app.access_log`, unless the command line said no).
    pub access_log: bool,
    /// The files the configuration was read from, watched by `serve --watch`.
    pub files: Vec<PathBuf>,
    /// Whether the server answers `GET /health` and `GET /ready` itself: `app.probes` is on
    /// and the application mounted no route of its own there (a mounted route runs through
    /// its extensions like any other).
    pub health_probe: bool,
    pub ready_probe: bool,
}

/// What a reload rebuilds from: where the configuration is, the routes the application
/// registered in code, and the command-line overrides.
pub(crate) struct ReloadSource {
    pub load: Option<LoadOptions>,
    pub routes: Vec<RouteDef>,
    pub extensions_dir: Option<PathBuf>,
    pub access_log: Option<bool>,
    /// The application's templates, for error pages (made once with the application).
    pub templates: std::sync::Arc<crate::builtin::Templates>,
}

impl Generation {
    pub fn new(
        table: RouteTable,
        extensions: Vec<LoadedExtension>,
        store: Arc<SharedStore>,
        config: &config::Config,
        access_log: Option<bool>,
    ) -> Self {
        let unmounted = |path: &str| {
            config.app.probes && matches!(table.find(&Method::GET, path), RouteMatch::NotFound)
        };
        Generation {
            health_probe: unmounted("/health"),
            ready_probe: unmounted("/ready"),
            table,
            extensions,
            store,
            access_log: access_log.unwrap_or(config.app.access_log),
            app: config.app.clone(),
            files: config.files.clone(),
        }
    }
}

impl ReloadSource {
    /// Loads the configuration again, loads its extensions (libraries already loaded are
    /// reused), builds every chain and starts the new extensions. Nothing of the running
    /// generation is touched.
    pub fn load_generation(&self) -> Result<Generation, Error> {
        let Some(load) = &self.load else {
            return Err(ReloadError::NoConfigFile.into());
        };
        let config = config::load(load)?;
        let directory = app::extensions_dir_for(self.extensions_dir.as_deref(), &config);
        let (table, extensions, store) = app::build_routes(&config, &self.routes, &directory)?;
        start_extensions(&extensions)?;
        Ok(Generation::new(
            table,
            extensions,
            store,
            &config,
            self.access_log,
        ))
    }
}

/// Runs the startup hooks in load order; when one fails, the ones that started are stopped.
pub(crate) fn start_extensions(extensions: &[LoadedExtension]) -> Result<(), Error> {
    for (index, extension) in extensions.iter().enumerate() {
        if let RErr(error) = extension.instance.on_startup() {
            stop_extensions(&extensions[..index]);
            return Err(Error::Startup {
                extension: extension.name.clone(),
                message: error.message.into_string(),
            });
        }
    }
    Ok(())
}

/// Runs the shutdown hooks in reverse load order.
pub(crate) fn stop_extensions(extensions: &[LoadedExtension]) {
    for extension in extensions.iter().rev() {
        if let RErr(error) = extension.instance.on_shutdown() {
            tracing::error!(extension = %extension.name, "shutdown hook failed: {}", error.message);
        }
    }
}

/// Waits until no request uses `old` any more, then stops its extensions and frees it.
pub(crate) async fn retire(mut old: Arc<Generation>) {
    loop {
        match Arc::try_unwrap(old) {
            Ok(generation) => {
                stop_extensions(&generation.extensions);
                drop(generation);
                tracing::debug!("previous configuration retired");
                return;
            }
            Err(shared) => {
                old = shared;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Settings read once when the server starts; a reload that changes them says so.
pub(crate) fn warn_restart_needed(old: &AppConfig, new: &AppConfig) {
    let fixed = [
        ("host", old.host != new.host),
        ("port", old.port != new.port),
        ("workers", old.workers != new.workers),
        ("backlog", old.backlog != new.backlog),
        (
            "max_connections",
            old.max_connections != new.max_connections,
        ),
        ("keep_alive", old.keep_alive != new.keep_alive),
        (
            "keep_alive_timeout",
            old.keep_alive_timeout != new.keep_alive_timeout,
        ),
        (
            "header_read_timeout",
            old.header_read_timeout != new.header_read_timeout,
        ),
        (
            "max_header_bytes",
            old.max_header_bytes != new.max_header_bytes,
        ),
        ("send_timeout", old.send_timeout != new.send_timeout),
        (
            "client_body_timeout",
            old.client_body_timeout != new.client_body_timeout,
        ),
        (
            "client_body_min_rate",
            old.client_body_min_rate != new.client_body_min_rate,
        ),
        ("log_format", old.log_format != new.log_format),
    ];
    for (key, changed) in fixed {
        if changed {
            tracing::warn!("app.{key} changed; it takes effect when the server restarts");
        }
    }
}

/// The latest modification time among `files` (a missing file counts as changed).
pub(crate) fn newest_change(files: &[PathBuf]) -> Option<SystemTime> {
    files
        .iter()
        .map(|file| {
            std::fs::metadata(file)
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH)
        })
        .max()
}
