//! Running a route's hooks outside a server, for the benchmarks: the same chain, the same
//! views and the same calls as a request, without sockets. As in the server
//! ([`super::run`]), one request's per-request states live from its first request hook to
//! its last response hook, the values its request hooks set reach its response hooks, and
//! only the extensions whose request side ran get their response hook. Asynchronous request
//! hooks (a shared-store rate limit, a revocation check) are awaited on a current-thread
//! tokio runtime, the kind of runtime the shared store's operations need.

use std::path::Path;

use abi_stable::std_types::{RErr, RNone, ROk, RSome};
use beginnings_abi::ffi::caps;
use futures_util::FutureExt;

use super::chain::{Chain, ChainBuilder};
use super::run::States;
use crate::config::Config;
use crate::error::Error;
use crate::loader::views::{RequestSide, RequestValues, ResponseSide, view};
use crate::loader::{self, LoadedExtension};
use crate::routing::{Response, RouteConfigResolver};

/// The client address the probe's requests come from.
const PROBE_PEER: std::net::SocketAddr = std::net::SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1)),
    40000,
);

/// The chain one route gets, ready to run on request heads.
pub struct ChainProbe {
    // Dropped in this order: the chain and the runtime (and any task an extension spawned
    // on it) before the extensions that made their filters and futures.
    chain: Chain,
    /// Only for a chain with an asynchronous request hook.
    runtime: Option<tokio::runtime::Runtime>,
    _extensions: Vec<LoadedExtension>,
}

/// One request between its two sides: the per-request states its request hooks left and
/// the values they set, waiting for its response hooks.
pub struct ProbedRequest<'a> {
    chain: &'a Chain,
    route: &'a str,
    states: States<'a>,
    /// What the request hooks attached; the server hands the handler a copy.
    values: RequestValues,
    /// How many links, from the start, get their response hook.
    ran: usize,
    passed: bool,
}

impl ChainProbe {
    /// Loads the configuration's extensions and builds the chain of `method path`.
    pub fn new(
        config: &Config,
        extensions_dir: &Path,
        path: &str,
        method: &str,
    ) -> Result<Self, Error> {
        let store = crate::store::prepare(&config.app.shared_store, config.app.store_timeout)
            .map_err(Error::Store)?;
        let extensions = loader::load_all(&config.extensions, extensions_dir, &store)?;
        let resolver = RouteConfigResolver::new(&config.routes)?;
        let resolved = resolver.resolve(path, &[method], None);
        let chain = ChainBuilder::new(&extensions).chain_for(
            &extensions,
            path,
            &[method],
            &resolved.settings,
        )?;
        let runtime = if chain
            .links
            .iter()
            .any(|link| link.has(caps::ON_REQUEST_ASYNC))
        {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(Error::AsyncRuntime)?;
            Some(runtime)
        } else {
            None
        };
        Ok(ChainProbe {
            chain,
            runtime,
            _extensions: extensions,
        })
    }

    /// The extensions in the chain.
    pub fn extensions(&self) -> Vec<String> {
        self.chain.extensions().map(str::to_string).collect()
    }

    /// Whether a request hook of the chain is asynchronous (awaited on the probe's runtime).
    pub fn has_async_hooks(&self) -> bool {
        self.runtime.is_some()
    }

    /// Runs the request hooks in order, awaiting the asynchronous ones; the request they
    /// leave carries their states to [`ProbedRequest::response_hooks`].
    pub fn request_hooks<'a>(
        &'a self,
        route: &'a str,
        parts: &mut http::request::Parts,
    ) -> ProbedRequest<'a> {
        let request_side = self.request_side(route, parts);
        match &self.runtime {
            Some(runtime) => runtime.block_on(request_side),
            // Nothing to wait for: the first poll finishes it.
            None => request_side
                .now_or_never()
                .expect("a chain without asynchronous hooks never waits"),
        }
    }

    /// Both sides of one request, with nothing between them; false when a request hook
    /// answered or a hook failed.
    pub fn request_and_response(
        &self,
        route: &str,
        parts: &mut http::request::Parts,
        response: &mut Response,
    ) -> bool {
        let request = self.request_hooks(route, parts);
        let passed = request.passed();
        request.response_hooks(parts, response) && passed
    }

    async fn request_side<'a>(
        &'a self,
        route: &'a str,
        parts: &mut http::request::Parts,
    ) -> ProbedRequest<'a> {
        let chain = &self.chain;
        let states = States::new(chain);
        let mut values = RequestValues::default();
        let mut ran = chain.links.len();
        let mut passed = true;
        {
            let mut side = RequestSide {
                values: &mut values,
                route,
                request_id: "",
                started_ns: 0,
                timings: None,
                parts,
                peer: Some(PROBE_PEER),
                body: &[],
            };
            for (index, link) in chain.links.iter().enumerate() {
                if !link.has(caps::ON_REQUEST) {
                    continue;
                }
                let state = states.get(index);
                let result = if link.has(caps::ON_REQUEST_ASYNC) {
                    link.filter.on_request_async(state, view(&mut side)).await
                } else {
                    link.filter.on_request(state, view(&mut side))
                };
                match result {
                    ROk(RNone) => {}
                    // An answer: its own response hook still runs, as in the server.
                    ROk(RSome(_)) => {
                        ran = index + 1;
                        passed = false;
                        break;
                    }
                    RErr(_) if link.fail_open => {}
                    RErr(_) => {
                        ran = index;
                        passed = false;
                        break;
                    }
                }
            }
        }
        ProbedRequest {
            chain,
            route,
            states,
            values,
            ran,
            passed,
        }
    }
}

impl ProbedRequest<'_> {
    /// Whether every request hook let the request through.
    pub fn passed(&self) -> bool {
        self.passed
    }

    /// Runs the response hooks in reverse, for the extensions whose request side ran, with
    /// the states their request hooks left; then frees the states. False when one failed.
    pub fn response_hooks(self, parts: &http::request::Parts, response: &mut Response) -> bool {
        let mut passed = true;
        for (index, link) in self.chain.links[..self.ran].iter().enumerate().rev() {
            if !link.has(caps::ON_RESPONSE) {
                continue;
            }
            let mut side = ResponseSide {
                route: self.route,
                started_ns: 0,
                timings: None,
                request_id: "",
                method: &parts.method,
                uri: &parts.uri,
                response,
                peer: Some(PROBE_PEER),
                values: Some(&self.values),
            };
            if let RErr(_) = link
                .filter
                .on_response(self.states.get(index), view(&mut side))
                && !link.fail_open
            {
                passed = false;
            }
        }
        passed
    }
}
