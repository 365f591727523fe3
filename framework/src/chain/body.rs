//! Reading a request body whole, within the route's size limit and the connection's pace.

use bytes::Bytes;
use http::{StatusCode, header};
use http_body_util::BodyExt;

use super::limits::BodyPace;
use super::linger::linger;
use crate::routing::{BoxError, Response, error_response};

/// A request body a chain runs on: a connection's (`hyper::body::Incoming`), or the one an
/// application served by another server hands the tower layer.
pub(crate) trait RequestBody:
    http_body::Body<Data = Bytes, Error: Into<BoxError>> + Send + Unpin + 'static
{
}

impl<B> RequestBody for B where
    B: http_body::Body<Data = Bytes, Error: Into<BoxError>> + Send + Unpin + 'static
{
}

/// Buffers a request body up to `limit` bytes; larger bodies are answered 413 (and what the
/// client still sends of them is read away, so it sees that answer). A body that pauses past
/// `app.client_body_timeout` or falls behind `app.client_body_min_rate` is answered 408.
pub(crate) async fn read_body<B: RequestBody>(body: B, limit: usize) -> Result<Bytes, Response> {
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
                    return Err(closing_answer(
                        StatusCode::REQUEST_TIMEOUT,
                        "request body timed out",
                    ));
                }
            },
            None => body.frame().await,
        };
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|error| {
            let error: BoxError = error.into();
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
            return Err(closing_answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("request body larger than {limit} bytes"),
            ));
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

/// The 413 answer to a request whose declared length (`Content-Length`) is over `limit`,
/// before anything is read: its body is taken out of `body` and what the client still sends
/// is read away. An undeclared length is counted while the body is read.
pub(crate) fn refuse_declared<B: RequestBody>(
    headers: &http::HeaderMap,
    body: &mut Option<B>,
    limit: usize,
) -> Option<Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_none_or(|length| length <= limit as u64) {
        return None;
    }
    if let Some(body) = body.take() {
        linger(body);
    }
    let message = format!("request body larger than {limit} bytes");
    Some(closing_answer(StatusCode::PAYLOAD_TOO_LARGE, &message))
}

/// An answer to a request whose body the server stops waiting for (413, 408), after which
/// the connection closes: what the client still sends is read away (413) or not waited for.
pub(crate) fn closing_answer(status: StatusCode, message: &str) -> Response {
    let mut response = error_response(status, message);
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}
