//! Built-in routes applications can mount, and the host's metric registry.

mod health;
pub mod metrics;

pub use health::{health_response, health_router, ready_response};
