//! Assembling a generation from a configuration and the application's routes: the shared
//! store, the extensions, the built-in routes, every route's chain and limits, the table.

use std::path::Path;
use std::sync::Arc;

use http::Method;

use super::{Generation, MethodEntry};
use crate::builtin::{MetricsOptions, metrics_router, static_routes};
use crate::chain::{ChainBuilder, HostChains, RouteLimits};
use crate::config::Config;
use crate::error::Error;
use crate::host;
use crate::routing::{
    IntoResponse, MountDef, MountEntry, RouteConfigResolver, RouteDef, RouteEntry, RouteError,
    RouteMatch, RouteTable, Router, allow_value,
};
use crate::store::{self, SharedStore};
use crate::telemetry::metrics::Registry;

impl Generation {
    /// Loads the configured extensions and builds the route table of `routes` with every
    /// route's chain and limits; used at startup and by every reload. Nothing starts: the
    /// extensions' startup hooks run when the generation is about to serve.
    pub(crate) fn assemble(
        config: Config,
        routes: &[RouteDef],
        mounts: &[MountDef],
        directory: &Path,
        access_log: Option<bool>,
        registry: &Arc<Registry>,
        current_store: Option<&Arc<SharedStore>>,
    ) -> Result<Generation, Error> {
        // Before the extensions: their start-up may already use the store. A reload keeps
        // the store in force when the configuration names the same one.
        let app = &config.app;
        let store = store::prepare(
            &app.shared_store,
            app.store_timeout,
            registry,
            current_store,
        )?;
        let state_dir = super::state_dir_for(&config, directory);
        let extensions = host::load_all(&config.extensions, directory, &state_dir, &store)?;
        super::define_swap_counters(registry, &extensions);
        if current_store.is_none() {
            // The application's first generation: its builds are the ones in use. A
            // reload's are once it is switched in.
            super::record_builds(registry, &[], &extensions);
        }
        for extension in &extensions {
            tracing::info!(
                extension = %extension.name,
                library = %extension.library.display(),
                sha256 = %extension.sha256,
                "extension loaded"
            );
        }
        let resolver = RouteConfigResolver::new(&config.routes)?;
        let mut builder = ChainBuilder::new(&extensions, registry);
        let grouped = by_path(routes, builtin_routes(&config, routes, registry))?;
        let mut entries = Vec::with_capacity(grouped.len());
        for (path, mut defs) in grouped {
            // OPTIONS reaches the extensions (CORS preflights) on every path; unanswered, it
            // gets 204 with the path's methods.
            if !defs.iter().any(|d| d.method == Method::OPTIONS) {
                defs.push(options_route(&path, &defs));
            }
            let mut methods = Vec::with_capacity(defs.len());
            for def in defs {
                let method_name = def.method.as_str();
                let resolved = resolver.resolve(&path, &[method_name], def.settings.as_ref())?;
                let (settings, host) = (&resolved.settings, &resolved.host);
                let chain =
                    builder.chain_for(&extensions, &path, &[method_name], settings, host)?;
                let limits = RouteLimits::resolve(&config.app, host);
                methods.push(MethodEntry {
                    method: def.method,
                    handler: def.handler,
                    chain,
                    resolved,
                    limits,
                });
            }
            entries.push(RouteEntry::new(path, methods));
        }
        // 404 and 405 answers and mounted services get their chains from it on first use.
        let host = HostChains::new(resolver, config.app.clone(), builder, registry);
        let mounts = (mounts.iter())
            .map(|mount| {
                let service = mount.service.clone().under_prefix(&mount.prefix);
                MountEntry::new(mount.prefix.clone(), service)
            })
            .collect();
        let table = RouteTable::new(entries, mounts)?;
        let unmounted = |path: &str| {
            config.app.probes && matches!(table.find(&Method::GET, path), RouteMatch::NotFound)
        };
        Ok(Generation {
            health_probe: unmounted("/health"),
            ready_probe: unmounted("/ready"),
            table,
            host,
            extensions,
            store,
            access_log: access_log.unwrap_or(config.app.access_log),
            config,
        })
    }
}

/// The routes the runtime adds itself: `/metrics` (unless switched off, served on its own
/// listener, or the application serves that path) and the static directories.
fn builtin_routes(config: &Config, routes: &[RouteDef], registry: &Arc<Registry>) -> Vec<RouteDef> {
    let metrics = &config.app.metrics;
    let mut builtin = Vec::new();
    if metrics.enabled && metrics.bind.is_none() && !routes.iter().any(|r| r.path == metrics.path) {
        let options = MetricsOptions {
            path: metrics.path.clone(),
        };
        builtin.extend(metrics_router(options, registry.clone()).into_routes());
    }
    if let Some(static_files) = &config.static_files {
        builtin.extend(static_routes(static_files));
    }
    builtin
}

/// The application's routes and the built-in ones by path, in the order first registered;
/// a method registered twice on one path is refused.
fn by_path(
    routes: &[RouteDef],
    builtin: Vec<RouteDef>,
) -> Result<Vec<(String, Vec<RouteDef>)>, RouteError> {
    let mut grouped: Vec<(String, Vec<RouteDef>)> = Vec::new();
    for route in routes.iter().cloned().chain(builtin) {
        match grouped.iter_mut().find(|(path, _)| *path == route.path) {
            Some((_, defs)) => {
                if defs.iter().any(|d| d.method == route.method) {
                    return Err(RouteError::Duplicate {
                        method: route.method.to_string(),
                        route: route.path,
                    });
                }
                defs.push(route);
            }
            None => grouped.push((route.path.clone(), vec![route])),
        }
    }
    Ok(grouped)
}

/// The answer to an OPTIONS request no extension answered: 204 with the path's methods.
fn options_route(path: &str, defs: &[RouteDef]) -> RouteDef {
    let allow = allow_value(defs.iter().map(|d| &d.method).chain([&Method::OPTIONS]));
    let router = Router::new("").route(Method::OPTIONS, path, move |_request| {
        let mut response = http::StatusCode::NO_CONTENT.into_response();
        response
            .headers_mut()
            .insert(http::header::ALLOW, allow.clone());
        async move { response }
    });
    router
        .into_routes()
        .pop()
        .expect("the router holds the route just added")
}
