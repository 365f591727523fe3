//! The application's router: handlers registered under a prefix, as the application builds it.

use http::Method;

use super::handler::{DynHandler, Handler, HandlerAnswer, into_dyn};
use crate::config::RouteSettings;

/// One registered route before the table is built.
#[derive(Clone)]
pub struct RouteDef {
    pub(crate) path: String,
    pub(crate) method: Method,
    pub(crate) handler: DynHandler,
    /// Route settings given in code; they win over every configuration layer.
    pub(crate) settings: Option<RouteSettings>,
}

impl std::fmt::Debug for RouteDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteDef")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Handlers under one path prefix (`Router::new("/api/v1").get("/users", list_users)`).
#[derive(Debug, Clone, Default)]
pub struct Router {
    prefix: String,
    routes: Vec<RouteDef>,
}

impl Router {
    /// A router whose routes all start with `prefix` (`""` or `"/"` for none).
    pub fn new(prefix: &str) -> Self {
        Router {
            prefix: prefix.trim_end_matches('/').to_string(),
            routes: Vec::new(),
        }
    }

    pub fn route<Fut: HandlerAnswer>(
        mut self,
        method: Method,
        path: &str,
        handler: impl Handler<Fut>,
    ) -> Self {
        let path = join(&self.prefix, path);
        self.routes.push(RouteDef {
            path,
            method,
            handler: into_dyn(handler),
            settings: None,
        });
        self
    }

    pub fn get<Fut: HandlerAnswer>(self, path: &str, handler: impl Handler<Fut>) -> Self {
        self.route(Method::GET, path, handler)
    }

    pub fn post<Fut: HandlerAnswer>(self, path: &str, handler: impl Handler<Fut>) -> Self {
        self.route(Method::POST, path, handler)
    }

    pub fn put<Fut: HandlerAnswer>(self, path: &str, handler: impl Handler<Fut>) -> Self {
        self.route(Method::PUT, path, handler)
    }

    pub fn delete<Fut: HandlerAnswer>(self, path: &str, handler: impl Handler<Fut>) -> Self {
        self.route(Method::DELETE, path, handler)
    }

    /// Route settings for the route added last; they override configuration.
    pub fn with_settings(mut self, settings: RouteSettings) -> Self {
        if let Some(last) = self.routes.last_mut() {
            last.settings = Some(settings);
        }
        self
    }

    /// Adds every route of `other` (its own prefix kept) under this router's prefix.
    pub fn nest(mut self, other: Router) -> Self {
        for mut route in other.routes {
            route.path = join(&self.prefix, &route.path);
            self.routes.push(route);
        }
        self
    }

    pub(crate) fn into_routes(self) -> Vec<RouteDef> {
        self.routes
    }
}

fn join(prefix: &str, path: &str) -> String {
    let path = path.trim_start_matches('/');
    let joined = format!("{prefix}/{path}");
    if joined.len() > 1 {
        joined.trim_end_matches('/').to_string()
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn joins_prefix_and_path() {
        assert_eq!(join("/api/v1", "/users"), "/api/v1/users");
        assert_eq!(join("/api/v1", "users/"), "/api/v1/users");
        assert_eq!(join("", "/"), "/");
        assert_eq!(join("", "/health"), "/health");
        assert_eq!(join("/api", ""), "/api");
    }
}
