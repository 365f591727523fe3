//! What an application's handlers take and give.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use http_body_util::Full;
use serde::{Serialize, de::DeserializeOwned};

/// The body type of every answer: buffered bytes.
pub type Body = Full<Bytes>;
/// An answer.
pub type Response = http::Response<Body>;

/// A request as a handler sees it: head, buffered body and path parameters.
#[derive(Debug)]
pub struct Request {
    pub(crate) parts: http::request::Parts,
    pub(crate) body: Bytes,
    pub(crate) params: Vec<(String, String)>,
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
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The request id, when the server assigned one.
    pub fn request_id(&self) -> Option<&str> {
        self.parts
            .extensions
            .get::<RequestId>()
            .map(|id| id.0.as_str())
    }

    /// A value an extension attached to the request (the authenticated user, a nonce).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.parts
            .extensions
            .get::<crate::pipeline::RequestValues>()?
            .get(name)
    }

    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body parsed as JSON; a 400 rejection says what was wrong.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Rejection> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Rejection::new(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
    }
}

/// The id of a request, stored in its extensions by the server; extensions and handlers
/// read it, the access log prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

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
        let mut response = Response::new(Body::default());
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
    let mut response = Response::new(Body::new(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
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
            Ok(body) => {
                let mut response = Response::new(Body::new(Bytes::from(body)));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
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

/// The error shape every error answer uses: `{"error": {"status": 404, "message": "..."}}`.
/// The message is JSON-escaped, so request text echoed in it cannot break out.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({"error": {"status": status.as_u16(), "message": message}});
    let mut response = Json(body).into_response();
    *response.status_mut() = status;
    response
}

type HandlerFuture = Pin<Box<dyn Future<Output = Response> + Send>>;
pub(crate) type DynHandler = Arc<dyn Fn(Request) -> HandlerFuture + Send + Sync>;

pub(crate) fn into_dyn<F, Fut, R>(handler: F) -> DynHandler
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoResponse,
{
    Arc::new(move |request| {
        let future = handler(request);
        Box::pin(async move { future.await.into_response() })
    })
}
