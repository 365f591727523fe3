//! The accept loop: a connection slot (`max_connections`), then a connection served by the
//! HTTP/1.1 + h2c builder under the server's stop signal and its time bounds: the idle and
//! first-request waits, the send timeout on its socket and the pace of its request bodies.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::Either;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::connection::{self, Activity, Stop, Tracker, Waits};
use super::protocol::{Builders, Protocol, Served, first_bytes};
use super::send_timeout::SendTimeout;
use super::service::ServerState;
use crate::chain::BodyPace;
use crate::config::AppConfig;
use crate::routing::{ConnectionLease, WebSocketLimits};

/// The time bounds of every connection, from `app`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionBounds {
    pub waits: Waits,
    pub send_timeout: Option<Duration>,
    pub body_pace: BodyPace,
    pub websocket: WebSocketLimits,
}

impl ConnectionBounds {
    pub fn of(app: &AppConfig) -> Self {
        ConnectionBounds {
            waits: Waits {
                idle: app.keep_alive_timeout,
                first_request: app.header_read_timeout,
                drop_unserved: false,
            },
            send_timeout: app.send_timeout,
            body_pace: BodyPace::of(app),
            websocket: WebSocketLimits::of(app),
        }
    }
}

pub(crate) struct Acceptor {
    pub listener: TcpListener,
    pub builders: Arc<Builders>,
    pub state: Arc<ServerState>,
    pub tracker: Arc<Tracker>,
    pub stopping: watch::Receiver<Stop>,
    pub slots: Option<Arc<Semaphore>>,
    pub bounds: ConnectionBounds,
}

impl Acceptor {
    /// Accepts and serves connections until `until` completes.
    pub async fn accept_until(&self, until: impl Future<Output = ()>) {
        tokio::pin!(until);
        loop {
            // Beyond `max_connections` nothing is accepted: new connections wait in the
            // backlog until one closes.
            let slot = tokio::select! {
                slot = acquire(self.slots.as_ref()) => slot,
                () = &mut until => return,
            };
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                () = &mut until => return,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    self.serve(stream, peer, slot);
                }
                Err(error) => {
                    // Running out of file descriptors must not end the server: wait a
                    // little and accept again.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn serve(
        &self,
        stream: tokio::net::TcpStream,
        peer: std::net::SocketAddr,
        slot: Option<OwnedSemaphorePermit>,
    ) {
        let state = self.state.clone();
        let activity = Activity::new();
        let busy = activity.clone();
        let pace = self.bounds.body_pace;
        // Shared by the connection's requests: a request pays one reference count for it, and
        // only a streamed answer that ends on drain takes a receiver of its own.
        let stop = Arc::new(self.stopping.clone());
        let lease = self.lease(slot);
        let service = hyper::service::service_fn(move |mut request: http::Request<_>| {
            let busy = busy.begin();
            // A probe is answered here and now: no future to box, no reference to take.
            if let Some(probe) = state.answer_probe(&request) {
                return Either::Left(std::future::ready(Ok(busy.until_sent(probe, &stop))));
            }
            // A request hyper can upgrade takes the connection's slot along, for the
            // WebSocket it may become; other requests pay nothing for it.
            if request.extensions().get::<OnUpgrade>().is_some() {
                request.extensions_mut().insert(lease.clone());
            }
            let (state, stop) = (state.clone(), stop.clone());
            // hyper keeps room for one request's future per connection from its first
            // request to its close. A request's state (route, chain, handler) runs to
            // kilobytes; boxed, it is freed when the answer is out, and an idle kept-alive
            // connection holds a pointer instead. It is boxed as soon as it is made: every
            // move of it copies its whole size (2.4 KB), though at the start it holds only
            // the request, and what wraps it (the answer's mapping, the body pace) wraps the
            // pointer. `map` adds no room of its own, where an `async` block awaiting
            // `handle` would hold its future twice.
            let answered = Box::write(Box::new_uninit(), state.handle(request, peer));
            let answered = Box::into_pin(answered).map(move |response| {
                Ok::<_, std::convert::Infallible>(busy.until_sent(response, &stop))
            });
            Either::Right(pace.scope(answered))
        });
        let first_wait = self.bounds.waits.current(&activity);
        let opening = Opening {
            stream,
            service,
            builders: self.builders.clone(),
            waits: self.bounds.waits,
            send_timeout: self.bounds.send_timeout,
            stopping: self.stopping.clone(),
        };
        // Boxed, with everything only the start of the connection needs: the task keeps
        // room for its largest stage and for every value it captured for the connection's
        // whole life, and telling the protocol (two timers and a peek) is larger than driving
        // the connection once it is told.
        let opened = Box::pin(opening.protocol(first_wait));
        tokio::spawn(async move {
            // In a block of its own: what is left of the opening is dropped before the
            // connection is driven, and the task keeps no room for it.
            let (connection, waits, stopping) = {
                let Some((protocol, opening)) = opened.await else {
                    return;
                };
                let Opening {
                    stream,
                    service,
                    builders,
                    waits,
                    send_timeout,
                    stopping,
                } = opening;
                let waits = match protocol {
                    Protocol::Http1 => waits.for_http1(),
                    Protocol::Http2 => waits,
                };
                let io = TokioIo::new(SendTimeout::new(stream, send_timeout, activity.clone()));
                (builders.serve(protocol, io, service), waits, stopping)
            };
            let graceful = |c: &mut Served<_, _>| c.graceful_shutdown();
            if let Some(error) =
                connection::drive(connection, graceful, activity, waits, stopping).await
            {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            // The slot and the connection's count go with the service, unless a WebSocket
            // still holds them.
        });
    }

    /// The connection's slot and its count among open connections, held by the
    /// connection's service and by a session it is upgraded to, until both end; a session
    /// is dropped when a shutdown stops waiting for connections (`Stop::Abort`).
    fn lease(&self, slot: Option<OwnedSemaphorePermit>) -> ConnectionLease {
        let held = Arc::new((slot, self.tracker.track()));
        let stopping = self.stopping.clone();
        ConnectionLease::new(held, self.bounds.websocket, move || {
            let mut stopping = stopping.clone();
            Box::pin(async move {
                // A server gone (the sender dropped) stops waiting too.
                let _ = stopping.wait_for(|stop| *stop == Stop::Abort).await;
            })
        })
    }
}

/// A new connection until its protocol is told from its first bytes: what it is then served
/// with moves on into hyper's connection and the loop that drives it.
struct Opening<S> {
    stream: tokio::net::TcpStream,
    service: S,
    builders: Arc<Builders>,
    waits: Waits,
    send_timeout: Option<Duration>,
    stopping: watch::Receiver<Stop>,
}

impl<S> Opening<S> {
    /// Waits for the first bytes (`first_bytes`); none when the connection is to be closed.
    /// An `async` block rather than an `async fn`, which would keep `self` twice.
    #[expect(
        clippy::manual_async_fn,
        reason = "an `async fn` future keeps room for each argument twice"
    )]
    fn protocol(
        mut self,
        wait: Option<Duration>,
    ) -> impl Future<Output = Option<(Protocol, Self)>> {
        async move {
            let protocol = first_bytes(&self.stream, wait, &mut self.stopping).await?;
            Some((protocol, self))
        }
    }
}

async fn acquire(slots: Option<&Arc<Semaphore>>) -> Option<OwnedSemaphorePermit> {
    match slots {
        Some(slots) => slots.clone().acquire_owned().await.ok(),
        None => None,
    }
}
