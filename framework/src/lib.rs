//! Beginnings: a configuration-driven web runtime whose middleware extensions are shared
//! libraries loaded through a stable ABI.
//!
//! An application loads its configuration, mounts routers of async handlers, and serves:
//!
//! ```no_run
//! use beginnings::{App, Json, Router};
//!
//! # async fn run() -> Result<(), beginnings::Error> {
//! let api = Router::new("/api/v1").get("/hello", |_request| async { Json("hello") });
//! let server = App::from_file("config/app.yaml", None)?.mount(api).build()?.bind(None).await?;
//! println!("listening on http://{}", server.local_addr());
//! server.run().await
//! # }
//! ```

mod app;
pub mod builtin;
mod chain;
mod coarse_clock;
pub mod config;
mod error;
mod grow_only;
mod host;
pub mod routing;
mod runtime;
mod server;
mod store;
pub mod telemetry;
pub mod tower;

pub use app::App;
pub use chain::PipelineError;
pub use chain::ValueOrderError;
pub use error::{CommandError, Error, ReloadError};
pub use host::{
    LibraryInfo, LoadError, LoadErrorKind, LoadErrors, LoadedExtension, TypeSummary,
    inspect as inspect_library,
};
pub use routing::RouteError;
/// WebSocket sessions from handlers ([`Request::websocket`]).
#[cfg(feature = "websocket")]
pub use routing::websocket;
pub use routing::{IntoResponse, Json, Rejection, Request, Response, Router, State};
pub use runtime::{ExtensionHandle, RouteSummary, Runtime};
pub use server::{Reloader, Server};
pub use store::{SharedStore, StoreError};

/// What the benchmarks under `benches/` drive directly.
#[doc(hidden)]
pub mod bench {
    pub use crate::chain::{ChainProbe, ProbedRequest};
    pub use crate::config::StoreConfig;
    pub use crate::routing::RouteConfigResolver;
    #[cfg(feature = "redis")]
    pub use crate::store::RedisStore;
    pub use crate::store::{DEFAULT_TIMEOUT, MemoryStore, Store};
}

/// Builds the tokio runtime the server runs on: `workers` threads, or one per core.
pub fn tokio_runtime(workers: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = workers {
        builder.worker_threads(workers);
    }
    builder.enable_all().build()
}
