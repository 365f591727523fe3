//! What each extension did on the requests of its routes, counted in the application's
//! registry with the build it ran (`sha256`), so `/metrics` shows it per extension and hook
//! beside the swaps and rollbacks of its builds. The series are held directly: a count is
//! one relaxed atomic add on the request path, no lookup. Hook times are recorded only on
//! profiled routes (`profile_enabled: true`), where the host times every hook anyway.
//! Cardinality is bounded by the configuration: one set of series per configured extension
//! and build.

use std::sync::Arc;

use crate::telemetry::metrics::{Counter, Histogram, Registry, series_name};

/// One extension's series, shared by every link of it in a generation's chains.
pub(crate) struct ExtensionStats {
    pub request_calls: Arc<Counter>,
    pub response_calls: Arc<Counter>,
    /// Request hooks that answered instead of the handler.
    pub answers: Arc<Counter>,
    /// Hooks that failed (an error or a panic), whatever the failure policy did with it.
    pub errors: Arc<Counter>,
    pub panics: Arc<Counter>,
    /// Calls the open breaker skipped.
    pub skipped: Arc<Counter>,
    pub request_time: Arc<Histogram>,
    pub response_time: Arc<Histogram>,
}

impl ExtensionStats {
    pub fn new(registry: &Registry, extension: &str, sha256: &str) -> Self {
        let name = |base: &str, hook: Option<&str>| match hook {
            Some(hook) => series_name(
                base,
                &[("extension", extension), ("hook", hook), ("sha256", sha256)],
            ),
            None => series_name(base, &[("extension", extension), ("sha256", sha256)]),
        };
        let counter =
            |base: &str, hook: Option<&str>, help: &str| registry.counter(&name(base, hook), help);
        let histogram = |hook: &str| {
            registry.histogram(
                &name("extension_hook_duration_us", Some(hook)),
                "time in an extension's hook on profiled routes, in microseconds",
            )
        };
        let calls = "extension_hook_calls_total";
        let calls_help = "calls of an extension's hook";
        ExtensionStats {
            request_calls: counter(calls, Some("request"), calls_help),
            response_calls: counter(calls, Some("response"), calls_help),
            answers: counter(
                "extension_answers_total",
                None,
                "requests an extension answered instead of the handler",
            ),
            errors: counter(
                "extension_errors_total",
                None,
                "hooks of an extension that failed (an error or a panic)",
            ),
            panics: counter(
                "extension_panics_total",
                None,
                "hooks of an extension that panicked",
            ),
            skipped: counter(
                "extension_breaker_skipped_total",
                None,
                "calls of an extension its open breaker skipped",
            ),
            request_time: histogram("request"),
            response_time: histogram("response"),
        }
    }
}
