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
pub mod config;
mod error;
pub mod loader;
mod pipeline;
pub mod routing;
mod server;
pub mod store;

pub use app::{App, ExtensionHandle, RouteSummary, Runtime};
pub use error::{CommandError, Error, PipelineError, ReloadError, RouteError};
pub use pipeline::ValueOrderError;
pub use routing::{IntoResponse, Json, Rejection, Request, Response, Router};
pub use server::{Reloader, Server};
pub use store::StoreError;

/// What the benchmarks under `benches/` drive directly.
#[doc(hidden)]
pub mod bench {
    pub use crate::pipeline::{ChainProbe, ProbedRequest};
}

/// Builds the tokio runtime the server runs on: `workers` threads, or one per core.
pub fn tokio_runtime(workers: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = workers {
        builder.worker_threads(workers);
    }
    builder.enable_all().build()
}
