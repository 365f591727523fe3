//! WebSocket sessions from handlers: [`Request::websocket`] checks that the request asks for
//! an upgrade and gives a [`WebSocketUpgrade`], whose [`on_upgrade`](WebSocketUpgrade::on_upgrade)
//! answers 101 and runs the session once hyper hands the connection over.
//!
//! The upgrade request is a request like any other: the route's request hooks judge it (an
//! auth extension may refuse it) and its 101 answer passes the response hooks. The session
//! runs on the connection hyper served, so `app.send_timeout` still bounds its writes, and it
//! keeps the connection's place among `app.max_connections` until it ends.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};

use super::handler::{IntoResponse, Request, Response, error_response};
use super::upgrade::{ConnectionLease, WebSocketLimits};

/// After the server closes a session, how long it keeps reading (and discarding) what the
/// client still sends, so the client reads the close frame before the socket goes away (a
/// socket closed with unread bytes is reset, and a reset can lose what was sent before it).
const LINGER: Duration = Duration::from_secs(5);

/// A close frame's payload is at most 125 bytes, two of them the code (RFC 6455).
const MAX_CLOSE_REASON: usize = 123;

/// The one WebSocket version there is (RFC 6455).
const VERSION: &str = "13";

impl Request {
    /// Checks that this request asks for a WebSocket (`GET`, `Connection: upgrade`,
    /// `Upgrade: websocket`, `Sec-WebSocket-Version: 13`, a `Sec-WebSocket-Key`) on a
    /// connection that can be upgraded (HTTP/1.1). The refusal says what is missing: 405 for
    /// another method, 426 for a request that does not ask for a WebSocket (or asks for
    /// another version), 400 for a missing or malformed key.
    pub fn websocket(&mut self) -> Result<WebSocketUpgrade, UpgradeRejection> {
        let parts = &mut self.parts;
        if parts.method != Method::GET {
            return Err(UpgradeRejection::MethodNotGet);
        }
        let headers = &parts.headers;
        if !has_token(headers, header::CONNECTION, "upgrade")
            || !has_token(headers, header::UPGRADE, "websocket")
        {
            return Err(UpgradeRejection::NotUpgrade);
        }
        if headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_none_or(|version| version != VERSION)
        {
            return Err(UpgradeRejection::Version);
        }
        let key = match headers.get(header::SEC_WEBSOCKET_KEY) {
            Some(key) if is_key(key.as_bytes()) => key,
            _ => return Err(UpgradeRejection::Key),
        };
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        let accept = HeaderValue::from_str(&accept).map_err(|_| UpgradeRejection::Key)?;
        // hyper gives an upgradable request its `OnUpgrade`; HTTP/2 and HTTP/1.0 requests
        // have none.
        let on_upgrade =
            (parts.extensions.remove::<OnUpgrade>()).ok_or(UpgradeRejection::NotUpgrade)?;
        let lease = parts.extensions.remove::<ConnectionLease>();
        let limits = lease.as_ref().map(|lease| lease.limits).unwrap_or_default();
        Ok(WebSocketUpgrade {
            accept,
            on_upgrade,
            lease,
            limits,
        })
    }
}

/// Whether one of the `name` headers lists `token` (comma-separated, any case).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value
                .split(',')
                .any(|item| item.trim().eq_ignore_ascii_case(token))
        })
    })
}

/// A `Sec-WebSocket-Key`: 16 bytes in base64, 24 characters ending in `==`.
fn is_key(key: &[u8]) -> bool {
    key.len() == 24
        && key.ends_with(b"==")
        && key[..22]
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/'))
}

/// Why a request is not a WebSocket upgrade; answered in the JSON error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeRejection {
    /// 405: an upgrade is a `GET`.
    MethodNotGet,
    /// 426: no `Connection: upgrade` and `Upgrade: websocket`, or a connection that cannot
    /// be upgraded (HTTP/2).
    NotUpgrade,
    /// 426: a `Sec-WebSocket-Version` other than 13.
    Version,
    /// 400: no `Sec-WebSocket-Key`, or not 16 bytes in base64.
    Key,
}

impl UpgradeRejection {
    pub fn status(&self) -> StatusCode {
        match self {
            UpgradeRejection::MethodNotGet => StatusCode::METHOD_NOT_ALLOWED,
            UpgradeRejection::NotUpgrade | UpgradeRejection::Version => {
                StatusCode::UPGRADE_REQUIRED
            }
            UpgradeRejection::Key => StatusCode::BAD_REQUEST,
        }
    }
}

impl std::fmt::Display for UpgradeRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UpgradeRejection::MethodNotGet => "a websocket upgrade must be a GET request",
            UpgradeRejection::NotUpgrade => {
                "this endpoint speaks websocket only: send `Connection: upgrade` and \
                 `Upgrade: websocket` over HTTP/1.1"
            }
            UpgradeRejection::Version => "only websocket version 13 is supported",
            UpgradeRejection::Key => "missing or malformed Sec-WebSocket-Key",
        })
    }
}

impl std::error::Error for UpgradeRejection {}

impl IntoResponse for UpgradeRejection {
    fn into_response(self) -> Response {
        let mut response = error_response(self.status(), &self.to_string());
        let headers = response.headers_mut();
        match self {
            UpgradeRejection::MethodNotGet => {
                headers.insert(header::ALLOW, HeaderValue::from_static("GET"));
            }
            // RFC 9110: a 426 names the protocol to switch to; RFC 6455: and the version.
            UpgradeRejection::NotUpgrade | UpgradeRejection::Version => {
                headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
                headers.insert(
                    header::SEC_WEBSOCKET_VERSION,
                    HeaderValue::from_static(VERSION),
                );
            }
            UpgradeRejection::Key => {}
        }
        response
    }
}

/// A request that may become a WebSocket: answer with [`on_upgrade`](Self::on_upgrade).
/// The limits start at `app.websocket_max_message_bytes` and `app.websocket_idle_timeout`.
#[derive(Debug)]
pub struct WebSocketUpgrade {
    accept: HeaderValue,
    on_upgrade: OnUpgrade,
    lease: Option<ConnectionLease>,
    limits: WebSocketLimits,
}

impl WebSocketUpgrade {
    /// The largest message (and frame) this session takes; a larger one closes the socket
    /// with 1009 (message too big).
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_message_bytes = bytes;
        self
    }

    /// How long the session may go without a message either way before the socket is
    /// closed with 1001 (going away); `None` keeps it open.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// Answers 101 and, once hyper hands the connection over, runs `session` with the
    /// socket. If the 101 does not reach the client (a response hook replaced it, the client
    /// left), the session never starts. A server that stops waiting for its connections
    /// (the end of the shutdown grace) drops the session.
    pub fn on_upgrade<F, Fut>(self, session: F) -> Response
    where
        F: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let WebSocketUpgrade {
            accept,
            on_upgrade,
            lease,
            limits,
        } = self;
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(error) => {
                    tracing::debug!(%error, "the connection was not upgraded to a websocket");
                    return;
                }
            };
            let config = WebSocketConfig::default()
                .max_message_size(Some(limits.max_message_bytes))
                .max_frame_size(Some(limits.max_message_bytes));
            let stream = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(config),
            )
            .await;
            let socket = WebSocket {
                stream,
                idle_timeout: limits.idle_timeout,
                last_message: Instant::now(),
                open: true,
            };
            match &lease {
                Some(lease) => {
                    tokio::select! {
                        () = session(socket) => {}
                        () = lease.closing() => {
                            tracing::debug!("websocket dropped: the server stopped waiting for it");
                        }
                    }
                }
                None => session(socket).await,
            }
            // The connection's place among `max_connections` is given back only now.
            drop(lease);
        });
        let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        response
    }
}

/// A message of a WebSocket session. Pings are answered and closes handled by the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Text(String),
    Binary(Bytes),
}

impl From<Message> for tungstenite::Message {
    fn from(message: Message) -> Self {
        match message {
            Message::Text(text) => tungstenite::Message::Text(text.into()),
            Message::Binary(bytes) => tungstenite::Message::Binary(bytes),
        }
    }
}

/// A WebSocket session's socket: [`recv`](Self::recv) the client's messages, [`send`](Self::send)
/// yours, [`close`](Self::close) when done. The session's limits are enforced while it waits
/// in `recv`: a message over the size limit closes the socket with 1009, and no message
/// either way for the idle timeout closes it with 1001. Dropping the socket without `close`
/// ends the connection without a close frame.
#[derive(Debug)]
pub struct WebSocket {
    stream: WebSocketStream<TokioIo<Upgraded>>,
    idle_timeout: Option<Duration>,
    /// When a message last went either way.
    last_message: Instant,
    open: bool,
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
#[error("websocket: {0}")]
pub struct WebSocketError(#[from] tungstenite::Error);

impl WebSocket {
    /// The client's next text or binary message; `None` once the session is over (the
    /// client closed it, it broke a limit, or the connection failed). Cancel-safe: it may
    /// race other futures in a `select!`.
    pub async fn recv(&mut self) -> Option<Message> {
        while self.open {
            let next = match self.idle_timeout {
                Some(idle) => {
                    let deadline = self.last_message + idle;
                    match tokio::time::timeout_at(deadline, self.stream.next()).await {
                        Ok(next) => next,
                        Err(_) => {
                            tracing::debug!(?idle, "websocket idle; closed");
                            self.close_with(CloseCode::Away, "idle timeout").await;
                            return None;
                        }
                    }
                }
                None => self.stream.next().await,
            };
            let frame = match next {
                Some(Ok(frame)) => frame,
                Some(Err(error)) => {
                    self.failed(error).await;
                    return None;
                }
                None => {
                    self.open = false;
                    return None;
                }
            };
            self.last_message = Instant::now();
            match frame {
                tungstenite::Message::Text(text) => return Some(Message::Text(text.to_string())),
                tungstenite::Message::Binary(bytes) => return Some(Message::Binary(bytes)),
                tungstenite::Message::Close(_) => {
                    // The client closed: the reply tungstenite queued is flushed (the
                    // sink's close; sending a close now would be refused), and the server
                    // closes the connection first (RFC 6455).
                    let _ = SinkExt::close(&mut self.stream).await;
                    self.open = false;
                }
                tungstenite::Message::Ping(_)
                | tungstenite::Message::Pong(_)
                | tungstenite::Message::Frame(_) => {}
            }
        }
        None
    }

    /// Sends a message (flushed).
    pub async fn send(&mut self, message: Message) -> Result<(), WebSocketError> {
        self.stream.send(message.into()).await?;
        self.last_message = Instant::now();
        Ok(())
    }

    /// Closes the session with a normal close (1000) and `reason` (cut to the 123 bytes a
    /// close frame has room for).
    pub async fn close(mut self, reason: &str) {
        let mut end = reason.len().min(MAX_CLOSE_REASON);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        self.close_with(CloseCode::Normal, &reason[..end]).await;
    }

    /// A read failed: a message over the limit, a protocol error or a broken connection.
    async fn failed(&mut self, error: tungstenite::Error) {
        let (code, reason) = match &error {
            tungstenite::Error::Capacity(_) => (CloseCode::Size, "message too big"),
            tungstenite::Error::Utf8(_) => (CloseCode::Invalid, "invalid utf-8 text"),
            tungstenite::Error::Protocol(_) => (CloseCode::Protocol, "protocol error"),
            _ => {
                tracing::debug!(%error, "websocket ended");
                self.open = false;
                return;
            }
        };
        tracing::debug!(%error, "websocket refused a message; closed");
        self.close_with(code, reason).await;
    }

    /// Sends a close frame, stops writing, and reads away what the client still sends until
    /// it closes too (for at most [`LINGER`]).
    async fn close_with(&mut self, code: CloseCode, reason: &str) {
        if !self.open {
            return;
        }
        self.open = false;
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        if self.stream.close(Some(frame)).await.is_err() {
            return;
        }
        let socket = self.stream.get_mut();
        if socket.shutdown().await.is_err() {
            return;
        }
        let linger = async {
            let mut discard = [0u8; 4096];
            while matches!(socket.read(&mut discard).await, Ok(1..)) {}
        };
        let _ = tokio::time::timeout(LINGER, linger).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_16_bytes_of_base64() {
        // The sample key of RFC 6455, section 1.3.
        assert!(is_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_key(b"dGhlIHNhbXBsZSBub25jZQ"));
        assert!(!is_key(b"dGhlIHNhbXBsZSBub25jZQ=x"));
        assert!(!is_key(b"dGhlIHNhbXBsZSBub25j*Q=="));
        assert!(!is_key(b""));
    }

    #[test]
    fn connection_tokens_are_read_from_lists_in_any_case() {
        let mut headers = HeaderMap::new();
        headers.append(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        assert!(!has_token(&headers, header::CONNECTION, "upgrade"));
        headers.append(
            header::CONNECTION,
            HeaderValue::from_static("close, Upgrade"),
        );
        assert!(has_token(&headers, header::CONNECTION, "upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
        assert!(!has_token(&headers, header::UPGRADE, "websocket"));
    }

    #[test]
    fn refusals_name_their_status() {
        assert_eq!(UpgradeRejection::MethodNotGet.status(), 405);
        assert_eq!(UpgradeRejection::NotUpgrade.status(), 426);
        assert_eq!(UpgradeRejection::Version.status(), 426);
        assert_eq!(UpgradeRejection::Key.status(), 400);
        let answer = UpgradeRejection::Version.into_response();
        assert_eq!(answer.headers()[header::SEC_WEBSOCKET_VERSION], "13");
        assert_eq!(answer.headers()[header::UPGRADE], "websocket");
    }
}
