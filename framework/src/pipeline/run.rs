//! Running a route's chain around its handler:
//! request hooks in order (any may answer early), the handler, response hooks in reverse
//! for every extension whose request side ran.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;

use abi_stable::std_types::{RErr, RNone, ROk, RSome};
use beginnings_abi::ffi::{HookError, Reply};
use bytes::Bytes;
use futures_util::FutureExt;
use http::{HeaderName, HeaderValue, StatusCode};

use super::chain::ChainLink;
use super::views::{RequestSide, ResponseSide, view};
use crate::routing::{Body, MethodEntry, Request, Response, error_response};

pub(crate) async fn run(
    entry: &MethodEntry,
    template: &str,
    mut parts: http::request::Parts,
    body: Bytes,
    params: Vec<(String, String)>,
    peer: Option<SocketAddr>,
) -> Response {
    let links = &entry.chain.links;
    // How many links, from the start, get their response hook.
    let mut ran = links.len();
    let mut early = None;
    {
        let mut side = RequestSide {
            parts: &mut parts,
            peer,
        };
        for (index, link) in links.iter().enumerate() {
            if !link.on_request {
                continue;
            }
            match link.filter.on_request(view(&mut side)) {
                ROk(RNone) => {}
                ROk(RSome(reply)) => {
                    ran = index + 1;
                    early = Some(into_response(reply, link));
                    break;
                }
                RErr(error) => {
                    // The failed extension's own response hook is skipped.
                    ran = index;
                    early = Some(hook_failed(link, template, "request", &error));
                    break;
                }
            }
        }
    }
    let method = parts.method.clone();
    let uri = parts.uri.clone();
    let mut response = match early {
        Some(response) => response,
        None => {
            let request = Request {
                parts,
                body,
                params,
            };
            match AssertUnwindSafe((entry.handler)(request))
                .catch_unwind()
                .await
            {
                Ok(response) => response,
                Err(_) => {
                    tracing::error!(route = template, "handler panicked");
                    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
                }
            }
        }
    };
    for link in links[..ran].iter().rev() {
        if !link.on_response {
            continue;
        }
        let mut side = ResponseSide {
            method: &method,
            uri: &uri,
            response: &mut response,
            peer,
        };
        if let RErr(error) = link.filter.on_response(view(&mut side)) {
            response = hook_failed(link, template, "response", &error);
        }
    }
    response
}

/// Fails closed: a hook that errs or panics gets the request a 500, never a half-processed
/// pass-through.
fn hook_failed(link: &ChainLink, template: &str, phase: &str, error: &HookError) -> Response {
    tracing::error!(
        extension = &*link.extension,
        route = template,
        panicked = error.panicked,
        "{phase} hook failed: {}",
        error.message
    );
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
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
