//! Building each route's chain once: filters are built once per distinct route
//! configuration and shared by every route with that configuration; whether an extension
//! applies is asked once per route.

use std::collections::HashMap;
use std::sync::Arc;

use abi_stable::std_types::{RErr, ROk, RStr};
use beginnings_abi::ffi::{FilterBox, caps};

use crate::config::RouteSettings;
use crate::error::PipelineError;
use crate::loader::LoadedExtension;

/// One extension's filter in a route's chain.
pub(crate) struct ChainLink {
    /// `module:Type`, for logs and errors.
    pub extension: Arc<str>,
    pub filter: Arc<FilterBox>,
    pub on_request: bool,
    pub on_response: bool,
}

/// The filters a route runs, in order.
#[derive(Default)]
pub struct Chain {
    pub(crate) links: Box<[ChainLink]>,
}

impl Chain {
    /// The extensions in this chain, in the order their request hooks run.
    pub fn extensions(&self) -> impl Iterator<Item = &str> {
        self.links.iter().map(|link| &*link.extension)
    }
}

pub(crate) struct ChainBuilder<'a> {
    extensions: &'a [LoadedExtension],
    names: Vec<Arc<str>>,
    /// (extension index, canonical route configuration) -> the shared filter, or `None`
    /// when the extension does not apply.
    filters: HashMap<(usize, String), Arc<FilterBox>>,
}

impl<'a> ChainBuilder<'a> {
    pub fn new(extensions: &'a [LoadedExtension]) -> Self {
        ChainBuilder {
            extensions,
            names: extensions
                .iter()
                .map(|e| Arc::from(e.name.as_str()))
                .collect(),
            filters: HashMap::new(),
        }
    }

    pub fn chain_for(
        &mut self,
        path: &str,
        methods: &[&str],
        settings: &RouteSettings,
    ) -> Result<Chain, PipelineError> {
        // serde_json maps are ordered by key, so equal configurations give equal text.
        let canonical = serde_json::to_string(settings).unwrap_or_default();
        let methods_ffi: Vec<RStr<'_>> = methods.iter().map(|m| RStr::from_str(m)).collect();
        let mut links = Vec::new();
        for (index, extension) in self.extensions.iter().enumerate() {
            let fail = |message: String| PipelineError {
                extension: extension.name.clone(),
                route: path.to_string(),
                message,
            };
            let applies = match extension.instance.applies(
                RStr::from_str(path),
                methods_ffi.as_slice().into(),
                RStr::from_str(&canonical),
            ) {
                ROk(applies) => applies,
                RErr(e) => return Err(fail(e.message.into_string())),
            };
            if !applies {
                continue;
            }
            let key = (index, canonical.clone());
            let filter = match self.filters.get(&key) {
                Some(filter) => filter.clone(),
                None => {
                    let filter = match extension
                        .instance
                        .new_filter(RStr::from_str(path), RStr::from_str(&canonical))
                    {
                        ROk(filter) => Arc::new(filter),
                        RErr(e) => return Err(fail(e.message.into_string())),
                    };
                    self.filters.insert(key, filter.clone());
                    filter
                }
            };
            let bits = filter.caps();
            links.push(ChainLink {
                extension: self.names[index].clone(),
                filter,
                on_request: bits & caps::ON_REQUEST != 0,
                on_response: bits & caps::ON_RESPONSE != 0,
            });
        }
        Ok(Chain {
            links: links.into_boxed_slice(),
        })
    }
}
