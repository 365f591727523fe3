//! Two profilers in one library.
//!
//! `profiler:MemoryProfilerExtension` logs the process's resident memory (current and peak,
//! from the operating system) at start-up and shutdown and keeps it in the gauges
//! `ext_profiler_rss_bytes` and `ext_profiler_peak_rss_bytes` (shown by `/metrics`),
//! optionally refreshed on an interval.
//!
//! `profiler:RequestProfilerExtension`, on routes with `profile_enabled: true`, adds a
//! `Server-Timing` header listing the time spent in each extension's hooks and in the
//! handler, as measured by the host, and logs the requests slower than a threshold.
//!
//! ```yaml
//! extensions:
//!   # First in the list: response hooks run in reverse order, so its hook runs last and
//!   # sees every other extension's timing.
//!   "profiler:RequestProfilerExtension":
//!     slow_threshold_ms: 500     # default 500; 0 logs every profiled request
//!     server_timing: true        # default true
//!   "profiler:MemoryProfilerExtension":
//!     interval_seconds: 30       # default 0: only at start-up and shutdown
//!     log_samples: false         # default false
//! routes:
//!   patterns:
//!     "/api/*": {profile_enabled: true}
//! ```

mod config;
mod memory;
mod request;

use beginnings_abi::export_extension;

pub use config::{MemoryProfilerConfig, RequestProfilerConfig};
pub use memory::{Memory, MemoryProfilerExtension, NoFilter, read_memory};
pub use request::{OWN_TIMING, ROUTE_SWITCH, RequestProfilerExtension, RequestProfilerFilter};

export_extension!(MemoryProfilerExtension, RequestProfilerExtension);

#[cfg(test)]
#[test]
fn the_documented_keys_are_the_keys_they_read() {
    let docs = include_str!("../../../docs/extensions.md");
    for check in [
        beginnings_abi::testing::check_documented_keys::<RequestProfilerExtension>(
            docs,
            "profiler:RequestProfilerExtension",
        ),
        beginnings_abi::testing::check_documented_keys::<MemoryProfilerExtension>(
            docs,
            "profiler:MemoryProfilerExtension",
        ),
    ] {
        check.unwrap_or_else(|problems| panic!("docs/extensions.md: {problems}"));
    }
}
