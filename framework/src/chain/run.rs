//! Running a chain around a handler or a host answer: request hooks in order (any may
//! answer early), the handler (or the host's answer), then response hooks in reverse for
//! every extension whose request side ran. What stands where the handler stands is a
//! handler, a tower service (mounted, or the application the tower layer wraps) or an
//! answer the host made. A failing hook answers 500 unless the route says
//! `on_error: open` for it. The rule for host answers is written above [`run`].

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt;
use http::StatusCode;
use parking_lot::Mutex;

use super::body::{RequestBody, read_body, stream_body};
use super::build::{Chain, ChainLink};
use super::limits::RouteLimits;
use super::stats::HookCalls;
use crate::coarse_clock;
use crate::host::views::{RequestSide, ResponseSide, Timings};
use crate::host::{FilterState, HookFailure, RequestOutcome};
use crate::routing::{
    Body, DynHandler, ExtensionValues, Request, RequestId, RequestValues, Response, ServiceHandler,
    error_response,
};
use crate::telemetry::metrics::Histogram;

thread_local! {
    /// The `Server-Timing` name of the handler, shared rather than allocated per request.
    static HANDLER_TIMING: Arc<str> = Arc::from("handler");
}

/// The per-request states of a chain's stateful filters, freed in the library that made
/// them when the request ends, however it ends (answered, timed out, client gone).
pub(super) struct States<'a> {
    chain: &'a Chain,
    /// Inline for the chains routes have (a handful of filters): no allocation per request.
    states: smallvec::SmallVec<[FilterState; 8]>,
}

impl<'a> States<'a> {
    pub(super) fn new(chain: &'a Chain) -> Self {
        let states = if chain.has_state {
            chain
                .links
                .iter()
                .map(|link| {
                    if link.caps.per_request_state() {
                        link.filter.new_state()
                    } else {
                        FilterState::NONE
                    }
                })
                .collect()
        } else {
            smallvec::SmallVec::new()
        };
        States { chain, states }
    }

    pub(super) fn get(&self, index: usize) -> FilterState {
        self.states.get(index).copied().unwrap_or(FilterState::NONE)
    }
}

impl Drop for States<'_> {
    fn drop(&mut self) {
        for (link, state) in self.chain.links.iter().zip(&self.states) {
            if !state.is_none() {
                link.filter.drop_state(*state);
            }
        }
    }
}

/// What a hook's outcome means for the request.
enum Outcome {
    Continue,
    Answer(Response),
    /// Failed and fails closed: answer 500 without this extension's response hook.
    Failed(Response),
}

/// A request as the server (or the tower layer) hands it to its route's chain.
pub(crate) struct Incoming<B = hyper::body::Incoming> {
    pub parts: http::request::Parts,
    /// None when the host already refused it (and reads it away itself).
    pub body: Option<B>,
    /// The route template's parameters (`{id}`), in order.
    pub params: crate::routing::PathParams,
    pub peer: Option<SocketAddr>,
    pub request_id: Option<RequestId>,
    /// The caller may see each extension's time on this request
    /// (`X-Beginnings-Debug-Timing`), profiled route or not.
    pub debug_timing: bool,
}

/// What stands where the handler stands in a chain.
pub(crate) enum Answer<'a> {
    /// The route's handler.
    Handler(&'a DynHandler),
    /// A tower service: given the request body as it comes, unless a filter read it.
    Service(&'a ServiceHandler),
    /// An answer the host made before the chain ran: 404, 405, a 413 on a declared length.
    /// Boxed: it is rare, and the chain's future keeps room for what it was called with.
    Host(Box<Response>),
}

/// What the chain calls where the handler stands.
enum Called<'a> {
    Handler(&'a DynHandler),
    Service(&'a ServiceHandler),
}

// Which stages a host answer passes through — the one rule for every answer the host makes
// itself (404, 405, 413, 504, a refused body, a failed hook):
//
// * It is the answer of a chain: the matched route's chain, or for 404 and 405 the chain of
//   the path's configuration (`HostChains`). The host answer stands where the handler
//   stands, so it passes through the same stages a handler's answer would.
// * The request hooks run first, in order, also for an answer decided before them (404,
//   405, a declared 413): a browser needs its cross-origin request's answer marked, and
//   CORS marks only what its request hook judged (it saw the `Origin`); every other
//   extension sees the request as for a handler. Any of them may answer instead — a
//   preflight, a 401 — as they would in front of a handler.
// * Hooks that read the body are passed over, on both sides, when the host answers without
//   a body to give them (a refused body, a 404 or 405): they cannot judge a request they
//   cannot read, and their refusal must not hide the host's answer.
// * Then the response hooks run in reverse for every extension whose request hook ran, with
//   the per-request state that hook left.
// * The route's timeout covers the body read, the request hooks and the handler. At the
//   deadline the stage in progress is dropped (the body read, an asynchronous request hook,
//   the handler) and the answer is 504; the request hooks that had finished keep their
//   state and their response hooks run on the 504. An asynchronous request hook that was
//   dropped unfinished gets no response hook: its state is in an unknown condition.
//
// Not through any chain: `GET /health` and `/ready` (probes answer ahead of the routes, so a
// load balancer never depends on an extension), and a request head too large for the
// connection's buffer, which hyper answers 431 itself before there is a request to route.

/// Runs `chain` around `answer`, under `limits`.
///
/// An `async` block rather than an `async fn`: an `async fn` moves each argument into a local
/// of its own and its future keeps room for both, and the future is moved whole (into the
/// request's box, into the future awaiting it) on every request. The block uses the request
/// it captured in place, and nothing it holds across an `await` is held twice.
#[expect(
    clippy::manual_async_fn,
    reason = "an `async fn` future keeps room for each argument twice"
)]
pub(crate) fn run<'a, B: RequestBody + 'a>(
    chain: &'a Chain,
    answer: Answer<'a>,
    template: &'a str,
    mut request: Incoming<B>,
    limits: RouteLimits,
) -> impl Future<Output = Response> + 'a {
    async move {
        let id_text = request.request_id.as_ref().map_or("", RequestId::as_str);
        let links = &chain.links;
        // What only hooks look at is not made for a route without any: the precise start
        // they are given, and below the copies of the request head and values the response
        // hooks keep. The route's deadline counts from the coarse clock, which is cheap to
        // read and precise enough for a timeout of seconds.
        let started_ns = if links.is_empty() {
            0
        } else {
            crate::host::monotonic_ns_at(Instant::now())
        };
        let deadline = limits.timeout.map(|timeout| Deadline {
            started: coarse_clock::now(),
            timeout,
            template,
        });
        // Timing every hook costs two clock reads each; only profiled routes and the requests
        // of a trusted caller who asked pay it.
        let timings =
            (chain.profile || request.debug_timing).then(|| Mutex::new(Timings::default()));
        let clock = || timings.as_ref().map(|_| Instant::now());
        let timed = |name: &Arc<str>, since: Option<Instant>, histogram: Option<&Histogram>| {
            if let (Some(timings), Some(since)) = (&timings, since) {
                let elapsed = since.elapsed();
                timings.lock().0.push((name.clone(), elapsed));
                if let Some(histogram) = histogram {
                    histogram.record(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
                }
            }
        };
        let states = States::new(chain);
        let mut calls = HookCalls::new(chain);
        let mut values = RequestValues::default();
        // The answer that stands for the handler's: the host's own, a refused body, or a
        // request hook's (which wins over the other two).
        let (called, mut instead) = match answer {
            Answer::Handler(handler) => (Some(Called::Handler(handler)), None),
            Answer::Service(service) => (Some(Called::Service(service)), None),
            Answer::Host(response) => (None, Some(*response)),
        };
        if instead.is_some() {
            request.body = None;
        }
        // The body is read before the hooks only when one of them reads it.
        let mut buffered = Bytes::new();
        if chain.needs_body
            && let Some(unread) = request.body.take()
        {
            match read_whole(deadline.as_ref(), unread, limits.max_body_bytes).await {
                Ok(Ok(bytes)) => buffered = bytes,
                Ok(Err(refused)) | Err(refused) => instead = Some(refused),
            }
        }
        // Without a body to give them, the hooks that read it are passed over.
        let skips_body_hooks = instead.is_some();
        let passed_over = |link: &ChainLink| skips_body_hooks && link.caps.needs_body();
        // How many links, from the start, get their response hook.
        let mut ran = links.len();
        {
            let mut side = RequestSide {
                values: &mut values,
                route: template,
                request_id: id_text,
                started_ns,
                timings: timings.as_ref(),
                parts: &mut request.parts,
                peer: request.peer,
                body: &buffered,
            };
            for (index, link) in links.iter().enumerate() {
                if !link.caps.on_request() {
                    continue;
                }
                if passed_over(link) {
                    calls.left_out();
                    continue;
                }
                let state = states.get(index);
                let hook_started = clock();
                let tripped = link.breaker.is_tripped();
                if tripped {
                    link.stats.skipped.add(1);
                    calls.left_out();
                } else {
                    calls.request(index);
                }
                let result = if tripped {
                    None
                } else if link.caps.on_request_async() {
                    let future = link.filter.on_request_async(state, &mut side);
                    let polled = within(deadline.as_ref(), AssertUnwindSafe(future).catch_unwind());
                    match polled.await {
                        Ok(polled) => Some(polled.unwrap_or_else(|_| {
                            RequestOutcome::Failed(HookFailure::panicked_while_polled())
                        })),
                        Err(timed_out) => {
                            ran = index;
                            instead = Some(timed_out);
                            calls.left_out();
                            break;
                        }
                    }
                } else {
                    Some(link.filter.on_request(state, &mut side))
                };
                timed(
                    &link.timing_name,
                    hook_started,
                    Some(&link.stats.request_time),
                );
                match judge(link, template, "request", result) {
                    Outcome::Continue => {}
                    Outcome::Answer(response) => {
                        ran = index + 1;
                        instead = Some(response);
                        calls.left_out();
                        break;
                    }
                    Outcome::Failed(response) => {
                        ran = index;
                        instead = Some(response);
                        calls.left_out();
                        break;
                    }
                }
            }
        }
        let head =
            (!links.is_empty()).then(|| (request.parts.method.clone(), request.parts.uri.clone()));
        let mut response = if let Some(response) = instead {
            response
        } else {
            match called {
                None => unreachable!("a chain runs around a handler or a host answer"),
                Some(Called::Service(service)) => {
                    // Streamed as it comes, held to the route's size limit and the body pace
                    // as a handler's stream is: past them the service sees the body end with
                    // an error.
                    let body = match request.body.take() {
                        Some(unread) => {
                            Body::from_stream(stream_body(unread, limits.max_body_bytes))
                        }
                        None => Body::from(buffered),
                    };
                    if !values.is_empty() {
                        request
                            .parts
                            .extensions
                            .insert(ExtensionValues(values.clone()));
                    }
                    let service_request = http::Request::from_parts(request.parts, body);
                    let handler_started = clock();
                    let answered = within(
                        deadline.as_ref(),
                        AssertUnwindSafe(service.call(service_request)).catch_unwind(),
                    )
                    .await;
                    if handler_started.is_some() {
                        timed(&HANDLER_TIMING.with(Arc::clone), handler_started, None);
                    }
                    handler_answer(answered, template)
                }
                Some(Called::Handler(handler)) => {
                    // A handler that takes a stream reads the body itself, under the same
                    // bounds.
                    let (read, stream) = match request.body.take() {
                        Some(body) if handler.streams_body => (
                            Ok(Ok(Bytes::new())),
                            Some(stream_body(body, limits.max_body_bytes)),
                        ),
                        Some(body) => (
                            read_whole(deadline.as_ref(), body, limits.max_body_bytes).await,
                            None,
                        ),
                        None => (Ok(Ok(buffered)), None),
                    };
                    match read {
                        // A refused body or the deadline: the host's answer stands for the
                        // handler's.
                        Ok(Err(refused)) | Err(refused) => refused,
                        Ok(Ok(body)) => {
                            let handler_request = Request {
                                parts: request.parts,
                                body,
                                stream,
                                params: request.params,
                                request_id: request.request_id.clone(),
                                // A copy of inline text: the response hooks keep the original.
                                values: if links.is_empty() {
                                    std::mem::take(&mut values)
                                } else {
                                    values.clone()
                                },
                            };
                            let handler_started = clock();
                            let answered = within(
                                deadline.as_ref(),
                                AssertUnwindSafe(handler.call(handler_request)).catch_unwind(),
                            )
                            .await;
                            if handler_started.is_some() {
                                timed(&HANDLER_TIMING.with(Arc::clone), handler_started, None);
                            }
                            handler_answer(answered, template)
                        }
                    }
                }
            }
        };
        for (index, link) in links[..ran].iter().enumerate().rev() {
            if !link.caps.on_response() {
                continue;
            }
            if passed_over(link) {
                calls.left_out();
                continue;
            }
            if link.breaker.is_tripped() {
                // As on the request side: not called, and the route's failure policy applies.
                link.stats.skipped.add(1);
                calls.left_out();
                if let Outcome::Failed(failed) = judge(link, template, "response", None) {
                    response = failed;
                }
                continue;
            }
            calls.response(index);
            let (method, uri) = head
                .as_ref()
                .expect("a chain with links keeps the request head");
            let hook_started = clock();
            let mut side = ResponseSide {
                route: template,
                started_ns,
                timings: timings.as_ref(),
                request_id: id_text,
                method,
                uri,
                response: &mut response,
                peer: request.peer,
                values: Some(&values),
            };
            let result = link.filter.on_response(states.get(index), &mut side);
            timed(
                &link.timing_name,
                hook_started,
                Some(&link.stats.response_time),
            );
            let result = Some(match result {
                Ok(()) => RequestOutcome::Continue,
                Err(failure) => RequestOutcome::Failed(failure),
            });
            if let Outcome::Failed(failed) = judge(link, template, "response", result) {
                response = failed;
            }
        }
        if request.debug_timing
            && let Some(timings) = &timings
            && let Ok(value) = http::HeaderValue::from_str(&timings.lock().render())
        {
            response.headers_mut().insert(DEBUG_TIMING, value);
        }
        calls.answered();
        response
    }
}

/// The answer of a handler or service: a panic is answered 500, the deadline 504.
fn handler_answer(
    answered: Result<std::thread::Result<Response>, Response>,
    template: &str,
) -> Response {
    match answered {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => {
            tracing::error!(route = template, "handler panicked");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
        }
        Err(timed_out) => timed_out,
    }
}

/// The answer header listing each extension's time, for a caller who asked.
const DEBUG_TIMING: http::HeaderName = http::HeaderName::from_static("x-beginnings-debug-timing");

/// A route's deadline for the body read, its request hooks and its handler together.
struct Deadline<'a> {
    /// When the request's chain started, on the coarse clock.
    started: Duration,
    timeout: Duration,
    template: &'a str,
}

/// Reads a whole body under the deadline: an empty one (most requests: GET, HEAD) with no
/// future at all, any other in a box of its own. A read's state is over a kilobyte, and the
/// request's future, copied into its box for every request, would keep room for it (twice:
/// before the hooks and for the handler) even when nothing is read.
async fn read_whole<B: RequestBody>(
    deadline: Option<&Deadline<'_>>,
    body: B,
    limit: usize,
) -> Result<Result<Bytes, Response>, Response> {
    if body.is_end_stream() {
        return Ok(Ok(Bytes::new()));
    }
    within(deadline, Box::pin(read_body(body, limit))).await
}

/// Awaits `stage` until the deadline; past it the stage is dropped and the answer is 504.
/// A stage that finishes at its first poll (most hooks and handlers) never registers a
/// timer, nor reads the clock again: the timer is only set for a stage that has to wait,
/// for what is left of the timeout (never less, so a deadline may fire a tick or two of
/// the coarse clock late, never early).
async fn within<F: Future>(
    deadline: Option<&Deadline<'_>>,
    stage: F,
) -> Result<F::Output, Response> {
    let Some(deadline) = deadline else {
        return Ok(stage.await);
    };
    let mut stage = std::pin::pin!(stage);
    let first = std::future::poll_fn(|cx| match stage.as_mut().poll(cx) {
        std::task::Poll::Ready(output) => std::task::Poll::Ready(Some(output)),
        std::task::Poll::Pending => std::task::Poll::Ready(None),
    });
    if let Some(output) = first.await {
        return Ok(output);
    }
    let left = deadline
        .timeout
        .saturating_sub(coarse_clock::at_least_since(deadline.started));
    tokio::time::timeout(left, stage).await.map_err(|_| {
        tracing::warn!(
            route = deadline.template,
            timeout = ?deadline.timeout,
            "request timed out"
        );
        error_response(StatusCode::GATEWAY_TIMEOUT, "request timed out")
    })
}

/// Applies the failure policy to a hook's result; `None` means the breaker skipped the
/// call, which counts as a failure without logging each request.
fn judge(link: &ChainLink, template: &str, phase: &str, result: Option<RequestOutcome>) -> Outcome {
    match result {
        Some(RequestOutcome::Continue) => Outcome::Continue,
        Some(RequestOutcome::Answer(Ok(response))) => {
            link.stats.answers.add(1);
            Outcome::Answer(response)
        }
        Some(RequestOutcome::Answer(Err(invalid))) => {
            link.stats.errors.add(1);
            tracing::error!(extension = &*link.extension, "{invalid}");
            Outcome::Answer(error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal server error",
            ))
        }
        Some(RequestOutcome::Failed(error)) => {
            link.stats.errors.add(1);
            if error.panicked {
                link.stats.panics.add(1);
                link.breaker.record_panic();
            }
            tracing::error!(
                extension = &*link.extension,
                route = template,
                panicked = error.panicked,
                fail_open = link.fail_open,
                "{phase} hook failed: {}",
                error.message
            );
            policy(link)
        }
        None => policy(link),
    }
}

fn policy(link: &ChainLink) -> Outcome {
    if link.fail_open {
        Outcome::Continue
    } else {
        Outcome::Failed(error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal server error",
        ))
    }
}
