//! The embedding API: an application loads its configuration, mounts its routers, and the
//! runtime loads the extensions, builds every route's chain once and serves.

use std::path::{Path, PathBuf};
use std::sync::Arc;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::builtin::Database;
use crate::builtin::Templates;
use crate::config::{self, Config, LoadOptions};
use crate::error::Error;
use crate::routing::{MountDef, RouteDef, Router};
use crate::runtime::{Generation, ReloadSource, Runtime};
use crate::server::Server;
use crate::telemetry::metrics::Registry;

/// An application before it starts: configuration plus the routes registered in code.
pub struct App {
    config: Config,
    routes: Vec<RouteDef>,
    mounts: Vec<MountDef>,
    extensions_dir: Option<PathBuf>,
    /// Where the configuration came from, so a running server can load it again.
    source: Option<LoadOptions>,
    access_log: Option<bool>,
    templates: Arc<Templates>,
    /// A template directory that failed to load; [`App::build`] reports it.
    templates_error: Option<config::ConfigError>,
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    database: Option<Database>,
    /// The application's metrics, its own whatever else runs in the process.
    metrics: Arc<Registry>,
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
            mounts: Vec::new(),
            extensions_dir: None,
            source: None,
            access_log: None,
            metrics: Arc::default(),
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

    /// Adds a router's routes and the tower services mounted on it
    /// ([`Router::nest_service`]).
    pub fn mount(mut self, router: Router) -> Self {
        let (routes, mounts) = router.into_parts();
        self.routes.extend(routes);
        self.mounts.extend(mounts);
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

    /// The application's metrics: what its extensions, shared store and server count, and
    /// what `/metrics` reports (give it to [`metrics_router`](crate::builtin::metrics_router)
    /// to mount that route yourself).
    pub fn metrics(&self) -> Arc<Registry> {
        self.metrics.clone()
    }

    /// The directory extension libraries are loaded from.
    pub fn resolved_extensions_dir(&self) -> PathBuf {
        crate::runtime::extensions_dir_for(self.extensions_dir.as_deref(), &self.config)
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
        let generation = Generation::assemble(
            self.config,
            &routes,
            &self.mounts,
            &directory,
            self.access_log,
            &self.metrics,
            None,
        )?;
        Ok(Runtime {
            generation,
            #[cfg(any(feature = "sqlite", feature = "postgres"))]
            database: self.database,
            source: ReloadSource {
                load: self.source,
                routes,
                mounts: self.mounts,
                extensions_dir: self.extensions_dir,
                access_log: self.access_log,
                templates: self.templates,
            },
        })
    }
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

impl Runtime {
    /// Binds the listener: `addr` (`HOST:PORT`) or `app.host`/`app.port`.
    pub async fn bind(self, addr: Option<&str>) -> Result<Server, Error> {
        let addr = match addr {
            Some(addr) => addr.to_string(),
            None => {
                let app = self.generation.app();
                format!("{}:{}", app.host, app.port)
            }
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
        Server::bind(&addr, self.generation, self.source).await
    }
}
