//! The tower layer: the extensions a Beginnings configuration names, run in front of an
//! application another server serves (an axum `Router` under `axum::serve`).
//!
//! Each request takes the chain the configuration gives its path, as a Beginnings server
//! would for a path without a route of its own: `global_defaults`, the `routes.patterns`
//! that match (`"/admin/**": {auth_required: true}`) and an `exact` entry. Request hooks run
//! in order and any may answer (a 401, a CORS preflight); otherwise the inner service is
//! called with the request body as it came (buffered first only when an extension reads it)
//! and its answer passes the response hooks in reverse, streamed as it comes. Failure policy
//! (`on_error`), breakers, timeouts (`timeout`, 504) and body limits (`max_body_bytes`, 413)
//! are those of a Beginnings server. Chains are built on first use and kept per matched
//! pattern and distinct settings, never per path, so made-up paths grow nothing
//! (`beginnings_path_chains` and `beginnings_path_matches` in [`ExtensionLayer::metrics`]
//! count them).
//!
//! ```no_run
//! use beginnings::tower::ExtensionLayer;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let extensions = ExtensionLayer::from_config("config/app.yaml")?;
//! let app = axum::Router::new()
//!     .route("/api/hello", axum::routing::get(|| async { "hello" }))
//!     .layer(extensions);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::StatusCode;
use tower_layer::Layer;
use tower_service::Service;

use crate::app::App;
use crate::chain::{self, Answer, Incoming};
use crate::error::Error;
use crate::routing::{Body, BoxError, ServiceHandler, error_response};
use crate::runtime::{Generation, Runtime, start_extensions, stop_extensions};
use crate::server::{REQUEST_ID, request_id};
use crate::telemetry::metrics::Registry;

/// A `tower::Layer` running a configuration's extensions in front of the service it wraps.
/// Cloning it shares the loaded extensions; they are stopped when the last clone (and every
/// service it made) is dropped.
#[derive(Clone)]
pub struct ExtensionLayer {
    shared: Arc<Shared>,
}

/// The extensions, their chains and the application's metrics, shared by every service the
/// layer made.
struct Shared {
    generation: Generation,
}

impl Drop for Shared {
    fn drop(&mut self) {
        stop_extensions(&self.generation.extensions);
    }
}

impl ExtensionLayer {
    /// Loads the configuration at `path` (extensions from its `app.extensions_dir`) and
    /// starts its extensions.
    pub fn from_config(path: impl AsRef<Path>) -> Result<Self, Error> {
        ExtensionLayer::from_app(App::from_file(path, None)?)
    }

    /// The extensions of `app` (its routes, if any, are not served: the wrapped service
    /// answers instead).
    pub fn from_app(app: App) -> Result<Self, Error> {
        ExtensionLayer::from_runtime(app.build()?)
    }

    /// Starts the extensions of `runtime`, whose startup hooks run here. Call it on the
    /// tokio runtime that serves the requests: extensions sleep and spawn on it.
    pub fn from_runtime(runtime: Runtime) -> Result<Self, Error> {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            crate::host::set_runtime(handle);
        }
        start_extensions(&runtime.generation.extensions)?;
        Ok(ExtensionLayer {
            shared: Arc::new(Shared {
                generation: runtime.generation,
            }),
        })
    }

    /// The metrics of the extensions and of their chains (what a Beginnings server's
    /// `/metrics` reports for them).
    pub fn metrics(&self) -> &Arc<Registry> {
        self.shared.generation.store.registry()
    }
}

impl std::fmt::Debug for ExtensionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = (self.shared.generation.extensions.iter())
            .map(|extension| extension.name.as_str())
            .collect();
        f.debug_struct("ExtensionLayer")
            .field("extensions", &names)
            .finish()
    }
}

impl<S, B> Layer<S> for ExtensionLayer
where
    S: Service<http::Request<Body>, Response = http::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Service = ExtensionService;

    fn layer(&self, inner: S) -> ExtensionService {
        ExtensionService {
            shared: self.shared.clone(),
            inner: ServiceHandler::new(inner),
        }
    }
}

/// The service [`ExtensionLayer`] makes: the extensions around the wrapped service. An
/// error of the wrapped service is answered 500 (and logged), so the response hooks still
/// run on it; this service itself never fails.
#[derive(Clone)]
pub struct ExtensionService {
    shared: Arc<Shared>,
    inner: ServiceHandler,
}

impl std::fmt::Debug for ExtensionService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtensionService").finish_non_exhaustive()
    }
}

impl<B> Service<http::Request<B>> for ExtensionService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    /// Always ready: each request calls its own clone of the wrapped service, which is
    /// made ready then.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let shared = self.shared.clone();
        let inner = self.inner.clone();
        Box::pin(async move { Ok(through_chain(&shared.generation, &inner, request).await) })
    }
}

/// One request through the chain of its path's configuration around `inner`.
async fn through_chain<B>(
    generation: &Generation,
    inner: &ServiceHandler,
    request: http::Request<B>,
) -> http::Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let id = request_id(request.headers());
    let entry = generation.host_chain(request.uri().path(), None);
    let (parts, body) = request.into_parts();
    let (answer, body) = if entry.broken {
        // The chain could not be built (logged when it was): nothing unchecked passes.
        let refused = error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal server error");
        (Answer::Host(Box::new(refused)), None)
    } else {
        let mut body = Some(Body::new(body));
        match chain::refuse_declared(&parts.headers, &mut body, entry.limits.max_body_bytes) {
            Some(refused) => (Answer::Host(Box::new(refused)), None),
            None => (Answer::Service(inner), body),
        }
    };
    let incoming = Incoming {
        parts,
        body,
        params: Default::default(),
        // The other server knows the client's address; tower hands it on in a type of that
        // server's own (axum's `ConnectInfo`), which Beginnings cannot name.
        peer: None,
        request_id: Some(id.clone()),
        debug_timing: false,
    };
    let mut response = chain::run(&entry.chain, answer, &entry.route, incoming, entry.limits).await;
    response
        .headers_mut()
        .insert(REQUEST_ID, id.to_header_value());
    response
}
