//! The compiled route table: one `matchit` lookup (O(path length)) per request, then the
//! method's prebuilt entry.

use http::{HeaderValue, Method};

use super::params::{ParamNames, PathParams, param_names};

/// What a route carries for one of its methods; the table only needs its method.
pub(crate) trait RouteMethod {
    fn method(&self) -> &Method;
}

/// A path template and what is registered on it, one `M` per method.
pub(crate) struct RouteEntry<M> {
    pub template: String,
    pub methods: Vec<M>,
    /// The `Allow` header of a 405 on this path, built once.
    pub allow: HeaderValue,
}

impl<M: RouteMethod> RouteEntry<M> {
    pub fn new(template: String, methods: Vec<M>) -> Self {
        RouteEntry {
            allow: allow_header(&methods),
            template,
            methods,
        }
    }
}

pub(crate) struct RouteTable<M> {
    router: matchit::Router<usize>,
    routes: Vec<RouteEntry<M>>,
    /// Each route's parameter names, shared by its requests.
    names: Vec<ParamNames>,
}

pub(crate) enum RouteMatch<'a, M> {
    Found {
        entry: &'a M,
        template: &'a str,
        params: PathParams,
    },
    MethodNotAllowed {
        template: &'a str,
        allow: &'a HeaderValue,
    },
    NotFound,
}

/// A route the application registered that cannot be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    #[error("route `{route}` conflicts with route `{existing}`")]
    Conflict { route: String, existing: String },
    #[error("route `{route}` is not a valid path template: {reason}")]
    InvalidTemplate { route: String, reason: String },
    #[error("route {method} `{route}` is registered twice")]
    Duplicate { method: String, route: String },
}

impl<M: RouteMethod> RouteTable<M> {
    pub fn new(routes: Vec<RouteEntry<M>>) -> Result<Self, RouteError> {
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
        })
    }

    pub fn find(&self, method: &Method, path: &str) -> RouteMatch<'_, M> {
        let Ok(found) = self.router.at(path) else {
            return RouteMatch::NotFound;
        };
        let route = &self.routes[*found.value];
        let entry = route
            .methods
            .iter()
            .find(|entry| entry.method() == method)
            // HEAD is answered by the GET handler; the server then sends its headers
            // without its body (`ServerState::handle`).
            .or_else(|| {
                (method == Method::HEAD)
                    .then(|| route.methods.iter().find(|e| e.method() == Method::GET))
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

    pub fn routes(&self) -> &[RouteEntry<M>] {
        &self.routes
    }
}

fn allow_header<M: RouteMethod>(methods: &[M]) -> HeaderValue {
    allow_value(methods.iter().map(M::method))
}

/// The `Allow` header value for a path's methods (GET implies HEAD): of a 405, and of the
/// answer to an OPTIONS request no extension answered.
pub(crate) fn allow_value<'a>(methods: impl IntoIterator<Item = &'a Method>) -> HeaderValue {
    let mut names: Vec<&str> = methods.into_iter().map(Method::as_str).collect();
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
