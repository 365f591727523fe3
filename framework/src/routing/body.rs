//! The body of an answer: bytes held whole, or a stream the server sends as it comes.
//!
//! A whole body is the common case (JSON, HTML, error answers) and costs what a
//! `Full<Bytes>` costs: no box, no allocation, an exact size. Only a stream (a file read from
//! disk, server-sent events, any `http_body::Body` a handler hands over) is boxed.
//!
//! Extensions' response hooks see an answer's status and headers, never its body (the
//! response view's body is empty), so nothing an extension does makes a stream buffer.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use http_body::{Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, StreamBody};

/// Why a streamed body stopped early; the server ends the answer (HTTP/1.1: closes the
/// connection, HTTP/2: resets the stream) so the client sees it is incomplete.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of every answer.
///
/// ```
/// use beginnings::routing::Body;
/// use bytes::Bytes;
/// use http_body::Body as _;
///
/// let whole = Body::from("hello");
/// assert_eq!(whole.size_hint().exact(), Some(5));
///
/// let chunks = futures_util::stream::iter([
///     Ok::<_, std::io::Error>(Bytes::from("hel")),
///     Ok(Bytes::from("lo")),
/// ]);
/// let streamed = Body::from_stream(chunks);
/// assert_eq!(streamed.size_hint().exact(), None);
/// ```
pub struct Body(Kind);

enum Kind {
    /// Empty once sent (an empty `Bytes` is static: taking it allocates nothing).
    Full(Bytes),
    Stream(UnsyncBoxBody<Bytes, BoxError>),
}

impl Body {
    /// A body of no bytes.
    pub const fn empty() -> Self {
        Body(Kind::Full(Bytes::new()))
    }

    /// Any `http_body::Body` of bytes, sent as it produces frames (boxed once).
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Body(Kind::Stream(body.map_err(Into::into).boxed_unsync()))
    }

    /// A body sent chunk by chunk as `stream` yields them; an `Err` ends the answer early.
    /// A chunk is a [`Frame`] (data or trailers) or bytes (`Bytes`, `Vec<u8>`, `String`,
    /// `&'static str`).
    pub fn from_stream<S, T, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<T, E>> + Send + 'static,
        T: Chunk,
        E: Into<BoxError> + 'static,
    {
        Body::new(StreamBody::new(
            stream.map_ok(Chunk::into_frame).map_err(Into::into),
        ))
    }

    /// The bytes of a whole body; `None` for a stream, which stays as it is.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.0 {
            Kind::Full(bytes) => Some(bytes),
            Kind::Stream(_) => None,
        }
    }

    /// Whether the body is a stream (its length unknown until it ends).
    pub fn is_stream(&self) -> bool {
        matches!(self.0, Kind::Stream(_))
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Full(bytes) => f.debug_tuple("Body::Full").field(&bytes.len()).finish(),
            Kind::Stream(_) => f.write_str("Body::Stream"),
        }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Body(Kind::Full(bytes))
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Body::from(Bytes::from(bytes))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Body::from(Bytes::from(text))
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Body::from(Bytes::from_static(text.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Self {
        Body::from(Bytes::from_static(bytes))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().0 {
            Kind::Full(bytes) if bytes.is_empty() => Poll::Ready(None),
            Kind::Full(bytes) => Poll::Ready(Some(Ok(Frame::data(std::mem::take(bytes))))),
            Kind::Stream(stream) => Pin::new(stream).poll_frame(cx),
        }
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Kind::Full(bytes) => bytes.is_empty(),
            Kind::Stream(stream) => stream.is_end_stream(),
        }
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.len() as u64),
            Kind::Stream(stream) => stream.size_hint(),
        }
    }
}

/// A chunk of a streamed body ([`Body::from_stream`]): a frame, or bytes of data.
pub trait Chunk: Send + 'static {
    fn into_frame(self) -> Frame<Bytes>;
}

impl Chunk for Frame<Bytes> {
    fn into_frame(self) -> Frame<Bytes> {
        self
    }
}

impl Chunk for Bytes {
    fn into_frame(self) -> Frame<Bytes> {
        Frame::data(self)
    }
}

impl Chunk for Vec<u8> {
    fn into_frame(self) -> Frame<Bytes> {
        Frame::data(Bytes::from(self))
    }
}

impl Chunk for String {
    fn into_frame(self) -> Frame<Bytes> {
        Frame::data(Bytes::from(self))
    }
}

impl Chunk for &'static str {
    fn into_frame(self) -> Frame<Bytes> {
        Frame::data(Bytes::from_static(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;

    #[test]
    fn a_whole_body_is_exact_and_unboxed() {
        let body = Body::from("abc");
        assert_eq!(body.size_hint().exact(), Some(3));
        assert!(!body.is_end_stream() && !body.is_stream());
        assert_eq!(body.as_bytes(), Some(&b"abc"[..]));
        let empty = Body::from(String::new());
        assert!(empty.is_end_stream());
        assert_eq!(empty.size_hint().exact(), Some(0));
        // No box and no larger than the `Full<Bytes>` answers were before.
        assert_eq!(size_of::<Body>(), size_of::<http_body_util::Full<Bytes>>());
    }

    #[tokio::test]
    async fn a_stream_is_sent_chunk_by_chunk_and_an_error_ends_it() {
        let chunks = futures_util::stream::iter([
            Ok::<_, std::io::Error>(Bytes::from("ab")),
            Ok(Bytes::from("cd")),
        ]);
        let body = Body::from_stream(chunks);
        assert!(body.is_stream() && body.as_bytes().is_none());
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abcd");

        let failing = futures_util::stream::iter([
            Ok(String::from("ab")),
            Err(std::io::Error::other("disk gone")),
        ]);
        let error = Body::from_stream(failing).collect().await.unwrap_err();
        assert_eq!(error.to_string(), "disk gone");
    }
}
