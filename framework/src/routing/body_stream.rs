//! A request body a handler reads as it arrives (an upload), rather than whole.
//!
//! A handler asks for it by taking a [`BodyStream`] after its [`Request`](super::Request):
//!
//! ```
//! use beginnings::routing::{BodyError, BodyStream};
//! use beginnings::{Request, Router};
//!
//! async fn upload(_request: Request, mut body: BodyStream) -> Result<String, BodyError> {
//!     let mut length = 0;
//!     while let Some(chunk) = body.chunk().await {
//!         length += chunk?.len();
//!     }
//!     Ok(format!("{length} bytes"))
//! }
//!
//! let router: Router = Router::new("/files").post("/", upload);
//! ```
//!
//! The route's bounds still hold, chunk by chunk: past `max_body_bytes` the stream yields a
//! [`BodyError`] answered 413, past `app.client_body_timeout` or behind
//! `app.client_body_min_rate` one answered 408, and the route's `timeout` covers the
//! handler reading it. When an extension on the route reads request bodies, the body was
//! buffered for it before the request hooks, and the stream yields that buffer as one
//! chunk: the handler's code is the same either way.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::{HeaderValue, StatusCode, header};
use parking_lot::Mutex;

use super::handler::{IntoResponse, Response, error_response};

/// The body of a request, chunk by chunk ([module docs](self)). It is also a
/// `futures_util::Stream` of `Result<Bytes, BodyError>`.
pub struct BodyStream(Mutex<Chunks>);

type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, BodyError>> + Send>>;

// The mutex is never locked: the stream is only polled through `&mut self` (`get_mut`). It
// makes a `Request` that carries a stream `Sync`, as handlers holding `&Request` across an
// `.await` need, without asking every body stream to be `Sync`.

impl BodyStream {
    /// A body read from `chunks` (the server makes them, bounded by the route's limits).
    pub(crate) fn new(
        chunks: impl Stream<Item = Result<Bytes, BodyError>> + Send + 'static,
    ) -> Self {
        BodyStream(Mutex::new(Box::pin(chunks)))
    }

    /// A body that was already read whole.
    pub(crate) fn buffered(bytes: Bytes) -> Self {
        let chunk = (!bytes.is_empty()).then_some(Ok(bytes));
        BodyStream::new(futures_util::stream::iter(chunk))
    }

    /// The next chunk; `None` at the end of the body. After an error the body ends.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, BodyError>> {
        self.0.get_mut().next().await
    }
}

impl Stream for BodyStream {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.get_mut().as_mut().poll_next(cx)
    }
}

impl fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BodyStream")
    }
}

/// Why a request body could not be read: too large (413), too slow (408), broken (400).
/// Returned from a handler, it is the answer the server would have given for a buffered
/// body, which closes the connection when the client may still be sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    status: StatusCode,
    message: String,
}

impl BodyError {
    pub(crate) fn too_large(limit: usize) -> Self {
        BodyError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("request body larger than {limit} bytes"),
        }
    }

    pub(crate) fn timed_out() -> Self {
        BodyError {
            status: StatusCode::REQUEST_TIMEOUT,
            message: "request body timed out".to_owned(),
        }
    }

    pub(crate) fn broken(error: impl fmt::Display) -> Self {
        BodyError {
            status: StatusCode::BAD_REQUEST,
            message: format!("request body could not be read: {error}"),
        }
    }

    /// The status it is answered with.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BodyError {}

impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        let mut response = error_response(self.status, &self.message);
        // The server stopped reading a body the client may still be sending.
        if self.status != StatusCode::BAD_REQUEST {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
