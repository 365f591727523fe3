//! One request: route lookup, the route's timeout, its chain and handler.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::pipeline;
use crate::routing::{Response, RouteMatch, RouteTable, error_response};

/// Bodies larger than this are refused with 413.
const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

pub(crate) struct ServerState {
    table: RouteTable,
    max_body_bytes: usize,
}

impl ServerState {
    pub fn new(table: RouteTable) -> Self {
        ServerState {
            table,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    pub async fn handle(&self, request: http::Request<Incoming>, peer: SocketAddr) -> Response {
        let (entry, template, params) =
            match self.table.find(request.method(), request.uri().path()) {
                RouteMatch::Found {
                    entry,
                    template,
                    params,
                } => (entry, template, params),
                RouteMatch::MethodNotAllowed { allow } => {
                    let mut response =
                        error_response(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
                    response.headers_mut().insert(header::ALLOW, allow.clone());
                    return response;
                }
                RouteMatch::NotFound => return error_response(StatusCode::NOT_FOUND, "not found"),
            };
        let (parts, body) = request.into_parts();
        let run = pipeline::run(
            entry,
            template,
            parts,
            body,
            params,
            Some(peer),
            self.max_body_bytes,
        );
        match entry.chain.timeout() {
            // Past the timeout the request's future (hooks, handler) is dropped.
            Some(timeout) => match tokio::time::timeout(timeout, run).await {
                Ok(response) => response,
                Err(_) => {
                    tracing::warn!(route = template, ?timeout, "request timed out");
                    error_response(StatusCode::GATEWAY_TIMEOUT, "request timed out")
                }
            },
            None => run.await,
        }
    }
}

/// Buffers a request body up to `limit` bytes; larger bodies are answered 413.
pub(crate) async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, Response> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body larger than {limit} bytes"),
        )),
        Err(error) => Err(error_response(
            StatusCode::BAD_REQUEST,
            &format!("request body could not be read: {error}"),
        )),
    }
}
