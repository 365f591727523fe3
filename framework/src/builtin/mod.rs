//! Built-in routes applications can mount: health probes, `/metrics`, static files, and the
//! database and templates handlers use.

// The `sqlite` and `postgres` features: either brings the pool, each its own URLs.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod database;
mod health;
mod metrics_route;
mod static_files;
pub mod templates;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use database::{Database, DatabaseError, sqlx};
pub use health::{health_response, health_router, ready_response};
pub use metrics_route::{MetricsOptions, metrics_response, metrics_router, render_json};
pub(crate) use static_files::static_routes;
pub use templates::{TemplateError, Templates};
