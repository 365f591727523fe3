//! The HTTP/1.1 and h2c builders every listener serves with, under the connection limits of
//! `app`, and how a new connection's protocol is told from its first bytes.
//!
//! hyper-util's automatic builder would tell the two apart itself, by reading the first
//! bytes and handing them to HTTP/1.1 apart from the rest; hyper's read buffer then grows to
//! twice its size, which every idle kept-alive connection keeps (about 7 KB each; with
//! upgrades it reads them even when told to serve HTTP/1.1 only). Peeking at the bytes,
//! without taking them from the socket, leaves them whole to hyper's builder of the protocol
//! they belong to.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::rt::{Read, Write};
use hyper::server::conn::{http1, http2};
use hyper::service::HttpService;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::connection::Stop;

use crate::config::AppConfig;

/// The protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Http1,
    /// HTTP/2 with prior knowledge (h2c): the client sent the connection preface.
    Http2,
}

/// hyper's builder of each protocol, with the connection limits of `app`.
#[derive(Clone)]
pub(crate) struct Builders {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
}

/// The builders with the connection limits of `app`.
pub(crate) fn http_builders(app: &AppConfig) -> Builders {
    let mut http1 = http1::Builder::new();
    http1
        .keep_alive(app.keep_alive)
        // The request line and headers must fit: larger heads are answered 431.
        .max_buf_size(app.max_header_bytes)
        // A client that does not send a whole head in time is disconnected, and while a
        // kept-alive connection waits for its next request the same clock runs; the loop
        // that drives each connection keeps that clock (`Waits::for_http1`). hyper's own
        // would make, arm and drop a timer on every request.
        .header_read_timeout(None);
    let mut http2 = http2::Builder::new(TokioExecutor::new());
    http2
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(app.max_header_bytes).unwrap_or(u32::MAX));
    Builders { http1, http2 }
}

impl Builders {
    /// For a listener whose connections no loop drives (the metrics listener): hyper's own
    /// timer bounds each request head.
    pub fn with_hyper_head_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.http1
            .timer(TokioTimer::new())
            .header_read_timeout(timeout);
        self
    }
}

/// A socket hyper serves either protocol on.
pub(crate) trait Socket: Read + Write + Unpin + Send + 'static {}

impl<I: Read + Write + Unpin + Send + 'static> Socket for I {}

/// A service hyper serves either protocol with: its futures and answer bodies may move to
/// other threads (HTTP/2 runs each stream as a task).
pub(crate) trait ConnectionService:
    HttpService<
        Incoming,
        Future: Send + 'static,
        ResBody: Body<Data: Send, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
                     + Send
                     + 'static,
    >
{
}

impl<S> ConnectionService for S where
    S: HttpService<
            Incoming,
            Future: Send + 'static,
            ResBody: Body<Data: Send, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
                         + Send
                         + 'static,
        >
{
}

impl Builders {
    /// Serves `io`, which speaks `protocol`, with `service`; an HTTP/1.1 connection may be
    /// upgraded (a WebSocket).
    pub fn serve<I: Socket, S: ConnectionService>(
        &self,
        protocol: Protocol,
        io: I,
        service: S,
    ) -> Served<I, S> {
        match protocol {
            Protocol::Http1 => Served::Http1(Box::pin(
                self.http1.serve_connection(io, service).with_upgrades(),
            )),
            Protocol::Http2 => Served::Http2(Box::pin(self.http2.serve_connection(io, service))),
        }
    }
}

/// A connection of either protocol, served by hyper's builder for it. Each is boxed on its
/// own: an HTTP/2 connection's state is several times an HTTP/1.1 one's, and one box sized
/// for either would make every kept-alive HTTP/1.1 connection hold room for HTTP/2.
pub(crate) enum Served<I, S>
where
    S: HttpService<Incoming>,
{
    Http1(Pin<Box<http1::UpgradeableConnection<I, S>>>),
    Http2(Pin<Box<http2::Connection<I, S, TokioExecutor>>>),
}

impl<I: Socket, S: ConnectionService> Served<I, S> {
    /// Finishes the requests in hand and closes (`Connection: close`, or a GOAWAY).
    pub fn graceful_shutdown(&mut self) {
        match self {
            Served::Http1(connection) => connection.as_mut().graceful_shutdown(),
            Served::Http2(connection) => connection.as_mut().graceful_shutdown(),
        }
    }
}

impl<I: Socket, S: ConnectionService> Future for Served<I, S> {
    type Output = hyper::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Served::Http1(connection) => connection.as_mut().poll(cx),
            Served::Http2(connection) => connection.as_mut().poll(cx),
        }
    }
}

/// The HTTP/2 connection preface a client with prior knowledge starts with (RFC 9113, 3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How long to wait before looking again at a connection whose first bytes are the start of
/// the preface and nothing more yet (a client sends the preface whole in practice); doubled
/// at each look up to [`PREFACE_PAUSE_MAX`], so a client that stops there costs a few looks
/// a second until the first-request bound closes it.
const PREFACE_PAUSE: Duration = Duration::from_millis(5);
const PREFACE_PAUSE_MAX: Duration = Duration::from_millis(200);

/// The protocol of a new connection, once it has sent its first bytes; none when it is to be
/// closed instead: nothing came within `wait` (the header-read bound on a first request),
/// the socket failed, or the server stopped waiting for connections. A server that drains
/// still waits for them, as for a connection's first request: its client may be sending.
pub(crate) async fn first_bytes(
    stream: &TcpStream,
    wait: Option<Duration>,
    stop: &mut watch::Receiver<Stop>,
) -> Option<Protocol> {
    let within = async {
        match wait {
            Some(wait) => tokio::time::timeout(wait, sniff(stream)).await.ok(),
            None => Some(sniff(stream).await),
        }
    };
    tokio::select! {
        sniffed = within => sniffed?.ok(),
        // A server gone (the sender dropped) stops waiting too.
        _ = stop.wait_for(|stop| *stop == Stop::Abort) => None,
    }
}

/// Tells the protocol of `stream` from its first bytes, without taking them from it. A
/// connection that closes before sending anything is given to HTTP/1.1, which ends it.
async fn sniff(stream: &TcpStream) -> io::Result<Protocol> {
    let mut first = [0u8; PREFACE.len()];
    let mut pause = PREFACE_PAUSE;
    loop {
        let read = stream.peek(&mut first).await?;
        if read == 0 || first[..read] != PREFACE[..read] {
            return Ok(Protocol::Http1);
        }
        if read == PREFACE.len() {
            return Ok(Protocol::Http2);
        }
        // Peeking again at once would see the same bytes and spin.
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(PREFACE_PAUSE_MAX);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::watch;
    use tokio::time::timeout;

    use super::{PREFACE, Protocol, Stop, first_bytes, sniff};

    /// The protocol `sniff` tells from what a client sends in `parts` (a pause between
    /// them), and that the bytes are all still there to read.
    async fn sniffed(parts: &[&[u8]]) -> Protocol {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let parts: Vec<Vec<u8>> = parts.iter().map(|part| part.to_vec()).collect();
        let sent: Vec<u8> = parts.concat();
        let writer = tokio::spawn(async move {
            for part in parts {
                client.write_all(&part).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            }
            client
        });
        let protocol = sniff(&server).await.unwrap();
        let _client = writer.await.unwrap();
        let mut kept = vec![0u8; sent.len()];
        let mut read = 0;
        while read < sent.len() {
            server.readable().await.unwrap();
            match server.try_read(&mut kept[read..]) {
                Ok(n) => read += n,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(error) => panic!("{error}"),
            }
        }
        assert_eq!(kept, sent, "the bytes are left on the socket");
        protocol
    }

    /// A client that stops inside the preface is let go at the first-request bound, and a
    /// silent one when the server stops waiting for connections.
    #[tokio::test]
    async fn a_connection_that_never_finishes_its_first_bytes_is_let_go() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut stalled = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        stalled.write_all(b"PRI * HT").await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (stop, mut stopping) = watch::channel(Stop::Serve);
        let wait = Some(Duration::from_millis(300));
        let first = timeout(
            Duration::from_secs(10),
            first_bytes(&server, wait, &mut stopping),
        );
        assert_eq!(first.await.expect("let go at the bound"), None);

        let _silent = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let aborting = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            stop.send(Stop::Abort).unwrap();
            stop
        });
        let first = timeout(
            Duration::from_secs(10),
            first_bytes(&server, None, &mut stopping),
        );
        assert_eq!(first.await.expect("let go when the server stops"), None);
        drop(aborting.await.unwrap());
    }

    #[tokio::test]
    async fn the_first_bytes_tell_http2_prior_knowledge_from_http1() {
        assert_eq!(
            sniffed(&[b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]).await,
            Protocol::Http1
        );
        assert_eq!(sniffed(&[b"POST /"]).await, Protocol::Http1);
        assert_eq!(sniffed(&[PREFACE]).await, Protocol::Http2);
        // A preface that arrives in pieces is waited for.
        assert_eq!(
            sniffed(&[b"PRI * HT", b"TP/2.0\r\n\r\nSM\r\n\r\n"]).await,
            Protocol::Http2
        );
        // `PRI` that is not the preface is HTTP/1.1's to refuse.
        assert_eq!(sniffed(&[b"PRI * HTTP/1.1\r\n"]).await, Protocol::Http1);
    }
}
