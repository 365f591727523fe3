//! The application's router: handlers registered under a prefix, as the application builds it.

use std::sync::Arc;

use http::Method;

use bytes::Bytes;
use tower_service::Service;

use super::handler::seal::RouteHandler;
use super::handler::{DynHandler, Handler};
use super::service::ServiceHandler;
use super::{Body, BoxError};
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

/// A service mounted under a prefix before the table is built.
#[derive(Clone)]
pub(crate) struct MountDef {
    pub prefix: String,
    pub service: ServiceHandler,
}

/// Handlers under one path prefix (`Router::new("/api/v1").get("/users", list_users)`).
///
/// `S` is the state its handlers may ask for ([`State`](super::State)): a router whose
/// handlers want a state is given it with [`with_state`](Router::with_state), which turns it
/// into a `Router` (`Router<()>`), the kind an application mounts. Until then the state's
/// type is checked against every handler, so a router cannot be mounted without its state
/// nor given the wrong one:
///
/// ```compile_fail,E0308
/// use beginnings::{App, Request, Router, State};
///
/// struct Posts;
///
/// async fn list(_posts: State<Posts>, _request: Request) -> &'static str {
///     "posts"
/// }
///
/// fn mount(app: App) -> App {
///     // A `Router<Posts>`: it needs `.with_state(Posts)` before it can be mounted.
///     app.mount(Router::new("/api").get("/posts", list))
/// }
/// ```
pub struct Router<S = ()> {
    prefix: String,
    routes: Vec<PendingRoute<S>>,
    mounts: Vec<MountDef>,
}

/// A route of a router that may still wait for its state.
struct PendingRoute<S> {
    path: String,
    method: Method,
    handler: RouteHandler<S>,
    settings: Option<RouteSettings>,
}

impl<S> PendingRoute<S> {
    fn with_state(self, state: &Arc<S>) -> RouteDef {
        RouteDef {
            path: self.path,
            method: self.method,
            handler: self.handler.with_state(state),
            settings: self.settings,
        }
    }
}

impl<S> Clone for PendingRoute<S> {
    fn clone(&self) -> Self {
        PendingRoute {
            path: self.path.clone(),
            method: self.method.clone(),
            handler: self.handler.clone(),
            settings: self.settings.clone(),
        }
    }
}

impl<S> Clone for Router<S> {
    fn clone(&self) -> Self {
        Router {
            prefix: self.prefix.clone(),
            routes: self.routes.clone(),
            mounts: self.mounts.clone(),
        }
    }
}

impl<S> Default for Router<S> {
    fn default() -> Self {
        Router {
            prefix: String::new(),
            routes: Vec::new(),
            mounts: Vec::new(),
        }
    }
}

impl<S> std::fmt::Debug for Router<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let routes: Vec<_> = (self.routes.iter())
            .map(|route| format!("{} {}", route.method, route.path))
            .collect();
        let mounts: Vec<_> = self.mounts.iter().map(|mount| &mount.prefix).collect();
        f.debug_struct("Router")
            .field("prefix", &self.prefix)
            .field("routes", &routes)
            .field("mounts", &mounts)
            .finish()
    }
}

impl<S: Send + Sync + 'static> Router<S> {
    /// A router whose routes all start with `prefix` (`""` or `"/"` for none).
    pub fn new(prefix: &str) -> Self {
        Router {
            prefix: prefix.trim_end_matches('/').to_string(),
            routes: Vec::new(),
            mounts: Vec::new(),
        }
    }

    /// Adds a route: `handler` takes the request, or the router's [`State`](super::State)
    /// and the request (see [`Handler`]). A closure that uses its request names its type,
    /// `|request: Request|`, since either shape would do.
    pub fn route<M>(mut self, method: Method, path: &str, handler: impl Handler<S, M>) -> Self {
        let path = join(&self.prefix, path);
        self.routes.push(PendingRoute {
            path,
            method,
            handler: handler.into_route_handler(),
            settings: None,
        });
        self
    }

    pub fn get<M>(self, path: &str, handler: impl Handler<S, M>) -> Self {
        self.route(Method::GET, path, handler)
    }

    pub fn post<M>(self, path: &str, handler: impl Handler<S, M>) -> Self {
        self.route(Method::POST, path, handler)
    }

    pub fn put<M>(self, path: &str, handler: impl Handler<S, M>) -> Self {
        self.route(Method::PUT, path, handler)
    }

    pub fn delete<M>(self, path: &str, handler: impl Handler<S, M>) -> Self {
        self.route(Method::DELETE, path, handler)
    }

    /// Mounts a `tower::Service` (an axum `Router`, a tonic service) under `path`, as axum's
    /// `Router::nest_service` does: it answers every method on `path` and on every path
    /// below it that no route of the application has. It sees the path without the prefix
    /// (`/legacy/users?page=2` reaches it as `/users?page=2`, `/legacy` as `/`) and the
    /// request body as it comes, streamed; its answer is streamed back as it comes.
    ///
    /// The extensions in front of it are the ones the configuration gives the request's
    /// path (`routes.patterns` such as `"/legacy/**"`), exactly as for a route; the
    /// service's answer passes their response hooks. An extension that reads the body
    /// (`needs_body`) gets it buffered first, within the path's `max_body_bytes`; otherwise
    /// a body past that limit ends with an error the service sees.
    ///
    /// ```
    /// use beginnings::Router;
    ///
    /// let legacy = axum::Router::new().route("/hello", axum::routing::get(|| async { "hi" }));
    /// let router: Router = Router::new("").nest_service("/legacy", legacy);
    /// ```
    pub fn nest_service<T, B>(mut self, path: &str, service: T) -> Self
    where
        T: Service<http::Request<Body>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        T::Future: Send + 'static,
        T::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let prefix = join(&self.prefix, path);
        self.mounts.push(MountDef {
            prefix: prefix.trim_end_matches('/').to_string(),
            service: ServiceHandler::new(service),
        });
        self
    }

    /// Route settings for the route added last; they override configuration.
    pub fn with_settings(mut self, settings: RouteSettings) -> Self {
        if let Some(last) = self.routes.last_mut() {
            last.settings = Some(settings);
        }
        self
    }

    /// Adds every route of `other` (its own prefix kept) under this router's prefix. Both
    /// want the same state; a router given its own state already (a `Router` from
    /// [`with_state`](Router::with_state)) nests into a router of any state.
    pub fn nest(mut self, other: Router<S>) -> Self {
        for mut route in other.routes {
            route.path = join(&self.prefix, &route.path);
            self.routes.push(route);
        }
        for mut mount in other.mounts {
            mount.prefix = join(&self.prefix, &mount.prefix)
                .trim_end_matches('/')
                .to_string();
            self.mounts.push(mount);
        }
        self
    }

    /// Gives every handler that asks for it this `state` (shared, never copied: see
    /// [`State`](super::State)). The router's answers no longer depend on a state, so it can
    /// be mounted, or nested into a router of another state (`S2`, `()` for a plain `Router`).
    ///
    /// ```
    /// use beginnings::{Json, Request, Router, State};
    ///
    /// struct Greeter {
    ///     greeting: String,
    /// }
    ///
    /// async fn greet(greeter: State<Greeter>, request: Request) -> Json<String> {
    ///     let name = request.param("name").unwrap_or("you");
    ///     Json(format!("{}, {name}", greeter.greeting))
    /// }
    ///
    /// let api: Router = Router::new("/api")
    ///     .get("/greet/{name}", greet)
    ///     .get("/ping", |_request| async { "pong" })
    ///     .with_state(Greeter { greeting: "Hello".into() });
    /// ```
    pub fn with_state<S2>(self, state: impl Into<Arc<S>>) -> Router<S2> {
        let state = state.into();
        Router {
            prefix: self.prefix,
            mounts: self.mounts,
            routes: (self.routes.into_iter())
                .map(|route| {
                    let route = route.with_state(&state);
                    PendingRoute {
                        path: route.path,
                        method: route.method,
                        handler: RouteHandler::Ready(route.handler),
                        settings: route.settings,
                    }
                })
                .collect(),
        }
    }
}

impl Router {
    pub(crate) fn into_routes(self) -> Vec<RouteDef> {
        self.into_parts().0
    }

    /// The router's routes and the services mounted on it.
    pub(crate) fn into_parts(self) -> (Vec<RouteDef>, Vec<MountDef>) {
        // A handler of a stateless router may still ask for `State<()>`.
        let unit = Arc::new(());
        let routes = self.routes.into_iter();
        let routes = routes.map(|route| route.with_state(&unit)).collect();
        (routes, self.mounts)
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
    use super::{Router, join};
    use crate::routing::{Request, State};

    struct Count;

    async fn counted(_count: State<Count>, _request: Request) -> &'static str {
        "counted"
    }

    #[test]
    fn paths_and_settings_survive_nesting_and_the_state() {
        let settings = serde_json::json!({"timeout": 5})
            .as_object()
            .unwrap()
            .clone();
        let inner = Router::new("/b")
            .get("/x", counted)
            .with_settings(settings.clone());
        let router: Router = Router::new("/a")
            .nest(inner)
            .post("/y", |_request| async { "y" })
            .with_state(Count);
        let routes = router.into_routes();
        let seen: Vec<_> = (routes.iter())
            .map(|route| (route.method.as_str(), route.path.as_str(), &route.settings))
            .collect();
        assert_eq!(
            seen,
            [("GET", "/a/b/x", &Some(settings)), ("POST", "/a/y", &None)]
        );
    }

    #[test]
    fn joins_prefix_and_path() {
        assert_eq!(join("/api/v1", "/users"), "/api/v1/users");
        assert_eq!(join("/api/v1", "users/"), "/api/v1/users");
        assert_eq!(join("", "/"), "/");
        assert_eq!(join("", "/health"), "/health");
        assert_eq!(join("/api", ""), "/api");
    }
}
