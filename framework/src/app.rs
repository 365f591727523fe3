//! The embedding API: an application loads its configuration, mounts its routers, and the
//! runtime loads the extensions, builds every route's chain once and serves.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use abi_stable::std_types::{RErr, ROk, RStr};
use http::Method;
use serde_json::Value;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::builtin::Database;
use crate::builtin::Templates;
use crate::config::{self, Config, LoadOptions};
use crate::error::{CommandError, Error, RouteError};
use crate::loader::{self, LoadedExtension};
use crate::pipeline::{Chain, ChainBuilder, HostChains};
use crate::routing::{
    IntoResponse, MethodEntry, ResolvedRouteConfig, RouteConfigResolver, RouteDef, RouteTable,
    Router,
};
use crate::server::{Generation, ReloadSource, RouteLimits, Server};
use crate::store::SharedStore;

/// An application before it starts: configuration plus the routes registered in code.
pub struct App {
    config: Config,
    routes: Vec<RouteDef>,
    extensions_dir: Option<PathBuf>,
    /// Where the configuration came from, so a running server can load it again.
    source: Option<LoadOptions>,
    access_log: Option<bool>,
    templates: Arc<Templates>,
    /// A template directory that failed to load; [`App::build`] reports it.
    templates_error: Option<config::ConfigError>,
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    database: Option<Database>,
}

impl App {
    /// An application from a configuration already loaded; a server made from it cannot
    /// reload (use [`App::from_file`] for that).
    pub fn new(config: Config) -> Self {
        let (templates, templates_error) = load_templates(&config);
        App {
            templates,
            templates_error,
            #[cfg(any(feature = "sqlite", feature = "postgres"))]
            database: config.database.clone().map(Database::new),
            config,
            routes: Vec::new(),
            extensions_dir: None,
            source: None,
            access_log: None,
        }
    }

    /// Loads the configuration file (with its profile overlay) and makes an application.
    pub fn from_file(path: impl AsRef<Path>, profile: Option<&str>) -> Result<Self, Error> {
        let options = LoadOptions {
            path: path.as_ref().to_path_buf(),
            profile: profile.map(str::to_string),
        };
        let config = config::load(&options)?;
        let mut app = App::new(config);
        app.source = Some(options);
        Ok(app)
    }

    /// Turns the access log on or off whatever `app.access_log` says, across reloads too
    /// (`--no-access-log`).
    pub fn access_log(mut self, on: bool) -> Self {
        self.access_log = Some(on);
        self
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

    /// The templates of `templates:`, for handlers to capture (see
    /// [`Templates`](crate::builtin::Templates)); without that section every render fails.
    pub fn templates(&self) -> Arc<Templates> {
        self.templates.clone()
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    /// The pool `database:` configures, for handlers to capture; it opens when the server
    /// binds. Handlers also find it on every request ([`Database::of`]).
    pub fn database(&self) -> Option<Database> {
        self.database.clone()
    }

    /// The directory extension libraries are loaded from.
    pub fn resolved_extensions_dir(&self) -> PathBuf {
        extensions_dir_for(self.extensions_dir.as_deref(), &self.config)
    }

    /// Loads every extension and builds every route's chain. Nothing is served yet.
    pub fn build(self) -> Result<Runtime, Error> {
        if let Some(error) = &self.templates_error {
            return Err(error.clone().into());
        }
        let directory = self.resolved_extensions_dir();
        #[cfg(any(feature = "sqlite", feature = "postgres"))]
        let routes = match &self.database {
            Some(database) => (self.routes.into_iter())
                .map(|route| crate::builtin::database::attach(route, database))
                .collect(),
            None => self.routes,
        };
        #[cfg(not(any(feature = "sqlite", feature = "postgres")))]
        let routes = self.routes;
        let (table, extensions, store) = build_routes(&self.config, &routes, &directory)?;
        Ok(Runtime {
            config: self.config,
            extensions,
            table,
            store,
            #[cfg(any(feature = "sqlite", feature = "postgres"))]
            database: self.database,
            source: ReloadSource {
                load: self.source,
                routes,
                extensions_dir: self.extensions_dir,
                access_log: self.access_log,
                templates: self.templates,
            },
        })
    }
}

/// The extensions directory: the override, else `app.extensions_dir`, else `extensions`.
pub(crate) fn extensions_dir_for(overridden: Option<&Path>, config: &Config) -> PathBuf {
    overridden
        .map(Path::to_path_buf)
        .or_else(|| config.app.extensions_dir.clone())
        .unwrap_or_else(|| PathBuf::from("extensions"))
}

/// The templates of `templates:`; a directory whose templates do not load is reported as a
/// configuration problem at the section.
fn load_templates(config: &Config) -> (Arc<Templates>, Option<config::ConfigError>) {
    let Some(section) = &config.templates else {
        return (Arc::new(Templates::unconfigured()), None);
    };
    match Templates::load(section) {
        Ok(templates) => (Arc::new(templates), None),
        Err(error) => {
            let problem = config::Problem::new(
                Some(section.location.clone()),
                "templates",
                error.to_string(),
            );
            (
                Arc::new(Templates::unconfigured()),
                Some(config::ConfigError::single(problem)),
            )
        }
    }
}

/// Loads the configured extensions and builds the route table of `routes` with every
/// route's chain and limits; used at startup and by every reload.
pub(crate) fn build_routes(
    config: &Config,
    routes: &[RouteDef],
    directory: &Path,
) -> Result<(RouteTable, Vec<LoadedExtension>, Arc<SharedStore>), Error> {
    // Before the extensions: their start-up may already use the store. It becomes the
    // process's store only when this generation starts serving (`store::commit`).
    let store = crate::store::prepare(&config.app.shared_store, config.app.store_timeout)
        .map_err(Error::Store)?;
    let extensions = loader::load_all(&config.extensions, directory, &store)?;
    for extension in &extensions {
        tracing::info!(
            extension = %extension.name,
            library = %extension.library.display(),
            "extension loaded"
        );
    }
    let resolver = RouteConfigResolver::new(&config.routes)?;
    let mut builder = ChainBuilder::new(&extensions);
    let mut grouped: Vec<(String, Vec<RouteDef>)> = Vec::new();
    let metrics = &config.app.metrics;
    // The built-in metrics route, unless switched off or the application serves that path.
    let builtin_metrics = if metrics.enabled
        && metrics.bind.is_none()
        && !routes.iter().any(|r| r.path == metrics.path)
    {
        crate::builtin::metrics_router(crate::builtin::MetricsOptions {
            path: metrics.path.clone(),
        })
        .into_routes()
    } else {
        Vec::new()
    };
    let builtin_static = (config.static_files.as_ref())
        .map(crate::builtin::static_routes)
        .unwrap_or_default();
    for route in (routes.iter().cloned())
        .chain(builtin_metrics)
        .chain(builtin_static)
    {
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
            let chain =
                builder.chain_for(&extensions, &path, &[method_name], &resolved.settings)?;
            let limits = RouteLimits::resolve(&config.app, &resolved.settings, chain.timeout());
            methods.push(MethodEntry {
                method: def.method,
                handler: def.handler,
                chain,
                resolved,
                limits,
            });
        }
        entries.push(crate::routing::RouteEntry {
            allow: crate::routing::allow_header(&methods),
            template: path,
            methods,
        });
    }
    // Kept by the table: 404 and 405 answers get their chains from it on first use.
    let host = HostChains::new(resolver, config.app.clone(), builder);
    let table = RouteTable::new(entries, host)?;
    Ok((table, extensions, store))
}

/// An application with its extensions loaded and its chains built.
pub struct Runtime {
    config: Config,
    extensions: Vec<LoadedExtension>,
    table: RouteTable,
    /// The shared store the extensions were created with.
    store: Arc<SharedStore>,
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    database: Option<Database>,
    source: ReloadSource,
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

    /// The shared store this runtime's extensions use (`app.shared_store`).
    pub fn shared_store(&self) -> &Arc<SharedStore> {
        &self.store
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub fn database(&self) -> Option<Database> {
        self.database.clone()
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
        // On the server's runtime, before the address is announced: a database that cannot
        // be reached or migrated stops the start-up instead of failing every request.
        #[cfg(any(feature = "sqlite", feature = "postgres"))]
        if let Some(database) = &self.database {
            database.connect().await?;
        }
        let generation = Generation::new(
            self.table,
            self.extensions,
            self.store,
            &self.config,
            self.source.access_log,
        );
        Server::bind(&addr, generation, self.source).await
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
        .map(|extension| ExtensionHandle {
            extension: Held::Borrowed(extension),
        })
}

/// A handle that keeps the configuration generation it came from alive.
pub(crate) fn shared_extension(
    generation: Arc<Generation>,
    name: &str,
) -> Option<ExtensionHandle<'static>> {
    let index = generation.extensions.iter().position(|e| e.name == name)?;
    Some(ExtensionHandle {
        extension: Held::Shared(generation, index),
    })
}

fn chain_names(chain: &Chain) -> Vec<String> {
    chain.extensions().map(str::to_string).collect()
}

/// A loaded extension, reached by name from the application.
pub struct ExtensionHandle<'a> {
    extension: Held<'a>,
}

enum Held<'a> {
    Borrowed(&'a LoadedExtension),
    /// From a running server, whose configuration may be replaced by a reload meanwhile.
    Shared(Arc<Generation>, usize),
}

impl ExtensionHandle<'_> {
    fn extension(&self) -> &LoadedExtension {
        match &self.extension {
            Held::Borrowed(extension) => extension,
            Held::Shared(generation, index) => &generation.extensions[*index],
        }
    }

    pub fn name(&self) -> &str {
        &self.extension().name
    }

    /// Sends a command; the extension answers with JSON, or the error names it and says
    /// whether it refused, panicked or answered something that is not JSON.
    pub fn command(&self, name: &str, argument: &Value) -> Result<Value, CommandError> {
        let argument = argument.to_string();
        let extension = self.extension();
        match extension
            .instance
            .command(RStr::from_str(name), RStr::from_str(&argument))
        {
            ROk(answer) => serde_json::from_str(answer.as_str()).map_err(|source| {
                CommandError::InvalidAnswer {
                    extension: extension.name.clone(),
                    command: name.to_owned(),
                    source,
                }
            }),
            RErr(error) if error.panicked => Err(CommandError::Panicked {
                extension: extension.name.clone(),
                command: name.to_owned(),
                message: error.message.into_string(),
            }),
            RErr(error) => Err(CommandError::Failed {
                extension: extension.name.clone(),
                command: name.to_owned(),
                message: error.message.into_string(),
            }),
        }
    }
}
