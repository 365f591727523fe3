//! The compiled route table: one `matchit` lookup (O(path length)) per request, then the
//! method's prebuilt entry, or the service mounted under the path's prefix.

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

/// A service mounted under a prefix: it answers every method on the prefix and every path
/// under it that no route of the table has.
pub(crate) struct MountEntry<S> {
    pub prefix: String,
    /// How the access log and the extensions name the mount's route: `{prefix}/{*rest}`.
    pub template: String,
    pub service: S,
}

impl<S> MountEntry<S> {
    pub fn new(prefix: String, service: S) -> Self {
        MountEntry {
            template: format!("{prefix}/{{*rest}}"),
            prefix,
            service,
        }
    }
}

/// What a path of the `matchit` router leads to.
#[derive(Clone, Copy)]
enum Target {
    Route(usize),
    Mount(usize),
}

pub(crate) struct RouteTable<M, S = ()> {
    router: matchit::Router<Target>,
    routes: Vec<RouteEntry<M>>,
    mounts: Vec<MountEntry<S>>,
    /// Each route's parameter names, shared by its requests.
    names: Vec<ParamNames>,
}

pub(crate) enum RouteMatch<'a, M, S = ()> {
    Found {
        entry: &'a M,
        template: &'a str,
        params: PathParams,
    },
    MethodNotAllowed {
        template: &'a str,
        allow: &'a HeaderValue,
    },
    /// A path under a mounted service's prefix, whatever the method.
    Mounted {
        mount: &'a MountEntry<S>,
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

impl<M: RouteMethod, S> RouteTable<M, S> {
    /// The table of `routes` and `mounts`. A route under a mount's prefix wins over the
    /// mount (a static path segment wins over a catch-all); a route on the prefix itself
    /// conflicts with it.
    pub fn new(routes: Vec<RouteEntry<M>>, mounts: Vec<MountEntry<S>>) -> Result<Self, RouteError> {
        let mut router = matchit::Router::new();
        let insert = |router: &mut matchit::Router<Target>, template: &str, target| {
            router.insert(template, target).map_err(|e| match e {
                matchit::InsertError::Conflict { with } => RouteError::Conflict {
                    route: template.to_string(),
                    existing: with,
                },
                other => RouteError::InvalidTemplate {
                    route: template.to_string(),
                    reason: other.to_string(),
                },
            })
        };
        for (index, route) in routes.iter().enumerate() {
            insert(&mut router, &route.template, Target::Route(index))?;
        }
        for (index, mount) in mounts.iter().enumerate() {
            // The prefix itself, with and without its slash, and every path below it (a
            // catch-all matches one character at least).
            let prefix = if mount.prefix.is_empty() {
                None
            } else {
                Some(mount.prefix.clone())
            };
            for template in prefix
                .into_iter()
                .chain([format!("{}/", mount.prefix), mount.template.clone()])
            {
                insert(&mut router, &template, Target::Mount(index))?;
            }
        }
        let names = routes
            .iter()
            .map(|route| param_names(&route.template))
            .collect();
        Ok(RouteTable {
            router,
            routes,
            mounts,
            names,
        })
    }

    pub fn find(&self, method: &Method, path: &str) -> RouteMatch<'_, M, S> {
        let Ok(found) = self.router.at(path) else {
            return RouteMatch::NotFound;
        };
        let index = match *found.value {
            Target::Route(index) => index,
            Target::Mount(index) => {
                return RouteMatch::Mounted {
                    mount: &self.mounts[index],
                };
            }
        };
        let route = &self.routes[index];
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
                params: PathParams::matched(&self.names[index], path, found.params.iter()),
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

#[cfg(test)]
mod tests {
    use http::Method;

    use super::{MountEntry, RouteEntry, RouteError, RouteMatch, RouteMethod, RouteTable};

    struct Get;

    impl RouteMethod for Get {
        fn method(&self) -> &Method {
            &Method::GET
        }
    }

    fn table(routes: &[&str], mount: &str) -> Result<RouteTable<Get, &'static str>, RouteError> {
        let routes = routes
            .iter()
            .map(|path| RouteEntry::new(path.to_string(), vec![Get]))
            .collect();
        RouteTable::new(routes, vec![MountEntry::new(mount.to_string(), "service")])
    }

    fn mounted(table: &RouteTable<Get, &'static str>, method: Method, path: &str) -> bool {
        matches!(table.find(&method, path), RouteMatch::Mounted { .. })
    }

    #[test]
    fn a_mount_takes_its_prefix_and_every_path_below_it_for_any_method() {
        let table = table(&["/legacy/own", "/other"], "/legacy").unwrap();
        for path in ["/legacy", "/legacy/", "/legacy/a", "/legacy/a/b/c"] {
            assert!(mounted(&table, Method::GET, path), "{path}");
            assert!(mounted(&table, Method::PATCH, path), "{path}");
        }
        // A route under the prefix is the application's own; other paths are not the mount's.
        assert!(matches!(
            table.find(&Method::GET, "/legacy/own"),
            RouteMatch::Found { .. }
        ));
        assert!(matches!(
            table.find(&Method::GET, "/legacyx"),
            RouteMatch::NotFound
        ));
        assert!(matches!(
            table.find(&Method::GET, "/other"),
            RouteMatch::Found { .. }
        ));
        let root = self::table(&["/api"], "").unwrap();
        assert!(mounted(&root, Method::GET, "/") && mounted(&root, Method::GET, "/x/y"));
    }

    #[test]
    fn a_route_on_the_prefix_itself_conflicts_with_the_mount() {
        let refused = table(&["/legacy"], "/legacy").err().expect("a conflict");
        assert!(matches!(refused, RouteError::Conflict { .. }), "{refused}");
    }
}
