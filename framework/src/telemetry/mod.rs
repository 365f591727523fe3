//! What the runtime counts and reports about itself: the metric registry extensions and the
//! host update, its Prometheus rendering, and the process's memory. The lowest layer beside
//! `config`: every other module may count into it, and it calls none of them.

mod memory;
pub mod metrics;
mod prometheus;

pub use memory::{ProcessMemory, memory_figure, process_memory};
pub use prometheus::{PROMETHEUS_CONTENT_TYPE, render_prometheus};
