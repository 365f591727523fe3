//! `profiler:RequestProfilerExtension`: on routes with `profile_enabled: true` the host
//! times every extension's hooks and the handler; this extension's response hook reads those
//! figures, sends them as `Server-Timing` and logs the slow requests.

use beginnings_abi::log::warn;
use beginnings_abi::{Counter, Error, Extension, Filter, Hooks, Host, Response, Route};

use crate::config::RequestProfilerConfig;

/// The route setting that turns profiling on (read by the host too).
pub const ROUTE_SWITCH: &str = "profile_enabled";
/// This extension's own `Server-Timing` name, as the host names the others.
pub const OWN_TIMING: &str = "ext-profiler-requestprofilerextension";

#[derive(Clone, Copy)]
struct Settings {
    host: Host,
    slow_threshold_ns: u64,
    server_timing: bool,
    slow: Counter,
}

pub struct RequestProfilerExtension {
    settings: Settings,
}

impl Extension for RequestProfilerExtension {
    const DESCRIPTION: &'static str = "Server-Timing per extension hook and handler on routes with profile_enabled: true; logs slow requests";
    const CONFIG_SUMMARY: &'static str = "slow_threshold_ms: u64 = 500 (0 logs all); server_timing = true; \
        route setting profile_enabled: bool = false";
    type Config = RequestProfilerConfig;
    type RouteConfig = RouteSettings;
    type Filter = RequestProfilerFilter;

    fn new(config: RequestProfilerConfig, host: Host) -> Result<Self, Error> {
        Ok(RequestProfilerExtension {
            settings: Settings {
                host,
                slow_threshold_ns: config.slow_threshold_ms.saturating_mul(1_000_000),
                server_timing: config.server_timing,
                slow: host.counter(
                    "slow_requests_total",
                    "profiled requests at or above slow_threshold_ms",
                ),
            },
        })
    }

    fn filter(
        &self,
        route: &Route<'_, RouteSettings>,
    ) -> Result<Option<RequestProfilerFilter>, Error> {
        if !route.settings.profile_enabled.unwrap_or(false) {
            return Ok(None);
        }
        Ok(Some(RequestProfilerFilter {
            settings: self.settings,
        }))
    }
}

/// The route settings the extension reads (the host checks `profile_enabled` itself).
#[derive(Debug, Default, serde::Deserialize)]
pub struct RouteSettings {
    /// `true` profiles the route (default off).
    #[serde(default)]
    pub profile_enabled: Option<bool>,
}

pub struct RequestProfilerFilter {
    settings: Settings,
}

impl Filter for RequestProfilerFilter {
    type State = ();

    fn hooks(&self) -> Hooks {
        Hooks::none().response()
    }

    fn on_response(&self, _state: &mut (), response: &mut Response<'_>) -> Result<(), Error> {
        let settings = &self.settings;
        let begun = settings.host.monotonic_ns();
        // Entries of the hooks that ran before this one: listed first under `extensions:`,
        // this response hook runs last and sees every other extension and the handler.
        let timings = response.timings();
        let finished = settings.host.monotonic_ns();
        // Measured together so the entries add up to at most the total.
        let (own_ns, total_ns) = (
            finished.saturating_sub(begun),
            finished.saturating_sub(response.started_ns()),
        );
        if total_ns >= settings.slow_threshold_ns {
            settings.slow.add(1);
            warn!(
                "slow request: {} {} (route {}) answered {} in {:.3} ms: {}",
                response.method(),
                response.path(),
                response.route(),
                response.status(),
                millis(total_ns),
                if timings.is_empty() {
                    "no timings"
                } else {
                    &timings
                },
            );
        }
        if settings.server_timing {
            let mut value = timings;
            if !value.is_empty() {
                value.push_str(", ");
            }
            value.push_str(&format!(
                "{OWN_TIMING};dur={:.3}, total;dur={:.3}",
                millis(own_ns),
                millis(total_ns)
            ));
            // Appended: a `Server-Timing` the handler set stays.
            response.append_header("server-timing", &value)?;
        }
        Ok(())
    }
}

fn millis(nanos: u64) -> f64 {
    nanos as f64 / 1_000_000.0
}
