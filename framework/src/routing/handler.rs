//! What an application's handlers take and give.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use serde::{Serialize, de::DeserializeOwned};

use super::{Body, BodyStream};

/// An answer.
pub type Response = http::Response<Body>;

/// A request as a handler sees it: head, buffered body and path parameters.
#[derive(Debug)]
pub struct Request {
    pub(crate) parts: http::request::Parts,
    pub(crate) body: Bytes,
    /// The body still to read, for a handler that takes a [`BodyStream`]; `body` is empty then.
    pub(crate) stream: Option<BodyStream>,
    pub(crate) params: super::PathParams,
    pub(crate) request_id: Option<super::RequestId>,
    /// Values the route's extensions attached (`auth.subject`, `csp.nonce`).
    pub(crate) values: super::values::RequestValues,
}

impl Request {
    pub fn method(&self) -> &Method {
        &self.parts.method
    }

    pub fn uri(&self) -> &Uri {
        &self.parts.uri
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// A path parameter of the route template (`{id}` in `/users/{id}`).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(self.parts.uri.path(), name)
    }

    /// The request id, when the server assigned one.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_ref().map(super::RequestId::as_str)
    }

    /// A value an extension attached to the request (the authenticated user, a nonce).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name)
    }

    /// The body, read whole before the handler ran; empty for a handler that takes a
    /// [`BodyStream`] (it reads the body itself).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body as a stream: what is still unread, or the buffered body as one chunk.
    fn take_body_stream(&mut self) -> BodyStream {
        self.stream
            .take()
            .unwrap_or_else(|| BodyStream::buffered(std::mem::take(&mut self.body)))
    }

    /// The body parsed as JSON; a 400 rejection says what was wrong.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Rejection> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Rejection::new(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
    }
}

/// Anything a handler may return.
pub trait IntoResponse {
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = self;
        response
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        text(Bytes::from_static(self.as_bytes()))
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        text(Bytes::from(self))
    }
}

fn text(body: Bytes) -> Response {
    answer(body, "text/plain; charset=utf-8")
}

/// Header lines an answer has room for from the start: its own and what a route's
/// extensions add (eleven in all on the load benchmark's users route through its five:
/// security headers, CORS, the four of the rate limit, the request id). Grown from the few
/// lines a handler sets, the map was allocated twice and every line hashed again on each such
/// request (830 instructions of 41,170); nginx likewise sizes a response's header list up
/// front. Not more: an idle kept-alive connection keeps the map of its last answer, and room
/// for sixteen cost each one 1.4 KB more (8.1 to 9.5 KB).
const ANSWER_HEADER_ROOM: usize = 12;

/// An answer with `body` and its content type, its header map sized for the route's
/// extensions to add to.
fn answer(body: Bytes, content_type: &'static str) -> Response {
    let mut headers = http::HeaderMap::with_capacity(ANSWER_HEADER_ROOM);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let mut response = Response::new(Body::from(body));
    *response.headers_mut() = headers;
    response
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        *response.status_mut() = self.0;
        response
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(ok) => ok.into_response(),
            Err(err) => err.into_response(),
        }
    }
}

/// A JSON answer.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => answer(Bytes::from(body), "application/json"),
            Err(e) => error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("answer could not be serialized: {e}"),
            ),
        }
    }
}

/// A refusal carrying its status, answered in the JSON error shape.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub status: StatusCode,
    pub message: String,
}

impl Rejection {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Rejection {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        error_response(self.status, &self.message)
    }
}

/// An error answer in the shape every error answer uses, the extensions' too
/// ([`beginnings_abi::error_body`]): `{"error": {"status": 404, "message": "..."}}`.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    let body = beginnings_abi::error_body(status.as_u16(), message);
    let mut response = answer(Bytes::from(body), "application/json");
    *response.status_mut() = status;
    response
}

pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

/// A route's handler, its shape erased. Public in name only: the sealed handler trait
/// mentions it, and nothing outside the crate can reach it.
#[derive(Clone)]
pub struct DynHandler {
    call: Arc<dyn Fn(Request) -> HandlerFuture + Send + Sync>,
    /// It takes a [`BodyStream`]: the server hands it the body unread.
    pub(crate) streams_body: bool,
}

impl DynHandler {
    pub(crate) fn new(
        streams_body: bool,
        call: impl Fn(Request) -> HandlerFuture + Send + Sync + 'static,
    ) -> Self {
        DynHandler {
            call: Arc::new(call),
            streams_body,
        }
    }

    #[inline]
    pub(crate) fn call(&self, request: Request) -> HandlerFuture {
        (self.call)(request)
    }
}

/// The application state a router was given ([`Router::with_state`](super::Router::with_state)),
/// as a handler's first argument: `async fn list(state: State<Demo>, request: Request)`.
///
/// The state is shared, not copied: every request of every route of the router gets the
/// same `Arc`, so handing it over costs one reference count.
#[derive(Debug)]
pub struct State<S>(pub Arc<S>);

impl<S> Clone for State<S> {
    fn clone(&self) -> Self {
        State(self.0.clone())
    }
}

impl<S> std::ops::Deref for State<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.0
    }
}

/// A route's handler in a `Router<S>`: an async function of the request whose answer
/// becomes a response, taking the router's state first when it wants it:
///
/// * `|request: Request| async { Json(..) }`, or an `async fn(Request) -> impl IntoResponse`;
/// * `async fn(State<S>, Request) -> impl IntoResponse`, where `S` is the router's state;
/// * either of them with a [`BodyStream`] last, `async fn(Request, BodyStream)`, to read the
///   body as it arrives (an upload) instead of whole before the call.
///
/// `M` tells the two apart (the handler's argument list); it is inferred and never written.
/// A handler that asks for another state than its router's does not compile:
///
/// ```compile_fail,E0277
/// use beginnings::routing::State;
/// use beginnings::{Request, Router};
///
/// struct Users;
/// struct Posts;
///
/// async fn list(_posts: State<Posts>, _request: Request) -> &'static str {
///     "posts"
/// }
///
/// // `list` wants `Posts`; this router holds `Users`.
/// let router: Router = Router::new("/api").get("/posts", list).with_state(Users);
/// ```
pub trait Handler<S, M>: seal::Sealed<S, M> {}

impl<S, M, H: seal::Sealed<S, M>> Handler<S, M> for H {}

/// What a handler's call gives: a future that answers with something
/// [`IntoResponse`] makes a response of.
pub trait HandlerAnswer: Future<Output: IntoResponse> + Send + 'static {}

impl<T> HandlerAnswer for T where T: Future<Output: IntoResponse> + Send + 'static {}

/// The handler shapes are fixed here: `Handler` names them for applications, which cannot add
/// others (its supertrait is not theirs to implement).
pub(crate) mod seal {
    use std::sync::Arc;

    use super::{BodyStream, DynHandler, HandlerAnswer, IntoResponse, Request, State};

    /// A handler as a router keeps it until the router has its state.
    pub enum RouteHandler<S> {
        /// Wants no state: built once, called as it is.
        Ready(DynHandler),
        /// Wants the state: built when the router is given it.
        WithState(BuildHandler<S>),
    }

    /// Makes a route's handler from the state its router is given.
    pub type BuildHandler<S> = Arc<dyn Fn(&Arc<S>) -> DynHandler + Send + Sync>;

    impl<S> Clone for RouteHandler<S> {
        fn clone(&self) -> Self {
            match self {
                RouteHandler::Ready(handler) => RouteHandler::Ready(handler.clone()),
                RouteHandler::WithState(build) => RouteHandler::WithState(build.clone()),
            }
        }
    }

    impl<S> RouteHandler<S> {
        pub(crate) fn with_state(self, state: &Arc<S>) -> DynHandler {
            match self {
                RouteHandler::Ready(handler) => handler,
                RouteHandler::WithState(build) => build(state),
            }
        }
    }

    pub trait Sealed<S, M>: Send + Sync + 'static {
        fn into_route_handler(self) -> RouteHandler<S>;
    }

    impl<S, F, Fut> Sealed<S, (Request,)> for F
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: HandlerAnswer,
    {
        fn into_route_handler(self) -> RouteHandler<S> {
            RouteHandler::Ready(DynHandler::new(false, move |request| {
                let future = self(request);
                Box::pin(async move { future.await.into_response() })
            }))
        }
    }

    impl<S, F, Fut> Sealed<S, (Request, BodyStream)> for F
    where
        F: Fn(Request, BodyStream) -> Fut + Send + Sync + 'static,
        Fut: HandlerAnswer,
    {
        fn into_route_handler(self) -> RouteHandler<S> {
            RouteHandler::Ready(DynHandler::new(true, move |mut request| {
                let body = request.take_body_stream();
                let future = self(request, body);
                Box::pin(async move { future.await.into_response() })
            }))
        }
    }

    impl<S, F, Fut> Sealed<S, (State<S>, Request, BodyStream)> for F
    where
        S: Send + Sync + 'static,
        F: Fn(State<S>, Request, BodyStream) -> Fut + Send + Sync + 'static,
        Fut: HandlerAnswer,
    {
        fn into_route_handler(self) -> RouteHandler<S> {
            let handler = Arc::new(self);
            RouteHandler::WithState(Arc::new(move |state: &Arc<S>| {
                let (handler, state) = (handler.clone(), state.clone());
                DynHandler::new(true, move |mut request| {
                    let body = request.take_body_stream();
                    let future = handler(State(state.clone()), request, body);
                    Box::pin(async move { future.await.into_response() })
                })
            }))
        }
    }

    impl<S, F, Fut> Sealed<S, (State<S>, Request)> for F
    where
        S: Send + Sync + 'static,
        F: Fn(State<S>, Request) -> Fut + Send + Sync + 'static,
        Fut: HandlerAnswer,
    {
        fn into_route_handler(self) -> RouteHandler<S> {
            let handler = Arc::new(self);
            RouteHandler::WithState(Arc::new(move |state: &Arc<S>| {
                let (handler, state) = (handler.clone(), state.clone());
                DynHandler::new(false, move |request| {
                    // The one cost of the state per request: a reference count.
                    let future = handler(State(state.clone()), request);
                    Box::pin(async move { future.await.into_response() })
                })
            }))
        }
    }
}
