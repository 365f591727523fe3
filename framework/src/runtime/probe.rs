//! Making a [`ChainProbe`]: the configuration's extensions loaded and one route's chain built
//! as the runtime would, for the benchmarks to run outside a server.

use std::path::Path;

use crate::chain::{ChainBuilder, ChainProbe};
use crate::config::Config;
use crate::error::Error;
use crate::host;
use crate::routing::RouteConfigResolver;

impl ChainProbe {
    /// Loads the configuration's extensions and builds the chain of `method path`.
    pub fn new(
        config: &Config,
        extensions_dir: &Path,
        path: &str,
        method: &str,
    ) -> Result<Self, Error> {
        let app = &config.app;
        let registry = Default::default();
        let store = crate::store::prepare(&app.shared_store, app.store_timeout, &registry, None)?;
        let state_dir = super::state_dir_for(config, extensions_dir);
        let extensions = host::load_all(&config.extensions, extensions_dir, &state_dir, &store)?;
        let resolver = RouteConfigResolver::new(&config.routes)?;
        let resolved = resolver.resolve(path, &[method], None)?;
        let chain = ChainBuilder::new(&extensions, &registry).chain_for(
            &extensions,
            path,
            &[method],
            &resolved.settings,
            &resolved.host,
        )?;
        let runtime = if chain.links.iter().any(|link| link.caps.on_request_async()) {
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
}
