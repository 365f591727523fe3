//! Reading a request body within the route's size limit and the connection's pace: whole
//! (for the extensions that read it and for most handlers) or chunk by chunk (for a handler
//! that takes a [`BodyStream`]).

use bytes::Bytes;
use http::{StatusCode, header};
use http_body_util::BodyExt;

use super::limits::BodyPace;
use super::linger::linger;
use crate::routing::{BodyError, BodyStream, BoxError, IntoResponse, Response, error_response};

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

/// A body being read, bounded by `limit` and the connection's pace.
struct PacedBody<B> {
    /// `None` once it ended or failed.
    body: Option<B>,
    limit: usize,
    pace: BodyPace,
    started: std::time::Instant,
    last: std::time::Instant,
    received: usize,
}

impl<B: RequestBody> PacedBody<B> {
    fn new(body: B, limit: usize) -> Self {
        let started = std::time::Instant::now();
        PacedBody {
            body: Some(body),
            limit,
            pace: BodyPace::current(),
            started,
            last: started,
            received: 0,
        }
    }

    /// The next chunk of data; `Ok(None)` at the end. A body larger than `limit` fails
    /// (and what the client still sends of it is read away, so it sees the answer); so does
    /// one that pauses past `app.client_body_timeout` or falls behind
    /// `app.client_body_min_rate`.
    async fn chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        loop {
            let Some(body) = self.body.as_mut() else {
                return Ok(None);
            };
            let frame = match self
                .pace
                .next_deadline(self.started, self.last, self.received)
            {
                Some(deadline) => {
                    match tokio::time::timeout_at(deadline.into(), body.frame()).await {
                        Ok(frame) => frame,
                        Err(_) => {
                            tracing::debug!(received = self.received, "request body too slow");
                            self.body = None;
                            return Err(BodyError::timed_out());
                        }
                    }
                }
                None => body.frame().await,
            };
            let frame = match frame {
                None => {
                    self.body = None;
                    return Ok(None);
                }
                Some(Err(error)) => {
                    self.body = None;
                    let error: BoxError = error.into();
                    return Err(BodyError::broken(error));
                }
                Some(Ok(frame)) => frame,
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            self.last = std::time::Instant::now();
            self.received += data.len();
            if self.received > self.limit {
                if let Some(body) = self.body.take() {
                    linger(body);
                }
                return Err(BodyError::too_large(self.limit));
            }
            return Ok(Some(data));
        }
    }
}

/// Buffers a request body up to `limit` bytes; larger bodies are answered 413 (and what the
/// client still sends of them is read away, so it sees that answer). A body that pauses past
/// `app.client_body_timeout` or falls behind `app.client_body_min_rate` is answered 408.
pub(crate) async fn read_body<B: RequestBody>(body: B, limit: usize) -> Result<Bytes, Response> {
    let mut body = PacedBody::new(body, limit);
    // The common single-chunk body is kept as it came, without a copy.
    let mut first: Option<Bytes> = None;
    let mut more: Vec<u8> = Vec::new();
    while let Some(data) = body.chunk().await.map_err(BodyError::into_response)? {
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

/// The body for a handler that reads it as it arrives, under the same bounds as
/// [`read_body`]; nothing is read until the handler asks.
pub(crate) fn stream_body<B: RequestBody>(body: B, limit: usize) -> BodyStream {
    BodyStream::new(futures_util::stream::unfold(
        PacedBody::new(body, limit),
        |mut body| async move {
            match body.chunk().await {
                Ok(Some(data)) => Some((Ok(data), body)),
                Ok(None) => None,
                // The error is the last item: `chunk` ends the body after it.
                Err(error) => Some((Err(error), body)),
            }
        },
    ))
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
