//! One request through the host's stages, in this order (the order decides what the
//! extensions see):
//!
//! 1. **probes**: `GET /health` and `/ready` are answered here, through no chain, so a load
//!    balancer never depends on an extension, and at once, before a request future is made
//!    ([`ServerState::answer_probe`]);
//! 2. **request id**: the client's `X-Request-Id` kept when sane, else one made
//!    (`access_log::request_id`); every hook sees it;
//! 3. **route**: the table finds the route's chain, or for a 404 or 405 and a mounted tower
//!    service the chain of the path's configuration ([`route`]);
//! 4. **declared body limit**: a `Content-Length` over the route's `max_body_bytes` is
//!    refused 413 before anything is read; the answer still passes the chain;
//! 5. **the chain** (`chain::run`): the body read when a filter needs it, the request hooks,
//!    the handler, the response hooks, under the route's timeout (504);
//! 6. **error page**: an error status becomes an HTML page for a browser, after the
//!    response hooks, so their headers stay (`errors::into_html`);
//! 7. **HEAD** loses its body; **access log** and the `X-Request-Id` header last.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use arc_swap::ArcSwap;
use http::{Method, StatusCode, header};
use hyper::body::{Body as _, Incoming};

use super::access_log::{AccessRecord, REQUEST_ID, request_id};
use super::errors;
use crate::builtin;
use crate::chain;
use crate::config::AppConfig;
use crate::routing::{RequestId, Response, RouteMatch, error_response};
use crate::runtime::{Generation, ReloadSource, Standby};
use subtle::ConstantTimeEq;

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
    /// One reload (or rollback) at a time.
    pub reloading: tokio::sync::Mutex<()>,
    /// The generation the last swap replaced, during its rollback window.
    pub standby: Standby,
}

impl ServerState {
    pub fn new(generation: Generation, source: ReloadSource) -> Self {
        ServerState {
            current: ArcSwap::from_pointee(generation),
            phase: AtomicU8::new(Phase::Starting as u8),
            source,
            reloading: tokio::sync::Mutex::new(()),
            standby: Standby::default(),
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

    /// The answer of a probe (`GET` or `HEAD` of `/health` or `/ready`), made at once, ahead
    /// of the routes and of every extension; `None` for any other request, which [`handle`]
    /// serves. Nothing is allocated or awaited for a probe, and the generation is read only
    /// for a probe's path: a load balancer asks for them often.
    ///
    /// [`handle`]: ServerState::handle
    pub fn answer_probe(&self, request: &http::Request<Incoming>) -> Option<Response> {
        let head = match *request.method() {
            Method::GET => false,
            Method::HEAD => true,
            _ => return None,
        };
        let mut response = match request.uri().path() {
            "/health" if self.current.load().health_probe => builtin::health_response(),
            "/ready" if self.current.load().ready_probe => {
                builtin::ready_response(match self.phase() {
                    Phase::Ready => None,
                    Phase::Starting => Some("starting"),
                    Phase::Draining => Some("draining"),
                })
            }
            _ => return None,
        };
        if head {
            errors::without_body(&mut response);
        }
        Some(response)
    }

    /// One request that is not a probe ([`answer_probe`]), as hyper hands it over, to the
    /// answer hyper writes.
    ///
    /// Every stage up to the chain is a plain function call and the chain is awaited here,
    /// at the one `await` of the request: each level of `async fn` between the connection
    /// and the chain would hold the chain's future again in its own (rustc keeps an awaited
    /// future and the value it was moved from apart), and the whole is moved into its box
    /// for every request. An `async` block, not an `async fn`, for the reason written above
    /// `chain::run`: the request is used where it was captured, not kept twice.
    ///
    /// [`answer_probe`]: ServerState::answer_probe
    #[expect(
        clippy::manual_async_fn,
        reason = "an `async fn` future keeps room for each argument twice"
    )]
    pub fn handle(
        self: Arc<Self>,
        request: http::Request<Incoming>,
        peer: SocketAddr,
    ) -> impl Future<Output = Response> {
        async move {
            let head = request.method() == Method::HEAD;
            // One look at the generation in force, kept across a reload until the request is
            // answered.
            let generation = self.current.load_full();
            // Read the clock only for the access log.
            let started = generation.access_log.then(Instant::now);
            let id = request_id(request.headers());
            let html = errors::prefers_html(request.headers().get(header::ACCEPT));
            let method = request.method().clone();
            let Routed {
                chain,
                answer,
                template: route,
                incoming,
                limits,
            } = route(&generation, request, peer, id.clone());
            let mut response = chain::run(chain.chain(), answer, route, incoming, limits).await;
            if html && response.status().as_u16() >= 400 {
                errors::into_html(&mut response, &self.source.templates);
            }
            // hyper leaves a HEAD answer's body out on HTTP/1.1 only; over HTTP/2 it would be
            // sent, which clients refuse as a protocol error.
            if head {
                errors::without_body(&mut response);
            }
            if let Some(started) = started {
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
                .insert(REQUEST_ID, id.to_header_value());
            response
        }
    }
}

/// What a request's chain runs with: the route's chain, or the host's entry holding the
/// chain of the path's configuration; what stands where the handler stands; the route
/// template (`-` when no route matched); the request and the route's limits.
struct Routed<'g> {
    chain: RoutedChain<'g>,
    answer: chain::Answer<'g>,
    template: &'g str,
    incoming: chain::Incoming,
    limits: chain::RouteLimits,
}

enum RoutedChain<'g> {
    Route(&'g chain::Chain),
    Host(Arc<chain::HostEntry>),
}

impl RoutedChain<'_> {
    fn chain(&self) -> &chain::Chain {
        match self {
            RoutedChain::Route(chain) => chain,
            RoutedChain::Host(entry) => &entry.chain,
        }
    }
}

/// Finds the route and the chain its answer passes through — the route's, or for a 404 or
/// 405 the chain of the path's configuration (the rule is written above `chain::run`).
fn route(
    generation: &Generation,
    request: http::Request<Incoming>,
    peer: SocketAddr,
    id: RequestId,
) -> Routed<'_> {
    let table = &generation.table;
    let (chain, limits, answer, template, params) =
        match table.find(request.method(), request.uri().path()) {
            RouteMatch::Found {
                entry,
                template,
                params,
            } => (
                RoutedChain::Route(&entry.chain),
                entry.limits,
                chain::Answer::Handler(&entry.handler),
                template,
                params,
            ),
            // A mounted service's paths are the client's: its chain is the one of the
            // path's configuration, kept per matched pattern and settings, not per path.
            RouteMatch::Mounted { mount } => {
                let host_entry = generation.host_chain(request.uri().path(), None);
                let answer = if host_entry.broken {
                    // The chain could not be built (logged when it was): nothing unchecked
                    // reaches the service.
                    let refused =
                        error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal server error");
                    chain::Answer::Host(Box::new(refused))
                } else {
                    chain::Answer::Service(&mount.service)
                };
                let limits = host_entry.limits;
                (
                    RoutedChain::Host(host_entry),
                    limits,
                    answer,
                    mount.template.as_str(),
                    Default::default(),
                )
            }
            unmatched => {
                // A 405 passes through the chain of the template the path matched, a 404
                // through the chain of the path's configuration.
                let (response, matched) = match unmatched {
                    RouteMatch::MethodNotAllowed { template, allow } => {
                        let mut response =
                            error_response(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
                        response.headers_mut().insert(header::ALLOW, allow.clone());
                        (response, Some(template))
                    }
                    _ => (error_response(StatusCode::NOT_FOUND, "not found"), None),
                };
                let path = request.uri().path();
                let host_entry = generation.host_chain(path, matched);
                let answer = host_answer(&host_entry, response);
                let limits = host_entry.limits;
                (
                    RoutedChain::Host(host_entry),
                    limits,
                    answer,
                    "-",
                    Default::default(),
                )
            }
        };
    let debug_timing = wants_timing(generation.app(), request.headers(), peer);
    let (parts, body) = request.into_parts();
    let (answer, body) = match answer {
        // A 404 or 405 reads no body.
        chain::Answer::Host(_) => (answer, None),
        answer => {
            let mut body = Some(body);
            match chain::refuse_declared(&parts.headers, &mut body, limits.max_body_bytes) {
                Some(refused) => (chain::Answer::Host(Box::new(refused)), None),
                None => (answer, body),
            }
        }
    };
    Routed {
        chain,
        answer,
        template,
        incoming: chain::Incoming {
            parts,
            body,
            params,
            peer: Some(peer),
            request_id: Some(id),
            debug_timing,
        },
        limits,
    }
}

/// Whether the caller asked for the time each extension took (`X-Beginnings-Debug: timing`)
/// and may have it: from loopback when `app.request_debug` is on, or from anywhere with
/// `X-Beginnings-Debug-Token` equal to `app.request_debug_token`. Free when both are off.
fn wants_timing(app: &AppConfig, headers: &http::HeaderMap, peer: SocketAddr) -> bool {
    if !app.request_debug && app.request_debug_token.is_none() {
        return false;
    }
    if headers.get(DEBUG).is_none_or(|asked| asked != "timing") {
        return false;
    }
    let by_token = (app.request_debug_token.as_deref()).is_some_and(|token| {
        headers
            .get(DEBUG_TOKEN)
            .is_some_and(|sent| bool::from(sent.as_bytes().ct_eq(token.as_bytes())))
    });
    by_token || (app.request_debug && peer.ip().is_loopback())
}

/// The request header asking for the extensions' times, and the one carrying the token.
const DEBUG: header::HeaderName = header::HeaderName::from_static("x-beginnings-debug");
const DEBUG_TOKEN: header::HeaderName = header::HeaderName::from_static("x-beginnings-debug-token");

/// The host's answer, or 500 when the chain it must pass through could not be built (the
/// error was logged when it was built).
fn host_answer(entry: &chain::HostEntry, answer: Response) -> chain::Answer<'static> {
    chain::Answer::Host(Box::new(if entry.broken {
        error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
    } else {
        answer
    }))
}
