//! Server-sent events: an answer that stays open and sends events as they happen
//! (`text/event-stream`), for browsers' `EventSource` and any HTTP client that reads a
//! stream.
//!
//! ```
//! use std::time::Duration;
//!
//! use beginnings::routing::{Event, Sse};
//! use beginnings::{Request, Router};
//! use futures_util::StreamExt;
//!
//! // `Sse` without a type names a boxed stream ([`Sse::boxed`]); `impl IntoResponse` works too.
//! async fn ticks(_request: Request) -> Sse {
//!     let events = futures_util::stream::iter(1..=3)
//!         .map(|n| Event::new().event("tick").id(n.to_string()).data(n.to_string()));
//!     Sse::new(events).keep_alive(Duration::from_secs(10)).boxed()
//! }
//!
//! let router: Router = Router::new("/api").get("/ticks", ticks);
//! ```
//!
//! The answer passes through the route's extensions like any other: request hooks (auth, rate
//! limits) judge the request that opens the stream, response hooks see its status and headers
//! before the first event is sent. While no event comes, a comment line (`:`) is sent every
//! 15 seconds (or as set with [`Sse::keep_alive`]), so proxies and the client see the stream
//! alive and a client that left is noticed at the next write. The stream ends when the
//! events' stream ends, when the server drains (shutdown, handover: the client reconnects),
//! and is dropped when the client goes away.

use std::fmt::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use http::{HeaderValue, header};
use tokio::time::{Instant, Sleep};

use super::body::Body;
use super::handler::{IntoResponse, Response};

/// Marks an answer that never ends by itself: when the server drains, the server ends it
/// (cleanly, so an `EventSource` reconnects, to another instance) instead of waiting out
/// the shutdown grace for it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EndsOnDrain;

/// How often a comment is sent while no event comes, unless set otherwise.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One event: optional name, id and retry hint, and its data (lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    text: String,
    has_data: bool,
}

impl Event {
    pub fn new() -> Self {
        Event::default()
    }

    /// The event's type (`event:`), which `EventSource` dispatches on (`message` when absent).
    /// Line breaks become spaces: a field cannot be split into a second, forged field.
    pub fn event(self, name: impl AsRef<str>) -> Self {
        self.field("event", name.as_ref())
    }

    /// The event's id (`id:`); the browser sends the last one back as `Last-Event-ID` when
    /// it reconnects. Line breaks become spaces.
    pub fn id(self, id: impl AsRef<str>) -> Self {
        self.field("id", id.as_ref())
    }

    /// How long the client waits before reconnecting (`retry:`).
    pub fn retry(mut self, after: Duration) -> Self {
        let _ = writeln!(self.text, "retry: {}", after.as_millis());
        self
    }

    /// Data (`data:`), one `data:` line per line of `text`; called again, more lines of the
    /// same event's data.
    pub fn data(mut self, text: impl AsRef<str>) -> Self {
        for line in text.as_ref().split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let _ = writeln!(self.text, "data: {line}");
        }
        self.has_data = true;
        self
    }

    /// `value` as JSON data.
    pub fn json_data<T: serde::Serialize>(self, value: &T) -> Result<Self, serde_json::Error> {
        Ok(self.data(serde_json::to_string(value)?))
    }

    /// A comment line (`: text`), which clients ignore.
    pub fn comment(mut self, text: impl AsRef<str>) -> Self {
        let _ = writeln!(self.text, ": {}", one_line(text.as_ref()));
        self
    }

    fn field(mut self, name: &str, value: &str) -> Self {
        let _ = writeln!(self.text, "{name}: {}", one_line(value));
        self
    }

    /// The event as sent: its lines and the blank line that ends it. An event without
    /// data gets an empty `data:` line, so that `EventSource` dispatches it.
    fn into_bytes(mut self) -> Bytes {
        if !self.has_data && !self.text.lines().all(|line| line.starts_with(':')) {
            self.text.push_str("data:\n");
        }
        self.text.push('\n');
        Bytes::from(self.text)
    }
}

fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\n', '\r']) {
        text.replace(['\n', '\r'], " ").into()
    } else {
        text.into()
    }
}

/// A server-sent events answer from a stream of [`Event`]s ([module docs](self)).
pub struct Sse<S = Pin<Box<dyn Stream<Item = Event> + Send>>> {
    events: S,
    keep_alive: Option<Duration>,
}

impl<S> Sse<S>
where
    S: Stream<Item = Event> + Send + 'static,
{
    /// Sends each event of `events` as it comes, with a keep-alive comment every
    /// [`DEFAULT_KEEP_ALIVE`] while none comes.
    pub fn new(events: S) -> Self {
        Sse {
            events,
            keep_alive: Some(DEFAULT_KEEP_ALIVE),
        }
    }

    /// The longest silence before a keep-alive comment is sent.
    pub fn keep_alive(mut self, every: Duration) -> Self {
        self.keep_alive = Some(every);
        self
    }

    /// No keep-alive comments: the stream is silent between events.
    pub fn without_keep_alive(mut self) -> Self {
        self.keep_alive = None;
        self
    }

    /// Type-erases the events' stream (to return one type from several branches).
    pub fn boxed(self) -> Sse {
        Sse {
            events: Box::pin(self.events),
            keep_alive: self.keep_alive,
        }
    }
}

impl<S> std::fmt::Debug for Sse<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sse")
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}

impl<S> IntoResponse for Sse<S>
where
    S: Stream<Item = Event> + Send + 'static,
{
    fn into_response(self) -> Response {
        let chunks = EventChunks {
            events: Box::pin(self.events),
            keep_alive: self
                .keep_alive
                .map(|every| (every, Box::pin(tokio::time::sleep(every)))),
        };
        let mut response = Response::new(Body::from_stream(chunks));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        // nginx would otherwise hold the events back in its buffer.
        headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        response.extensions_mut().insert(EndsOnDrain);
        response
    }
}

/// The events as bytes, with a comment whenever the keep-alive interval passes silently.
struct EventChunks {
    events: Pin<Box<dyn Stream<Item = Event> + Send>>,
    keep_alive: Option<(Duration, Pin<Box<Sleep>>)>,
}

impl Stream for EventChunks {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match this.events.as_mut().poll_next(cx) {
            Poll::Ready(Some(event)) => {
                if let Some((every, sleep)) = &mut this.keep_alive {
                    sleep.as_mut().reset(Instant::now() + *every);
                }
                return Poll::Ready(Some(Ok(event.into_bytes())));
            }
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        if let Some((every, sleep)) = &mut this.keep_alive
            && sleep.as_mut().poll(cx).is_ready()
        {
            sleep.as_mut().reset(Instant::now() + *every);
            return Poll::Ready(Some(Ok(Bytes::from_static(b":\n\n"))));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn events_are_written_in_the_wire_format() {
        let event = Event::new()
            .event("post")
            .id("7")
            .data("first line\nsecond line")
            .into_bytes();
        assert_eq!(
            event,
            "event: post\nid: 7\ndata: first line\ndata: second line\n\n"
        );
        // A line break in a field cannot forge another field.
        let forged = Event::new().event("x\ndata: forged").data("d").into_bytes();
        assert_eq!(forged, "event: x data: forged\ndata: d\n\n");
        assert_eq!(Event::new().id("1").into_bytes(), "id: 1\ndata:\n\n");
        assert_eq!(Event::new().comment("hi").into_bytes(), ": hi\n\n");
    }

    #[tokio::test]
    async fn silence_is_filled_with_keep_alive_comments_and_the_end_ends_the_answer() {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<Event>();
        let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|event| (event, receiver))
        });
        let response = Sse::new(events)
            .keep_alive(Duration::from_millis(20))
            .into_response();
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert_eq!(response.headers()["cache-control"], "no-cache");
        let mut body = response.into_body();
        // Nothing to send: after the interval, a comment.
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), ":\n\n");
        sender.send(Event::new().data("hello")).unwrap();
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "data: hello\n\n");
        drop(sender);
        assert!(body.frame().await.is_none());
    }
}
