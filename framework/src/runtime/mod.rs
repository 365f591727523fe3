//! A generation of the runtime: a configuration with its extensions loaded, every route's
//! chain built and the route table that finds them. One is assembled at startup
//! ([`Generation::assemble`]) and again by every reload ([`ReloadSource::load_generation`]);
//! the server serves the current one and swaps in the next.

mod assemble;
mod handle;
mod probe;
mod reload;
mod rollback;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::Method;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::builtin::Database;
use crate::chain::{Chain, HostChains, HostEntry, RouteLimits};
use crate::config::{AppConfig, Config};
use crate::host::LoadedExtension;
use crate::routing::{DynHandler, ResolvedRouteConfig, RouteMethod, RouteTable, ServiceHandler};
use crate::store::SharedStore;
use crate::telemetry::metrics::Registry;

pub use handle::ExtensionHandle;
pub(crate) use reload::{
    ReloadSource, define_swap_counters, file_stamps, record_builds, record_swaps, retire,
    start_extensions, stop_extensions, warn_restart_needed,
};
pub(crate) use rollback::{Standby, SwapGuard};

/// A method of a route: its handler and the chain built for it at startup.
pub(crate) struct MethodEntry {
    pub method: Method,
    pub handler: DynHandler,
    pub chain: Chain,
    /// The route's resolved configuration and where it came from, for `beginnings routes`.
    pub resolved: ResolvedRouteConfig,
    /// Body size and timeout, resolved from `resolved` and the `app` defaults at startup.
    pub limits: RouteLimits,
}

impl RouteMethod for MethodEntry {
    fn method(&self) -> &Method {
        &self.method
    }
}

/// A configuration in force: the route table with its chains and the extensions they use.
pub(crate) struct Generation {
    // Fields drop in order: the chains (and their filters) before the extensions.
    pub table: RouteTable<MethodEntry, ServiceHandler>,
    /// The chains of 404 and 405 answers and of mounted services, built on first use.
    pub host: HostChains,
    pub extensions: Vec<LoadedExtension>,
    /// The shared store this generation's extensions were created with.
    pub store: Arc<SharedStore>,
    pub config: Config,
    /// Whether requests are logged (`app.access_log`, unless the command line said no).
    pub access_log: bool,
    /// Whether the server answers `GET /health` and `GET /ready` itself: `app.probes` is on
    /// and the application mounted no route of its own there (a mounted route runs through
    /// its extensions like any other).
    pub health_probe: bool,
    pub ready_probe: bool,
}

impl Generation {
    pub fn app(&self) -> &AppConfig {
        &self.config.app
    }

    /// What `serve --watch` watches: the files the configuration was read from and the
    /// extension libraries in use, so installing a new build reloads as editing does.
    pub fn watched_files(&self) -> Vec<PathBuf> {
        let libraries = self.extensions.iter().map(|e| e.library.clone());
        let mut files: Vec<PathBuf> = self.config.files.iter().cloned().chain(libraries).collect();
        files.sort();
        files.dedup();
        files
    }

    /// The chain a 404 (`template` none) or a 405 on `path` passes through, and a request
    /// to a mounted service (`template` none).
    pub fn host_chain(&self, path: &str, template: Option<&str>) -> Arc<HostEntry> {
        self.host.entry(&self.extensions, path, template)
    }
}

/// An application with its extensions loaded and its chains built, not yet serving.
pub struct Runtime {
    pub(crate) generation: Generation,
    pub(crate) source: ReloadSource,
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) database: Option<Database>,
}

/// A route as `beginnings routes` shows it.
#[derive(Debug, Clone)]
pub struct RouteSummary {
    pub path: String,
    pub method: Method,
    /// The extensions whose hooks run on this route, in request order.
    pub chain: Vec<String>,
    /// The resolved route configuration, which layer gave each key, and the patterns
    /// that matched.
    pub config: ResolvedRouteConfig,
}

impl Runtime {
    pub fn config(&self) -> &Config {
        &self.generation.config
    }

    pub fn extensions(&self) -> &[LoadedExtension] {
        &self.generation.extensions
    }

    /// The application's metrics (what `/metrics` reports).
    pub fn metrics(&self) -> &Arc<Registry> {
        self.generation.store.registry()
    }

    /// The shared store this runtime's extensions use (`app.shared_store`).
    pub fn shared_store(&self) -> &Arc<SharedStore> {
        &self.generation.store
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub fn database(&self) -> Option<Database> {
        self.database.clone()
    }

    /// Every route with the extensions of its chain.
    pub fn routes(&self) -> Vec<RouteSummary> {
        (self.generation.table.routes().iter())
            .flat_map(|route| {
                route.methods.iter().map(|entry| RouteSummary {
                    path: route.template.clone(),
                    method: entry.method.clone(),
                    chain: entry.chain.extensions().map(str::to_string).collect(),
                    config: entry.resolved.clone(),
                })
            })
            .collect()
    }

    /// Reaches a loaded extension by `module:Type` (to send it commands).
    pub fn extension(&self, name: &str) -> Option<ExtensionHandle<'_>> {
        handle::find(&self.generation.extensions, name)
    }
}

/// The extensions directory: the override, else `app.extensions_dir`, else `extensions`.
pub(crate) fn extensions_dir_for(overridden: Option<&Path>, config: &Config) -> PathBuf {
    overridden
        .map(Path::to_path_buf)
        .or_else(|| config.app.extensions_dir.clone())
        .unwrap_or_else(|| PathBuf::from("extensions"))
}

/// Where new builds of loaded libraries are copied: `app.state_dir`, else `.beginnings` in
/// the extensions directory (which the server's user already owns).
pub(crate) fn state_dir_for(config: &Config, extensions_dir: &Path) -> PathBuf {
    (config.app.state_dir.clone()).unwrap_or_else(|| extensions_dir.join(".beginnings"))
}

pub(crate) use handle::shared as shared_extension;
