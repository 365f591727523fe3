//! Built-in routes applications can mount.

mod health;

pub use health::health_router;
