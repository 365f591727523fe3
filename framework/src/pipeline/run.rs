//! Running a route's chain around its handler: request hooks in order (any may answer
//! early), the handler, then response hooks in reverse for every extension whose request
//! side ran. A failing hook answers 500 unless the route says `on_error: open` for it.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use abi_stable::std_types::{RErr, RNone, ROk, ROption, RSome};
use beginnings_abi::ffi::{HookError, HookResult, Reply, StatePtr, caps};
use bytes::Bytes;
use futures_util::FutureExt;
use http::{HeaderName, HeaderValue, StatusCode};

use super::chain::{Chain, ChainLink};
use crate::loader::views::{RequestSide, RequestValues, ResponseSide, Timings, view};

thread_local! {
    /// The `Server-Timing` name of the handler, shared rather than allocated per request.
    static HANDLER_TIMING: Arc<str> = Arc::from("handler");
}
use crate::routing::{Body, MethodEntry, Request, RequestId, Response, error_response};
use crate::server::read_body;

/// The per-request states of a chain's stateful filters, freed in the library that made
/// them when the request ends, however it ends (answered, timed out, client gone).
pub(super) struct States<'a> {
    chain: &'a Chain,
    states: Vec<StatePtr>,
}

impl<'a> States<'a> {
    pub(super) fn new(chain: &'a Chain) -> Self {
        let states = if chain.has_state {
            chain
                .links
                .iter()
                .map(|link| {
                    if link.has(caps::PER_REQUEST_STATE) {
                        link.filter.new_state()
                    } else {
                        StatePtr::NONE
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        States { chain, states }
    }

    pub(super) fn get(&self, index: usize) -> StatePtr {
        self.states.get(index).copied().unwrap_or(StatePtr::NONE)
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

/// A request as the server hands it to its route's chain.
pub(crate) struct Incoming {
    pub parts: http::request::Parts,
    pub body: hyper::body::Incoming,
    /// The route template's parameters (`{id}`), in order.
    pub params: Vec<(String, String)>,
    pub peer: Option<SocketAddr>,
    pub request_id: Option<RequestId>,
}

pub(crate) async fn run(
    entry: &MethodEntry,
    template: &str,
    request: Incoming,
    max_body_bytes: usize,
) -> Response {
    let Incoming {
        mut parts,
        body,
        params,
        peer,
        request_id,
    } = request;
    let id_text = request_id.as_ref().map_or("", RequestId::as_str);
    let chain = &entry.chain;
    let links = &chain.links;
    let started_ns = crate::loader::monotonic_ns();
    // Timing every hook costs two clock reads each; only profiled routes pay it.
    let timings = chain.profile.then(|| Mutex::new(Timings::default()));
    let clock = || timings.as_ref().map(|_| Instant::now());
    let timed = |name: &Arc<str>, since: Option<Instant>| {
        if let (Some(timings), Some(since)) = (&timings, since) {
            timings.lock().0.push((name.clone(), since.elapsed()));
        }
    };
    let states = States::new(chain);
    let mut values = RequestValues::default();
    // The body is read before the hooks only when one of them reads it.
    let mut body = Some(body);
    let mut buffered = Bytes::new();
    if chain.needs_body {
        match read_body(body.take().expect("body not read yet"), max_body_bytes).await {
            Ok(bytes) => buffered = bytes,
            Err(response) => return response,
        }
    }
    // How many links, from the start, get their response hook.
    let mut ran = links.len();
    let mut early = None;
    {
        let mut side = RequestSide {
            values: &mut values,
            route: template,
            request_id: id_text,
            started_ns,
            timings: timings.as_ref(),
            parts: &mut parts,
            peer,
            body: &buffered,
        };
        for (index, link) in links.iter().enumerate() {
            if !link.has(caps::ON_REQUEST) {
                continue;
            }
            let state = states.get(index);
            let hook_started = clock();
            let result = if link.breaker.is_tripped() {
                None
            } else if link.has(caps::ON_REQUEST_ASYNC) {
                let future = link.filter.on_request_async(state, view(&mut side));
                Some(flatten_panic(AssertUnwindSafe(future).catch_unwind().await))
            } else {
                Some(link.filter.on_request(state, view(&mut side)))
            };
            timed(&link.timing_name, hook_started);
            match judge(link, template, "request", result) {
                Outcome::Continue => {}
                Outcome::Answer(response) => {
                    ran = index + 1;
                    early = Some(response);
                    break;
                }
                Outcome::Failed(response) => {
                    ran = index;
                    early = Some(response);
                    break;
                }
            }
        }
    }
    let method = parts.method.clone();
    let uri = parts.uri.clone();
    // Shared by the handler and the response hooks; most requests carry none.
    let values = (!values.is_empty()).then(|| Arc::new(values));
    let mut response = match early {
        Some(response) => response,
        None => {
            let body = match body {
                Some(body) => match read_body(body, max_body_bytes).await {
                    Ok(bytes) => bytes,
                    Err(response) => return response,
                },
                None => buffered,
            };
            let request = Request {
                parts,
                body,
                params,
                request_id: request_id.clone(),
                values: values.clone(),
            };
            let handler_started = clock();
            let answered = AssertUnwindSafe((entry.handler)(request))
                .catch_unwind()
                .await;
            if handler_started.is_some() {
                timed(&HANDLER_TIMING.with(Arc::clone), handler_started);
            }
            match answered {
                Ok(response) => response,
                Err(_) => {
                    tracing::error!(route = template, "handler panicked");
                    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
                }
            }
        }
    };
    for (index, link) in links[..ran].iter().enumerate().rev() {
        if !link.has(caps::ON_RESPONSE) || link.breaker.is_tripped() {
            continue;
        }
        let hook_started = clock();
        let mut side = ResponseSide {
            route: template,
            started_ns,
            timings: timings.as_ref(),
            request_id: id_text,
            method: &method,
            uri: &uri,
            response: &mut response,
            peer,
            values: values.as_deref(),
        };
        let result = link.filter.on_response(states.get(index), view(&mut side));
        timed(&link.timing_name, hook_started);
        let result = Some(result.map(|()| RNone));
        if let Outcome::Failed(failed) = judge(link, template, "response", result) {
            response = failed;
        }
    }
    response
}

/// A panic while polling an FFI future (outside the SDK's own guard) becomes an error.
fn flatten_panic(
    polled: std::thread::Result<HookResult<ROption<Reply>>>,
) -> HookResult<ROption<Reply>> {
    polled.unwrap_or_else(|_| {
        RErr(HookError {
            panicked: true,
            message: "panicked while being polled".into(),
        })
    })
}

/// Applies the failure policy to a hook's result; `None` means the breaker skipped the
/// call, which counts as a failure without logging each request.
fn judge(
    link: &ChainLink,
    template: &str,
    phase: &str,
    result: Option<HookResult<ROption<Reply>>>,
) -> Outcome {
    match result {
        Some(ROk(RNone)) => Outcome::Continue,
        Some(ROk(RSome(reply))) => Outcome::Answer(into_response(reply, link)),
        Some(RErr(error)) => {
            if error.panicked {
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

fn into_response(reply: Reply, link: &ChainLink) -> Response {
    let Ok(status) = StatusCode::from_u16(reply.status) else {
        tracing::error!(
            extension = &*link.extension,
            "answered with invalid status {}",
            reply.status
        );
        return error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal server error");
    };
    let mut response = Response::new(Body::new(Bytes::from(reply.body.into_vec())));
    *response.status_mut() = status;
    for pair in reply.headers.iter() {
        let (name, value) = (&pair.0, &pair.1);
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value.as_str()),
        ) {
            (Ok(name), Ok(value)) => {
                response.headers_mut().append(name, value);
            }
            _ => {
                tracing::error!(
                    extension = &*link.extension,
                    "answered with invalid header {name:?}: {value:?}"
                );
                return error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal server error");
            }
        }
    }
    response
}
