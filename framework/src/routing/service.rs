//! A `tower::Service` where a handler stands: mounted under a prefix of an application
//! ([`Router::nest_service`](super::Router::nest_service)), or the application the tower layer
//! runs extensions in front of. It gets the request with its body as it comes (streamed) and
//! its answer's body is sent as it comes too: nothing is buffered on the way.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use http::uri::{PathAndQuery, Uri};
use tower_service::Service;

use super::{Body, BoxError, Response, error_response};

/// The answer of one call of a service.
pub(crate) type ServiceFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

/// A service behind one shape: called with a Beginnings request, it answers a Beginnings
/// response. A failing service (its `poll_ready` or its call returns an error) is answered
/// 500 and logged, so the response hooks still run on the answer.
#[derive(Clone)]
pub(crate) struct ServiceHandler(Arc<dyn Fn(http::Request<Body>) -> ServiceFuture + Send + Sync>);

impl ServiceHandler {
    pub fn new<S, B>(service: S) -> Self
    where
        S: Service<http::Request<Body>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        ServiceHandler(Arc::new(move |request| {
            // A service is ready for one call at a time: each request calls its own clone,
            // as axum does with the services it routes to.
            let mut service = service.clone();
            Box::pin(async move {
                let answered = async {
                    std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
                    service.call(request).await
                };
                match answered.await {
                    Ok(response) => response.map(Body::new),
                    Err(error) => {
                        let error: BoxError = error.into();
                        tracing::error!("the tower service failed, answered 500: {error}");
                        error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
                    }
                }
            })
        }))
    }

    /// The same service, called with `prefix` taken off the request's path (`/legacy/users`
    /// reaches it as `/users`, `/legacy` as `/`); the query stays.
    pub fn under_prefix(self, prefix: &str) -> Self {
        let prefix: Arc<str> = Arc::from(prefix);
        ServiceHandler(Arc::new(move |mut request| {
            let uri = std::mem::take(request.uri_mut());
            *request.uri_mut() = strip_prefix(uri, &prefix);
            self.call(request)
        }))
    }

    pub fn call(&self, request: http::Request<Body>) -> ServiceFuture {
        (self.0)(request)
    }
}

/// `uri` without `prefix` at the start of its path. The route table only sends a service
/// paths under its prefix; any other is left as it is.
fn strip_prefix(uri: Uri, prefix: &str) -> Uri {
    let Some(rest) = uri.path().strip_prefix(prefix) else {
        return uri;
    };
    let path = if rest.is_empty() { "/" } else { rest };
    let stripped = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    let mut parts = uri.into_parts();
    match PathAndQuery::from_maybe_shared(stripped) {
        Ok(path_and_query) => parts.path_and_query = Some(path_and_query),
        Err(_) => return Uri::default(),
    }
    Uri::from_parts(parts).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::strip_prefix;
    use http::Uri;

    #[test]
    fn the_prefix_is_taken_off_the_path_and_the_query_stays() {
        let cases = [
            ("/legacy", "/"),
            ("/legacy/", "/"),
            ("/legacy/users?page=2", "/users?page=2"),
            ("/legacy?x=1", "/?x=1"),
            ("http://example.test/legacy/a/b", "http://example.test/a/b"),
        ];
        for (from, to) in cases {
            let stripped = strip_prefix(from.parse::<Uri>().unwrap(), "/legacy");
            assert_eq!(stripped.to_string(), to, "{from}");
        }
    }
}
