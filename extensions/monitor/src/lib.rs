//! `monitor:PerformanceMonitorExtension`: per route template (never the raw path, so
//! `/users/1` and `/users/2` are one series) and method, a sample of the requests is counted
//! by status and timed into a bounded HDR histogram kept by the host. The host's `/metrics`
//! route (`beginnings::builtin::metrics_router`, given the application's `App::metrics`) shows them as the performance guide's JSON
//! (count, errors, avg/min/max/p50/p95/p99) or as Prometheus text.
//!
//! ```yaml
//! extensions:
//!   # First in the list: its response hook runs last, so the latency covers every other
//!   # extension's hooks as well as the handler.
//!   "monitor:PerformanceMonitorExtension":
//!     sample_rate: 0.1          # share of requests measured, 0.0-1.0 (default 0.1)
//! routes:
//!   exact:
//!     "/metrics": {monitoring_enabled: false}   # default true
//! ```
//!
//! Sampling is one draw from a thread-local generator per request, without a lock or an
//! allocation; only sampled requests touch the host's metrics. Counts, errors and latencies
//! are all of the sampled requests, so error ratios and percentiles are unbiased estimates.

mod config;
mod filter;
mod series;

use std::sync::Arc;

use beginnings_abi::{Error, Extension, Host, Route, export_extension};

pub use config::{MonitorConfig, Sampling};
pub use filter::MonitorFilter;
pub use series::{DURATION, REQUESTS};

/// The route setting that switches monitoring off for a route.
pub const ROUTE_SWITCH: &str = "monitoring_enabled";

pub struct PerformanceMonitorExtension {
    sampling: Option<Sampling>,
    host: Host,
    /// Shared by every filter: routes with different settings still share series names.
    series: Arc<series::SeriesCache>,
}

impl Extension for PerformanceMonitorExtension {
    const DESCRIPTION: &'static str = "samples requests per route template: counts by status and HDR latency histograms for /metrics";
    const CONFIG_SUMMARY: &'static str =
        "sample_rate: 0.0-1.0 = 0.1; route setting monitoring_enabled: bool = true";
    type Config = MonitorConfig;
    type RouteConfig = RouteSettings;
    type Filter = MonitorFilter;

    fn new(config: MonitorConfig, host: Host) -> Result<Self, Error> {
        Ok(PerformanceMonitorExtension {
            sampling: config.sampling()?,
            host,
            series: Arc::default(),
        })
    }

    fn filter(&self, route: &Route<'_, RouteSettings>) -> Result<Option<MonitorFilter>, Error> {
        if self.sampling.is_none() || !route.settings.monitoring_enabled.unwrap_or(true) {
            return Ok(None);
        }
        Ok(Some(MonitorFilter::new(
            self.sampling,
            self.host,
            self.series.clone(),
        )))
    }
}

/// The route settings the extension reads.
#[derive(Debug, Default, serde::Deserialize)]
pub struct RouteSettings {
    /// `false` switches monitoring off for the route (default on).
    #[serde(default)]
    pub monitoring_enabled: Option<bool>,
}

export_extension!(PerformanceMonitorExtension);

#[cfg(test)]
#[test]
fn the_documented_keys_are_the_keys_it_reads() {
    let docs = include_str!("../../../docs/extensions.md");
    beginnings_abi::testing::check_documented_keys::<PerformanceMonitorExtension>(
        docs,
        "monitor:PerformanceMonitorExtension",
    )
    .unwrap_or_else(|problems| panic!("docs/extensions.md: {problems}"));
}
