//! The chains host answers pass through when no route's chain applies: a 404 (no route
//! matched the path) or a 405 (a route matched the path, not the method). Requests to a
//! mounted tower service and through the tower layer take theirs from here too: their paths
//! are the client's, unbounded, so their chains are chosen the same way.
//!
//! Such an answer passes through the extensions the configuration gives the path: the
//! `routes` layers resolved for it (`global_defaults`, the matching `patterns`, an `exact`
//! entry), as a route registered there would get them, without `methods` entries (the
//! method is not one the path answers). The extensions are asked with the route template
//! the path matched (405) or the most specific pattern that matched it (404; `/**` when
//! none did) and no methods. Chains are built on first use and kept, one per (that path,
//! distinct settings): both come from the configuration, so a client cannot grow the cache
//! by sending made-up paths. They share the routes' breakers and filters.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::build::{Chain, ChainBuilder};
use super::limits::RouteLimits;
use crate::config::{AppConfig, HostRouteSettings};
use crate::host::{Breaker, LoadedExtension};
use crate::routing::{PathMatch, RouteConfigResolver};
use crate::telemetry::metrics::Registry;

/// The route path given to extensions for a 404 on a path no pattern matched.
const ANY_PATH: &str = "/**";

/// The chain and limits of a host answer.
pub(crate) struct HostEntry {
    /// The route path the extensions were given: the template (405), the most specific
    /// pattern that matched, or `/**`.
    pub route: String,
    pub chain: Chain,
    pub limits: RouteLimits,
    /// The chain could not be built (an extension refused the settings): the answer is 500.
    pub broken: bool,
}

pub(crate) struct HostChains {
    resolver: RouteConfigResolver,
    app: AppConfig,
    built: Mutex<Built>,
    /// The entry of each path match seen: what a request without a route template (a 404, a
    /// mounted service, the tower layer) finds without resolving its settings again.
    by_match: RwLock<HashMap<PathMatch, Arc<HostEntry>>>,
    /// `beginnings_path_chains` and `beginnings_path_matches`: how many chains were built
    /// and how many path matches are kept, which made-up paths never grow.
    registry: Arc<Registry>,
    chains_gauge: u32,
    matches_gauge: u32,
}

struct Built {
    builder: ChainBuilder,
    /// (route path given to the extensions, canonical settings) -> entry.
    entries: HashMap<(String, String), Arc<HostEntry>>,
}

impl HostChains {
    pub fn new(
        resolver: RouteConfigResolver,
        app: AppConfig,
        builder: ChainBuilder,
        registry: &Arc<Registry>,
    ) -> Self {
        let chains_gauge = registry.define_gauge(
            "beginnings_path_chains",
            "Chains built for requests no route's chain serves (404, 405, mounted services, \
             the tower layer), one per most specific matched pattern and distinct settings.",
        );
        let matches_gauge = registry.define_gauge(
            "beginnings_path_matches",
            "Distinct matches of configured patterns and exact paths seen on requests no \
             route's chain serves, each kept with its chain.",
        );
        registry.gauge_set(chains_gauge, 0);
        registry.gauge_set(matches_gauge, 0);
        HostChains {
            resolver,
            app,
            built: Mutex::new(Built {
                builder,
                entries: HashMap::new(),
            }),
            by_match: RwLock::default(),
            registry: registry.clone(),
            chains_gauge,
            matches_gauge,
        }
    }

    /// The breakers of the extensions, in the order they were loaded; routes and host
    /// answers share them.
    pub fn breakers(&self) -> Vec<Arc<Breaker>> {
        self.built.lock().builder.breakers().to_vec()
    }

    /// The chain for a host answer on `path`; `template` is the route template the path
    /// matched (a 405), none for a 404, a mounted service or the tower layer. `extensions`
    /// are the ones the table was built with.
    pub fn entry(
        &self,
        extensions: &[LoadedExtension],
        path: &str,
        template: Option<&str>,
    ) -> Arc<HostEntry> {
        if template.is_some() {
            return self.resolved_entry(extensions, path, template);
        }
        // Every request to a mounted service or through the layer comes here: finding the
        // patterns that match is far cheaper than resolving and comparing their settings.
        let matched = self.resolver.path_match(path);
        if let Some(entry) = self.by_match.read().get(&matched) {
            return entry.clone();
        }
        let entry = self.resolved_entry(extensions, path, None);
        let mut by_match = self.by_match.write();
        by_match.insert(matched, entry.clone());
        (self.registry).gauge_set(self.matches_gauge, gauge_value(by_match.len()));
        entry
    }

    /// The entry of `path` from its resolved settings, built on first use.
    fn resolved_entry(
        &self,
        extensions: &[LoadedExtension],
        path: &str,
        template: Option<&str>,
    ) -> Arc<HostEntry> {
        let resolved = match self.resolver.resolve(template.unwrap_or(path), &[], None) {
            Ok(resolved) => resolved,
            // Only a hand-built configuration gets here: a loaded one had each layer checked.
            Err(error) => {
                tracing::error!(
                    path,
                    "the settings for answers on paths without a route are refused, \
                     they are answered 500: {error}"
                );
                return Arc::new(HostEntry {
                    route: ANY_PATH.to_string(),
                    chain: Chain::default(),
                    limits: RouteLimits::resolve(&self.app, &HostRouteSettings::default()),
                    broken: true,
                });
            }
        };
        let route = match template {
            Some(template) => template,
            None => resolved
                .matched_patterns
                .last()
                .map_or(ANY_PATH, String::as_str),
        };
        // serde_json maps are ordered by key, so equal settings give equal text.
        let canonical = serde_json::to_string(&resolved.settings).unwrap_or_default();
        let key = (route.to_string(), canonical);
        let mut built = self.built.lock();
        if let Some(entry) = built.entries.get(&key) {
            return entry.clone();
        }
        let entry = match (built.builder).chain_for(
            extensions,
            route,
            &[],
            &resolved.settings,
            &resolved.host,
        ) {
            Ok(chain) => HostEntry {
                route: route.to_string(),
                limits: RouteLimits::resolve(&self.app, &resolved.host),
                chain,
                broken: false,
            },
            Err(error) => {
                tracing::error!(
                    route,
                    "the chain for answers on paths without a route could not be built, \
                     they are answered 500: {error}"
                );
                HostEntry {
                    route: route.to_string(),
                    chain: Chain::default(),
                    limits: RouteLimits::resolve(&self.app, &resolved.host),
                    broken: true,
                }
            }
        };
        let entry = Arc::new(entry);
        built.entries.insert(key, entry.clone());
        (self.registry).gauge_set(self.chains_gauge, gauge_value(built.entries.len()));
        entry
    }
}

fn gauge_value(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}
