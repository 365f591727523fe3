//! `app.send_timeout`: a connection whose answer cannot be written at all for that long is
//! closed, as nginx's `send_timeout` does. A client that asks for a large answer and never
//! reads it would otherwise hold its connection (and its `max_connections` slot) forever.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::connection::Activity;

/// The connection's socket with a timer on its writes: armed when a write or flush cannot
/// proceed, disarmed by any progress, and failing the write with `TimedOut` when it fires.
/// The timer is allocated the first time a write has to wait (most connections never wait,
/// and an idle one should not hold it) and kept for the connection's later waits; a write
/// costs no allocation. Bytes written count as the connection's activity (an answer still
/// streaming out is not idle).
pub(crate) struct SendTimeout<T> {
    io: T,
    timeout: Option<Duration>,
    sleep: Option<Pin<Box<Sleep>>>,
    armed: bool,
    activity: Arc<Activity>,
}

impl<T> SendTimeout<T> {
    /// `timeout: None` lets writes wait as long as the client makes them.
    pub fn new(io: T, timeout: Option<Duration>, activity: Arc<Activity>) -> Self {
        SendTimeout {
            io,
            timeout,
            sleep: None,
            armed: false,
            activity,
        }
    }

    /// Bytes reached the socket: the clock stops, and the connection is active.
    fn wrote(&mut self, poll: &Poll<io::Result<usize>>) {
        if let Poll::Ready(Ok(1..)) = poll {
            self.armed = false;
            self.activity.wrote();
        }
    }

    /// A write or flush that cannot proceed starts the clock (unless it runs already: only
    /// bytes written stop it) and fails once it has run for the timeout.
    fn watch<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if poll.is_ready() {
            return poll;
        }
        let Some(timeout) = self.timeout else {
            return Poll::Pending;
        };
        let deadline = Instant::now() + timeout;
        let sleep = match &mut self.sleep {
            Some(sleep) => {
                if !self.armed {
                    sleep.as_mut().reset(deadline);
                }
                sleep
            }
            None => self
                .sleep
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        self.armed = true;
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.armed = false;
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the client read nothing of the answer for {timeout:?} (send_timeout)"),
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for SendTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for SendTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.wrote(&poll);
        this.watch(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.wrote(&poll);
        this.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.watch(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.watch(cx, poll)
    }
}
