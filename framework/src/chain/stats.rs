//! What each extension did on the requests of its routes, counted in the application's
//! registry with the build it ran (`sha256`), so `/metrics` shows it per extension and hook
//! beside the swaps and rollbacks of its builds. The series are held directly: a count is
//! one relaxed atomic add on the request path, no lookup. Hook times are recorded only on
//! profiled routes (`profile_enabled: true`), where the host times every hook anyway.
//! Cardinality is bounded by the configuration: one set of series per configured extension
//! and build.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::build::Chain;

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

/// Counts one request's hook calls in `extension_hook_calls_total`. A request on which every
/// hook of its chain runs, as nearly all do, is counted once, in the chain's
/// `ordinary_runs` that each link's counters read: one atomic add instead of one per hook,
/// each as dear as a hook's own work. From the first hook that does not run (an early
/// answer, an open breaker, a passed-over body hook, the deadline), every call is counted on
/// its own, those before it included; so is a request dropped unanswered.
pub(super) struct HookCalls<'a> {
    chain: &'a Chain,
    /// No hook has been left out yet: nothing is counted until the request is answered.
    ordinary: bool,
    /// While ordinary: the request hooks of `links[..requested]` have been called.
    requested: usize,
    /// While ordinary: the response hooks of `links[responded..]` have been called.
    responded: usize,
    answered: bool,
}

impl<'a> HookCalls<'a> {
    pub(super) fn new(chain: &'a Chain) -> Self {
        HookCalls {
            chain,
            ordinary: true,
            requested: 0,
            responded: chain.links.len(),
            answered: false,
        }
    }

    /// The request hook of link `index` is called.
    pub(super) fn request(&mut self, index: usize) {
        if self.ordinary {
            self.requested = index + 1;
        } else {
            self.chain.links[index].stats.request_calls.add(1);
        }
    }

    /// The response hook of link `index` is called.
    pub(super) fn response(&mut self, index: usize) {
        if self.ordinary {
            self.responded = index;
        } else {
            self.chain.links[index].stats.response_calls.add(1);
        }
    }

    /// A hook of the chain is left out, or the request hooks stop early: the calls so far
    /// are counted one by one, and so is every later one.
    pub(super) fn left_out(&mut self) {
        if self.ordinary {
            self.ordinary = false;
            self.count_each();
        }
    }

    /// The request is answered: an ordinary one is one run of the whole chain.
    pub(super) fn answered(&mut self) {
        self.answered = true;
        if self.ordinary && !self.chain.links.is_empty() {
            self.chain.ordinary_runs.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn count_each(&self) {
        let links = &self.chain.links;
        for link in &links[..self.requested] {
            if link.caps.on_request() {
                link.stats.request_calls.add(1);
            }
        }
        for link in &links[self.responded..] {
            if link.caps.on_response() {
                link.stats.response_calls.add(1);
            }
        }
    }
}

impl Drop for HookCalls<'_> {
    /// A request dropped unanswered (the client left while a hook or the handler ran)
    /// still counts the hooks it called.
    fn drop(&mut self) {
        if self.ordinary && !self.answered {
            self.count_each();
        }
    }
}
