//! The `database:` pool: SQLite (the default, a file beside the configuration) or PostgreSQL,
//! chosen by the URL when the server starts.
//!
//! ```yaml
//! database:
//!   url: sqlite://data/app.db   # relative to this file; or postgres://user@host/db
//!   pool_size: 5                # connections kept open
//!   max_overflow: 10            # more under load: at most pool_size + max_overflow
//!   pool_pre_ping: true         # check a connection before handing it out
//!   pool_recycle: 3600          # seconds before a connection is replaced; 0 keeps it
//!   echo: false                 # log every statement at info level
//!   acquire_timeout: 5          # seconds a handler waits for a connection, then 503
//!   migrations: migrations      # a folder of NNNN_name.sql files run at start-up
//! ```
//!
//! Handlers reach the pool through a cloned [`Database`] (from [`crate::App::database`]) or
//! from the request ([`Database::of`]), and query it with [`sqlx`]:
//!
//! ```no_run
//! use beginnings::builtin::{Database, sqlx};
//! use beginnings::{Json, Rejection, Request, Router};
//!
//! fn users(db: Database) -> Router {
//!     Router::new("/api").get("/users/count", move |_request: Request| {
//!         let db = db.clone();
//!         async move {
//!             let pool = db.pool().await?;
//!             let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
//!                 .fetch_one(pool)
//!                 .await?;
//!             Ok::<_, Rejection>(Json(count))
//!         }
//!     })
//! }
//! ```

mod error;
mod open;

use std::sync::Arc;

use sqlx::any::AnyPoolOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};
use tokio::sync::OnceCell;

pub use error::DatabaseError;
/// The query library handlers use with [`Database::pool`], re-exported so applications use
/// the same version as the pool.
pub use sqlx;

use crate::config::DatabaseConfig;
use crate::routing::{DynHandler, Request, RouteDef};

/// A cloneable handle on the application's connection pool. The pool is opened (and the
/// migrations run) when the server binds, or on first use by a handle made elsewhere.
#[derive(Clone)]
pub struct Database {
    shared: Arc<Shared>,
}

struct Shared {
    config: DatabaseConfig,
    pool: OnceCell<AnyPool>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("url", &self.shared.config.url)
            .field("connected", &self.shared.pool.initialized())
            .finish()
    }
}

impl Database {
    /// A handle for `config`; nothing is opened yet.
    pub fn new(config: DatabaseConfig) -> Self {
        Database {
            shared: Arc::new(Shared {
                config,
                pool: OnceCell::new(),
            }),
        }
    }

    /// The database attached to a request of an application that configured one.
    pub fn of(request: &Request) -> Option<Database> {
        request.parts.extensions.get::<Database>().cloned()
    }

    pub fn config(&self) -> &DatabaseConfig {
        &self.shared.config
    }

    /// `sqlite` or `postgres`, for the few statements whose SQL differs.
    pub fn backend(&self) -> &'static str {
        if self.shared.config.url.is_sqlite() {
            "sqlite"
        } else {
            "postgres"
        }
    }

    /// Opens the pool and runs the migrations, once; later calls return at once.
    pub async fn connect(&self) -> Result<(), DatabaseError> {
        self.pool().await.map(|_| ())
    }

    /// The pool, opened on first use. Queries run on it wait at most `acquire_timeout` for a
    /// connection and then fail with [`DatabaseError::Busy`] (answered 503).
    pub async fn pool(&self) -> Result<&AnyPool, DatabaseError> {
        self.shared
            .pool
            .get_or_try_init(|| open::open(&self.shared.config))
            .await
    }

    /// One connection for several statements, waiting at most `acquire_timeout`.
    pub async fn acquire(&self) -> Result<PoolConnection<Any>, DatabaseError> {
        Ok(self.pool().await?.acquire().await?)
    }

    /// Connections open now, and how many of them are idle; `(0, 0)` before the pool opens.
    pub fn connections(&self) -> (u32, usize) {
        self.shared
            .pool
            .get()
            .map_or((0, 0), |pool| (pool.size(), pool.num_idle()))
    }

    /// Waits for connections in use to come back and closes them all.
    pub async fn close(&self) {
        if let Some(pool) = self.shared.pool.get() {
            pool.close().await;
        }
    }
}

/// The pool options `config` maps onto.
fn pool_options(config: &DatabaseConfig) -> AnyPoolOptions {
    let max = config.max_connections();
    let options = AnyPoolOptions::new()
        .min_connections(config.pool_size.min(max))
        .max_connections(max)
        .test_before_acquire(config.pool_pre_ping)
        .max_lifetime(config.pool_recycle)
        .acquire_timeout(config.acquire_timeout);
    if matches!(config.url, crate::config::DatabaseUrl::SqliteMemory) {
        // An in-memory database lives only as long as one of its connections: never close
        // them all for age or idleness.
        options
            .min_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
    } else {
        options
    }
}

/// Hands `database` to the handler of `route` with every request ([`Database::of`]).
pub(crate) fn attach(route: RouteDef, database: &Database) -> RouteDef {
    let inner = route.handler.clone();
    let database = database.clone();
    RouteDef {
        handler: DynHandler::new(inner.streams_body, move |mut request: Request| {
            request.parts.extensions.insert(database.clone());
            inner.call(request)
        }),
        ..route
    }
}
