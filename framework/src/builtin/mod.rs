//! Built-in routes applications can mount, and the host's metric registry.

// The `sqlite` and `postgres` features: either brings the pool, each its own URLs.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod database;
mod health;
pub mod metrics;
mod metrics_route;
mod prometheus;
mod static_files;
pub mod templates;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use database::{Database, DatabaseError, sqlx};
pub use health::{health_response, health_router, ready_response};
pub use metrics_route::{
    MetricsOptions, ProcessMemory, metrics_response, metrics_router, process_memory, render_json,
};
pub use prometheus::{PROMETHEUS_CONTENT_TYPE, render_prometheus};
pub(crate) use static_files::static_routes;
pub use templates::{TemplateError, Templates};
