//! Running a route's hooks outside a server, for the per-hook benchmarks: the same chain,
//! the same views and the same calls as a request, without sockets or a runtime.

use std::path::Path;

use abi_stable::std_types::RErr;
use beginnings_abi::ffi::caps;

use super::chain::{Chain, ChainBuilder};
use super::run::States;
use crate::config::Config;
use crate::error::Error;
use crate::loader::views::{RequestSide, ResponseSide, view};
use crate::loader::{self, LoadedExtension};
use crate::routing::{Response, RouteConfigResolver};

/// The client address the probe's requests come from.
const PROBE_PEER: std::net::SocketAddr = std::net::SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1)),
    40000,
);

/// The chain one route gets, ready to run on request heads.
pub struct ChainProbe {
    // Dropped before the extensions that made its filters.
    chain: Chain,
    _extensions: Vec<LoadedExtension>,
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
        Ok(ChainProbe {
            chain,
            _extensions: extensions,
        })
    }

    /// The extensions in the chain.
    pub fn extensions(&self) -> Vec<String> {
        self.chain.extensions().map(str::to_string).collect()
    }

    /// Runs the synchronous request hooks in order; false when one answered or failed.
    pub fn request_hooks(&self, route: &str, parts: &mut http::request::Parts) -> bool {
        let states = States::new(&self.chain);
        let mut values = crate::pipeline::RequestValues::default();
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
        for (index, link) in self.chain.links.iter().enumerate() {
            if !link.has(caps::ON_REQUEST) || link.has(caps::ON_REQUEST_ASYNC) {
                continue;
            }
            match link.filter.on_request(states.get(index), view(&mut side)) {
                abi_stable::std_types::ROk(abi_stable::std_types::RNone) => {}
                _ => return false,
            }
        }
        true
    }

    /// Runs the response hooks in reverse; false when one failed.
    pub fn response_hooks(
        &self,
        route: &str,
        parts: &http::request::Parts,
        response: &mut Response,
    ) -> bool {
        let states = States::new(&self.chain);
        for (index, link) in self.chain.links.iter().enumerate().rev() {
            if !link.has(caps::ON_RESPONSE) {
                continue;
            }
            let mut side = ResponseSide {
                route,
                started_ns: 0,
                timings: None,
                request_id: "",
                method: &parts.method,
                uri: &parts.uri,
                response,
                peer: Some(PROBE_PEER),
                values: None,
            };
            if let RErr(_) = link.filter.on_response(states.get(index), view(&mut side)) {
                return false;
            }
        }
        true
    }
}
