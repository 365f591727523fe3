//! The compiled route table: one `matchit` lookup (O(path length)) per request, then the
//! method's prebuilt entry.

use http::{HeaderValue, Method};

use std::sync::Arc;

use super::handler::DynHandler;
use super::params::{ParamNames, PathParams, param_names};
use super::resolve::ResolvedRouteConfig;
use crate::error::RouteError;
use crate::loader::LoadedExtension;
use crate::pipeline::{Chain, HostChains, HostEntry};

/// A method of a route: its handler and the chain built for it at startup.
pub(crate) struct MethodEntry {
    pub method: Method,
    pub handler: DynHandler,
    pub chain: Chain,
    /// The route's resolved configuration and where it came from, for `beginnings routes`.
    pub resolved: ResolvedRouteConfig,
    /// Body size and timeout, resolved from `resolved` and the `app` defaults at startup.
    pub limits: crate::server::RouteLimits,
}

/// A path template and the methods registered on it.
pub(crate) struct RouteEntry {
    pub template: String,
    pub methods: Vec<MethodEntry>,
    /// The `Allow` header of a 405 on this path, built once.
    pub allow: HeaderValue,
}

pub(crate) struct RouteTable {
    router: matchit::Router<usize>,
    routes: Vec<RouteEntry>,
    /// Each route's parameter names, shared by its requests.
    names: Vec<ParamNames>,
    /// The chains of 404 and 405 answers.
    host: HostChains,
}

pub(crate) enum RouteMatch<'a> {
    Found {
        entry: &'a MethodEntry,
        template: &'a str,
        params: PathParams,
    },
    MethodNotAllowed {
        template: &'a str,
        allow: &'a HeaderValue,
    },
    NotFound,
}

impl RouteTable {
    pub fn new(routes: Vec<RouteEntry>, host: HostChains) -> Result<Self, RouteError> {
        let mut router = matchit::Router::new();
        for (index, route) in routes.iter().enumerate() {
            router
                .insert(route.template.as_str(), index)
                .map_err(|e| match e {
                    matchit::InsertError::Conflict { with } => RouteError::Conflict {
                        route: route.template.clone(),
                        existing: with,
                    },
                    other => RouteError::InvalidTemplate {
                        route: route.template.clone(),
                        reason: other.to_string(),
                    },
                })?;
        }
        let names = routes
            .iter()
            .map(|route| param_names(&route.template))
            .collect();
        Ok(RouteTable {
            router,
            routes,
            names,
            host,
        })
    }

    pub fn find(&self, method: &Method, path: &str) -> RouteMatch<'_> {
        let Ok(found) = self.router.at(path) else {
            return RouteMatch::NotFound;
        };
        let route = &self.routes[*found.value];
        let entry = route
            .methods
            .iter()
            .find(|entry| entry.method == method)
            // HEAD is answered by the GET handler; the server then sends its headers
            // without its body (`ServerState::handle`).
            .or_else(|| {
                (method == Method::HEAD)
                    .then(|| route.methods.iter().find(|e| e.method == Method::GET))
                    .flatten()
            });
        match entry {
            Some(entry) => RouteMatch::Found {
                entry,
                template: &route.template,
                params: PathParams::matched(&self.names[*found.value], path, found.params.iter()),
            },
            None => RouteMatch::MethodNotAllowed {
                template: &route.template,
                allow: &route.allow,
            },
        }
    }

    /// The chain a 404 (`template` none) or a 405 on `path` passes through; `extensions`
    /// are the ones the table was built with.
    pub fn host_chain(
        &self,
        extensions: &[LoadedExtension],
        path: &str,
        template: Option<&str>,
    ) -> Arc<HostEntry> {
        self.host.entry(extensions, path, template)
    }

    pub fn routes(&self) -> &[RouteEntry] {
        &self.routes
    }
}

/// The `Allow` header value for a route's methods (GET implies HEAD).
pub(crate) fn allow_header(methods: &[MethodEntry]) -> HeaderValue {
    let mut names: Vec<&str> = methods.iter().map(|m| m.method.as_str()).collect();
    if names.contains(&"GET") && !names.contains(&"HEAD") {
        // HEAD is answered by GET; keep OPTIONS last, as it is added last.
        let at = names
            .iter()
            .position(|m| *m == "OPTIONS")
            .unwrap_or(names.len());
        names.insert(at, "HEAD");
    }
    HeaderValue::from_str(&names.join(", ")).unwrap_or_else(|_| HeaderValue::from_static(""))
}
