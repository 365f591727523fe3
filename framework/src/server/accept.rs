//! The accept loop: a connection slot (`max_connections`), then a connection served by the
//! HTTP/1.1 + h2c builder under the server's stop signal and its time bounds: the idle and
//! first-request waits, the send timeout on its socket and the pace of its request bodies.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::connection::{self, Activity, Stop, Tracker, Waits};
use super::send_timeout::SendTimeout;
use super::service::ServerState;
use crate::chain::BodyPace;
use crate::config::AppConfig;

/// The time bounds of every connection, from `app`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionBounds {
    pub waits: Waits,
    pub send_timeout: Option<Duration>,
    pub body_pace: BodyPace,
}

impl ConnectionBounds {
    pub fn of(app: &AppConfig) -> Self {
        ConnectionBounds {
            waits: Waits {
                idle: app.keep_alive_timeout,
                first_request: app.header_read_timeout,
            },
            send_timeout: app.send_timeout,
            body_pace: BodyPace::of(app),
        }
    }
}

pub(crate) struct Acceptor {
    pub listener: TcpListener,
    pub builder: auto::Builder<TokioExecutor>,
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
        let io = TokioIo::new(SendTimeout::new(
            stream,
            self.bounds.send_timeout,
            activity.clone(),
        ));
        let busy = activity.clone();
        let pace = self.bounds.body_pace;
        // Shared by the connection's requests: a request pays one reference count for it, and
        // only a streamed answer that ends on drain takes a receiver of its own.
        let stop = Arc::new(self.stopping.clone());
        let service = hyper::service::service_fn(move |request| {
            let (state, stop) = (state.clone(), stop.clone());
            let busy = busy.begin();
            // hyper keeps room for one request's future per connection from its first
            // request to its close. A request's state (route, chain, handler) runs to
            // kilobytes; boxed, it is freed when the answer is out, and an idle kept-alive
            // connection holds a pointer instead.
            Box::pin(pace.scope(async move {
                let response = state.handle(request, peer).await;
                Ok::<_, std::convert::Infallible>(busy.until_sent(response, &stop))
            }))
        });
        let connection = Box::pin(self.builder.serve_connection(io, service).into_owned());
        let tracked = self.tracker.track();
        let stopping = self.stopping.clone();
        let waits = self.bounds.waits;
        tokio::spawn(async move {
            let graceful = |c: std::pin::Pin<&mut _>| auto::Connection::graceful_shutdown(c);
            if let Some(error) =
                connection::drive(connection, graceful, activity, waits, stopping).await
            {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            drop((slot, tracked));
        });
    }
}

async fn acquire(slots: Option<&Arc<Semaphore>>) -> Option<OwnedSemaphorePermit> {
    match slots {
        Some(slots) => slots.clone().acquire_owned().await.ok(),
        None => None,
    }
}
