//! One request: probes, request id, route lookup, the route's limits, its chain and
//! handler, the error page, the access log.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{Method, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};

use super::access_log::{AccessRecord, REQUEST_ID, request_id};
use super::errors;
use super::limits::BodyPace;
use super::linger::linger;
use super::reload::{Generation, ReloadSource};
use crate::builtin;
use crate::pipeline;
use crate::routing::{RequestId, Response, RouteMatch, error_response};

/// Where the server is in its life, as `GET /ready` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Phase {
    Starting = 0,
    Ready = 1,
    Draining = 2,
}

pub(crate) struct ServerState {
    pub current: ArcSwap<Generation>,
    phase: AtomicU8,
    pub source: ReloadSource,
    /// One reload at a time.
    pub reloading: tokio::sync::Mutex<()>,
}

impl ServerState {
    pub fn new(generation: Generation, source: ReloadSource) -> Self {
        ServerState {
            current: ArcSwap::from_pointee(generation),
            phase: AtomicU8::new(Phase::Starting as u8),
            source,
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::SeqCst);
    }

    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::SeqCst) {
            1 => Phase::Ready,
            2 => Phase::Draining,
            _ => Phase::Starting,
        }
    }

    pub async fn handle(&self, request: http::Request<Incoming>, peer: SocketAddr) -> Response {
        // Requests in flight keep the generation they started on across a reload.
        let generation = self.current.load_full();
        if let Some(response) = self.probe(&generation, &request) {
            return response;
        }
        let started = Instant::now();
        let id = request_id(request.headers());
        let html = errors::prefers_html(request.headers().get(header::ACCEPT));
        let method = request.method().clone();
        let (mut response, route) = route(&generation, request, peer, id.clone()).await;
        if html && response.status().as_u16() >= 400 {
            errors::into_html(&mut response, &self.source.templates).await;
        }
        if generation.access_log {
            AccessRecord {
                method: &method,
                route,
                status: response.status(),
                duration: started.elapsed(),
                bytes: response.body().size_hint().exact(),
                request_id: id.as_str(),
                peer,
            }
            .log();
        }
        response
            .headers_mut()
            .insert(REQUEST_ID, id.header_value().clone());
        response
    }

    /// `GET /health` and `GET /ready`, answered ahead of the routes.
    fn probe(
        &self,
        generation: &Generation,
        request: &http::Request<Incoming>,
    ) -> Option<Response> {
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return None;
        }
        match request.uri().path() {
            "/health" if generation.health_probe => Some(builtin::health_response()),
            "/ready" if generation.ready_probe => {
                Some(builtin::ready_response(match self.phase() {
                    Phase::Ready => None,
                    Phase::Starting => Some("starting"),
                    Phase::Draining => Some("draining"),
                }))
            }
            _ => None,
        }
    }
}

/// Finds the route and runs it under its limits; returns the answer and the route template
/// (`-` when no route matched).
async fn route(
    generation: &Generation,
    request: http::Request<Incoming>,
    peer: SocketAddr,
    id: RequestId,
) -> (Response, &str) {
    let (entry, template, params) = match generation
        .table
        .find(request.method(), request.uri().path())
    {
        RouteMatch::Found {
            entry,
            template,
            params,
        } => (entry, template, params),
        RouteMatch::MethodNotAllowed { allow } => {
            let mut response = error_response(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
            response.headers_mut().insert(header::ALLOW, allow.clone());
            return (response, "-");
        }
        RouteMatch::NotFound => return (error_response(StatusCode::NOT_FOUND, "not found"), "-"),
    };
    let limits = entry.limits;
    // A declared length over the limit is refused before any hook or handler runs; an
    // undeclared one is counted while the body is read.
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.max_body_bytes as u64) {
        let message = format!("request body larger than {} bytes", limits.max_body_bytes);
        linger(request.into_body());
        return (too_large(&message), template);
    }
    let (parts, body) = request.into_parts();
    let incoming = pipeline::Incoming {
        parts,
        body,
        params,
        peer: Some(peer),
        request_id: Some(id),
    };
    let run = pipeline::run(entry, template, incoming, limits.max_body_bytes);
    let response = match limits.timeout {
        // Past the timeout the request's future (hooks, handler) is dropped.
        Some(timeout) => match tokio::time::timeout(timeout, run).await {
            Ok(response) => response,
            Err(_) => {
                tracing::warn!(route = template, ?timeout, "request timed out");
                error_response(StatusCode::GATEWAY_TIMEOUT, "request timed out")
            }
        },
        None => run.await,
    };
    (response, template)
}

/// Buffers a request body up to `limit` bytes; larger bodies are answered 413 (and what the
/// client still sends of them is read away, so it sees that answer). A body that pauses past
/// `app.client_body_timeout` or falls behind `app.client_body_min_rate` is answered 408.
pub(crate) async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, Response> {
    // Most requests (GET, HEAD) have no body: nothing to poll or collect.
    if body.is_end_stream() {
        return Ok(Bytes::new());
    }
    let mut body = body;
    let pace = BodyPace::current();
    let started = std::time::Instant::now();
    let mut last = started;
    // The common single-chunk body is kept as it came, without a copy.
    let mut first: Option<Bytes> = None;
    let mut more: Vec<u8> = Vec::new();
    let mut length = 0usize;
    loop {
        let frame = match pace.next_deadline(started, last, length) {
            Some(deadline) => match tokio::time::timeout_at(deadline.into(), body.frame()).await {
                Ok(frame) => frame,
                Err(_) => {
                    tracing::debug!(received = length, "request body too slow");
                    return Err(body_too_slow());
                }
            },
            None => body.frame().await,
        };
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|error| {
            error_response(
                StatusCode::BAD_REQUEST,
                &format!("request body could not be read: {error}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        last = std::time::Instant::now();
        length += data.len();
        if length > limit {
            linger(body);
            return Err(too_large(&format!(
                "request body larger than {limit} bytes"
            )));
        }
        match &first {
            None => first = Some(data),
            Some(chunk) => {
                if more.is_empty() {
                    more.extend_from_slice(chunk);
                }
                more.extend_from_slice(&data);
            }
        }
    }
    Ok(if more.is_empty() {
        first.unwrap_or_default()
    } else {
        Bytes::from(more)
    })
}

/// The 408 answer to a body that came too slowly; the connection closes after it (the rest
/// of the body is not waited for).
fn body_too_slow() -> Response {
    let mut response = error_response(StatusCode::REQUEST_TIMEOUT, "request body timed out");
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}

/// The 413 answer; the connection closes after it (the rest of the body is not read).
fn too_large(message: &str) -> Response {
    let mut response = error_response(StatusCode::PAYLOAD_TOO_LARGE, message);
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}
