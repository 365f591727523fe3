//! Building each route's chain once. A filter is built once per extension and distinct
//! route configuration (limited to the keys the extension reads) and shared by every
//! route with that configuration; whether an extension applies is asked once per
//! (path, methods, configuration).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use serde_json::{Map, Value};

use super::error::{ChainError, PipelineError};
use super::stats::ExtensionStats;
use super::values;
use crate::config::{HostRouteSettings, RouteSettings};
use crate::host::{Breaker, Capabilities, Filter, LoadedExtension};
use crate::telemetry::metrics::{Registry, series_name};

/// One extension's filter in a route's chain.
pub(crate) struct ChainLink {
    /// `module:Type`, for logs and errors.
    pub extension: Arc<str>,
    /// The extension's `Server-Timing` name (`ext-<module>-<type>`, lowercase; no `:`).
    pub timing_name: Arc<str>,
    pub filter: Arc<Filter>,
    pub caps: Capabilities,
    /// `on_error: open` for this extension on this route: a failure lets the request pass.
    pub fail_open: bool,
    pub breaker: Arc<Breaker>,
    /// What the extension did, in the application's `/metrics`.
    pub stats: Arc<ExtensionStats>,
}

/// The filters a route runs, in order, and what the route needs from the host.
#[derive(Default)]
pub struct Chain {
    pub(crate) links: Box<[ChainLink]>,
    /// Requests on which every hook of the chain ran: counted once here instead of once per
    /// hook, and read as part of each link's `extension_hook_calls_total` (see
    /// [`super::stats::HookCalls`]).
    pub(crate) ordinary_runs: Arc<AtomicU64>,
    /// Some filter reads the body: buffer it before the request hooks.
    pub(crate) needs_body: bool,
    /// Some filter keeps per-request state.
    pub(crate) has_state: bool,
    /// `profile_enabled: true`: the host times every hook and the handler.
    pub(crate) profile: bool,
}

impl Chain {
    fn new(links: Vec<ChainLink>, profile: bool) -> Chain {
        let ordinary_runs = Arc::new(AtomicU64::new(0));
        for link in &links {
            if link.caps.on_request() {
                link.stats.request_calls.share(&ordinary_runs);
            }
            if link.caps.on_response() {
                link.stats.response_calls.share(&ordinary_runs);
            }
        }
        Chain {
            needs_body: links.iter().any(|l| l.caps.needs_body()),
            has_state: links.iter().any(|l| l.caps.per_request_state()),
            links: links.into_boxed_slice(),
            ordinary_runs,
            profile,
        }
    }

    /// The extensions in this chain, in the order their request hooks run.
    pub fn extensions(&self) -> impl Iterator<Item = &str> {
        self.links.iter().map(|link| &*link.extension)
    }
}

impl Drop for Chain {
    /// The counts of the chain's ordinary requests stay in its extensions' counters.
    fn drop(&mut self) {
        for link in &self.links {
            link.stats.request_calls.unshare(&self.ordinary_runs);
            link.stats.response_calls.unshare(&self.ordinary_runs);
        }
    }
}

/// Builds chains and keeps what they share: one breaker per extension, one filter per
/// extension and distinct settings. It owns no extension, so it can outlive the start-up
/// build: the route table keeps it to build the chains of host answers on paths no route
/// matched, sharing the routes' breakers and filters. Every call must pass the extensions
/// it was made with.
pub(crate) struct ChainBuilder {
    names: Vec<Arc<str>>,
    timing_names: Vec<Arc<str>>,
    breakers: Vec<Arc<Breaker>>,
    /// One set of series per extension, shared by its links like the breaker.
    stats: Vec<Arc<ExtensionStats>>,
    /// (extension, canonical settings it reads) -> the shared filter.
    filters: HashMap<(usize, String), Arc<Filter>>,
    /// (extension, path, methods, canonical settings) -> whether it applies.
    applies: HashMap<(usize, String, String, String), bool>,
    /// (extension, request value) already warned about, once per build.
    warned_values: HashSet<(usize, String)>,
}

impl ChainBuilder {
    pub fn new(extensions: &[LoadedExtension], registry: &Registry) -> Self {
        ChainBuilder {
            names: extensions
                .iter()
                .map(|e| Arc::from(e.name.as_str()))
                .collect(),
            timing_names: extensions
                .iter()
                .map(|e| Arc::from(timing_name(&e.name).as_str()))
                .collect(),
            breakers: extensions
                .iter()
                .map(|e| {
                    let labels = [
                        ("extension", e.name.as_str()),
                        ("sha256", e.sha256.as_str()),
                    ];
                    let gauge = registry.define_gauge(
                        &series_name("extension_breaker_open", &labels),
                        "1 while an extension's breaker is open (it is not called), else 0",
                    );
                    Arc::new(Breaker::new(&e.name, e.breaker, Some(gauge)))
                })
                .collect(),
            stats: extensions
                .iter()
                .map(|e| Arc::new(ExtensionStats::new(registry, &e.name, &e.sha256)))
                .collect(),
            filters: HashMap::new(),
            applies: HashMap::new(),
            warned_values: HashSet::new(),
        }
    }

    /// One breaker per extension, in the order of the extensions it was made with.
    pub fn breakers(&self) -> &[Arc<Breaker>] {
        &self.breakers
    }

    /// The chain of one route, from its resolved settings (what the extensions see) and the
    /// host's keys of them, already parsed; refused when an extension on it reads a request
    /// value that no extension before it sets (see [`super::values`]).
    pub fn chain_for(
        &mut self,
        extensions: &[LoadedExtension],
        path: &str,
        methods: &[&str],
        settings: &RouteSettings,
        host: &HostRouteSettings,
    ) -> Result<Chain, ChainError> {
        let (chain, members) = self.links_for(extensions, path, methods, settings, host)?;
        values::check_order(
            extensions,
            &members,
            &methods.join(","),
            path,
            &mut self.warned_values,
        )?;
        Ok(chain)
    }

    /// The chain of one route and the indices of the extensions in it, in order.
    fn links_for(
        &mut self,
        extensions: &[LoadedExtension],
        path: &str,
        methods: &[&str],
        settings: &RouteSettings,
        host: &HostRouteSettings,
    ) -> Result<(Chain, Vec<usize>), PipelineError> {
        let route_error = |extension: &str, message: String| PipelineError {
            extension: extension.to_string(),
            route: path.to_string(),
            message,
        };
        let methods_key = methods.join(",");
        let mut links = Vec::new();
        debug_assert_eq!(
            extensions.len(),
            self.names.len(),
            "the builder's extensions"
        );
        let mut members = Vec::new();
        for (index, extension) in extensions.iter().enumerate() {
            let fail = |message: String| route_error(&extension.name, message);
            let visible = visible_settings(settings, extension.route_keys.as_deref());
            // serde_json maps are ordered by key, so equal settings give equal text.
            let canonical = serde_json::to_string(&visible).unwrap_or_default();
            let applies_key = (
                index,
                path.to_string(),
                methods_key.clone(),
                canonical.clone(),
            );
            let applies = match self.applies.get(&applies_key) {
                Some(applies) => *applies,
                None => {
                    let answer = extension.applies(path, methods, &canonical).map_err(fail)?;
                    self.applies.insert(applies_key, answer);
                    answer
                }
            };
            if !applies {
                continue;
            }
            let filter = match self.filters.get(&(index, canonical.clone())) {
                Some(filter) => filter.clone(),
                None => {
                    let filter = Arc::new(
                        extension
                            .new_filter(path, methods, &canonical)
                            .map_err(fail)?,
                    );
                    self.filters.insert((index, canonical), filter.clone());
                    filter
                }
            };
            members.push(index);
            links.push(ChainLink {
                extension: self.names[index].clone(),
                timing_name: self.timing_names[index].clone(),
                caps: filter.capabilities(),
                filter,
                fail_open: host.on_error.fails_open(&extension.name),
                breaker: self.breakers[index].clone(),
                stats: self.stats[index].clone(),
            });
        }
        Ok((Chain::new(links, host.profile), members))
    }
}

/// A `Server-Timing` metric name for `module:Type`: a token, so `:` becomes `-`.
fn timing_name(extension: &str) -> String {
    format!("ext-{}", extension.replace(':', "-").to_ascii_lowercase())
}

/// The settings an extension sees: all of them, or only the keys it declared.
fn visible_settings(settings: &RouteSettings, keys: Option<&[String]>) -> Map<String, Value> {
    match keys {
        None => settings.clone(),
        Some(keys) => settings
            .iter()
            .filter(|(key, _)| keys.iter().any(|k| k == *key))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
    }
}
