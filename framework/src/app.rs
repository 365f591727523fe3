//! The embedding API: an application loads its configuration, mounts its routers, and the
//! runtime loads the extensions, builds every route's chain once and serves.

use std::path::{Path, PathBuf};

use abi_stable::std_types::{RErr, ROk, RStr};
use http::Method;
use serde_json::Value;

use crate::config::{self, Config, LoadOptions};
use crate::error::{Error, RouteError};
use crate::loader::{self, LoadedExtension};
use crate::pipeline::{Chain, ChainBuilder};
use crate::routing::{
    IntoResponse, MethodEntry, ResolvedRouteConfig, RouteConfigResolver, RouteDef, RouteTable,
    Router,
};
use crate::server::Server;

/// An application before it starts: configuration plus the routes registered in code.
pub struct App {
    config: Config,
    routes: Vec<RouteDef>,
    extensions_dir: Option<PathBuf>,
}

impl App {
    pub fn new(config: Config) -> Self {
        App {
            config,
            routes: Vec::new(),
            extensions_dir: None,
        }
    }

    /// Loads the configuration file (with its profile overlay) and makes an application.
    pub fn from_file(path: impl AsRef<Path>, profile: Option<&str>) -> Result<Self, Error> {
        let config = config::load(&LoadOptions {
            path: path.as_ref().to_path_buf(),
            profile: profile.map(str::to_string),
        })?;
        Ok(App::new(config))
    }

    /// Where extension libraries are looked for, overriding `app.extensions_dir`.
    pub fn extensions_dir(mut self, directory: impl Into<PathBuf>) -> Self {
        self.extensions_dir = Some(directory.into());
        self
    }

    /// Adds a router's routes.
    pub fn mount(mut self, router: Router) -> Self {
        self.routes.extend(router.into_routes());
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The directory extension libraries are loaded from.
    pub fn resolved_extensions_dir(&self) -> PathBuf {
        self.extensions_dir
            .clone()
            .or_else(|| self.config.app.extensions_dir.clone())
            .unwrap_or_else(|| PathBuf::from("extensions"))
    }

    /// Loads every extension and builds every route's chain. Nothing is served yet.
    pub fn build(self) -> Result<Runtime, Error> {
        let directory = self.resolved_extensions_dir();
        let extensions = loader::load_all(&self.config.extensions, &directory)?;
        for extension in &extensions {
            tracing::info!(
                extension = %extension.name,
                library = %extension.library.display(),
                "extension loaded"
            );
        }
        let resolver = RouteConfigResolver::new(&self.config.routes)?;
        let mut builder = ChainBuilder::new(&extensions);
        let mut grouped: Vec<(String, Vec<RouteDef>)> = Vec::new();
        for route in self.routes {
            match grouped.iter_mut().find(|(path, _)| *path == route.path) {
                Some((_, defs)) => {
                    if defs.iter().any(|d| d.method == route.method) {
                        return Err(RouteError::Duplicate {
                            method: route.method.to_string(),
                            route: route.path,
                        }
                        .into());
                    }
                    defs.push(route);
                }
                None => grouped.push((route.path.clone(), vec![route])),
            }
        }
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
                let resolved = resolver.resolve(&path, &[method_name], def.settings.as_ref());
                let chain = builder.chain_for(&path, &[method_name], &resolved.settings)?;
                methods.push(MethodEntry {
                    method: def.method,
                    handler: def.handler,
                    chain,
                    resolved,
                });
            }
            entries.push(crate::routing::RouteEntry {
                allow: crate::routing::allow_header(&methods),
                template: path,
                methods,
            });
        }
        drop(builder);
        let table = RouteTable::new(entries)?;
        Ok(Runtime {
            config: self.config,
            extensions,
            table,
        })
    }
}

/// An application with its extensions loaded and its chains built.
pub struct Runtime {
    config: Config,
    extensions: Vec<LoadedExtension>,
    table: RouteTable,
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
        &self.config
    }

    pub fn extensions(&self) -> &[LoadedExtension] {
        &self.extensions
    }

    /// Every route with the extensions of its chain.
    pub fn routes(&self) -> Vec<RouteSummary> {
        self.table
            .routes()
            .iter()
            .flat_map(|route| {
                route.methods.iter().map(|entry| RouteSummary {
                    path: route.template.clone(),
                    method: entry.method.clone(),
                    chain: chain_names(&entry.chain),
                    config: entry.resolved.clone(),
                })
            })
            .collect()
    }

    /// Reaches a loaded extension by `module:Type` (to send it commands).
    pub fn extension(&self, name: &str) -> Option<ExtensionHandle<'_>> {
        find_extension(&self.extensions, name)
    }

    /// Binds the listener: `addr` (`HOST:PORT`) or `app.host`/`app.port`.
    pub async fn bind(self, addr: Option<&str>) -> Result<Server, Error> {
        let addr = match addr {
            Some(addr) => addr.to_string(),
            None => format!("{}:{}", self.config.app.host, self.config.app.port),
        };
        if !addr.contains(':') {
            return Err(Error::Address(addr));
        }
        Server::bind(&addr, self.table, self.extensions).await
    }
}

/// The answer to an OPTIONS request no extension answered: 204 with the path's methods.
fn options_route(path: &str, defs: &[RouteDef]) -> RouteDef {
    let mut allowed: Vec<&str> = defs.iter().map(|d| d.method.as_str()).collect();
    if allowed.contains(&"GET") && !allowed.contains(&"HEAD") {
        allowed.push("HEAD");
    }
    allowed.push("OPTIONS");
    let allow = http::HeaderValue::from_str(&allowed.join(", "))
        .unwrap_or_else(|_| http::HeaderValue::from_static("OPTIONS"));
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

pub(crate) fn find_extension<'a>(
    extensions: &'a [LoadedExtension],
    name: &str,
) -> Option<ExtensionHandle<'a>> {
    extensions
        .iter()
        .find(|e| e.name == name)
        .map(|extension| ExtensionHandle { extension })
}

fn chain_names(chain: &Chain) -> Vec<String> {
    chain.extensions().map(str::to_string).collect()
}

/// A loaded extension, reached by name from the application.
pub struct ExtensionHandle<'a> {
    extension: &'a LoadedExtension,
}

impl ExtensionHandle<'_> {
    pub fn name(&self) -> &str {
        &self.extension.name
    }

    /// Sends a command; the extension answers with JSON or an error message.
    pub fn command(&self, name: &str, argument: &Value) -> Result<Value, String> {
        let argument = argument.to_string();
        match self
            .extension
            .instance
            .command(RStr::from_str(name), RStr::from_str(&argument))
        {
            ROk(answer) => serde_json::from_str(answer.as_str())
                .map_err(|e| format!("{}: answered invalid JSON: {e}", self.extension.name)),
            RErr(error) => Err(format!("{}: {}", self.extension.name, error.message)),
        }
    }
}
