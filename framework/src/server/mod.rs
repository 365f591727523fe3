//! The HTTP server: a tokio listener with the configured backlog, HTTP/1.1 and h2c on one
//! port through hyper-util's auto builder, connection and request limits, the access log,
//! reload by generations, and a graceful shutdown that lets requests in flight finish.

mod access_log;
mod connection;
mod errors;
mod limits;
mod listener;
mod reload;
mod service;
mod signals;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::error::Error;

use connection::{Activity, Stop, Tracker};
pub(crate) use limits::RouteLimits;
pub(crate) use reload::{Generation, ReloadSource};
use service::Phase;
pub(crate) use service::{ServerState, read_body};

/// A bound server; nothing is served until [`Server::run`] or [`Server::run_until`].
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    state: Arc<ServerState>,
    watch: bool,
    signals: Option<signals::Signals>,
}

/// Reloads a running server's configuration (what SIGHUP does).
#[derive(Clone)]
pub struct Reloader {
    state: Arc<ServerState>,
}

impl Reloader {
    /// Loads and validates the configuration again, loads any new extension libraries,
    /// rebuilds every chain and swaps the new route table in. On an error the running
    /// configuration stays in force.
    pub async fn reload(&self) -> Result<(), Error> {
        let state = &self.state;
        let _one_at_a_time = state.reloading.lock().await;
        let building = state.clone();
        let next = tokio::task::spawn_blocking(move || building.source.load_generation())
            .await
            .map_err(|error| Error::Reload(format!("the reload task failed: {error}")))??;
        let next = Arc::new(next);
        reload::warn_restart_needed(&state.current.load().app, &next.app);
        let previous = state.current.swap(next);
        tokio::spawn(reload::retire(previous));
        tracing::info!("configuration reloaded");
        Ok(())
    }
}

impl Server {
    pub(crate) async fn bind(
        addr: &str,
        generation: Generation,
        source: ReloadSource,
    ) -> Result<Server, Error> {
        crate::loader::set_runtime(tokio::runtime::Handle::current());
        listener::raise_open_files_limit();
        // Startup hooks run in load order before the listener opens.
        reload::start_extensions(&generation.extensions)?;
        let listener = listener::bind(addr, generation.app.backlog).await?;
        let local_addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: addr.to_string(),
            source,
        })?;
        Ok(Server {
            listener,
            local_addr,
            state: Arc::new(ServerState::new(generation, source)),
            watch: false,
            signals: None,
        })
    }

    /// Reaches a loaded extension of the configuration in force by `module:Type`.
    pub fn extension(&self, name: &str) -> Option<crate::ExtensionHandle<'static>> {
        crate::app::shared_extension(self.state.current.load_full(), name)
    }

    /// The address the socket is bound to (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that reloads the configuration.
    pub fn reloader(&self) -> Reloader {
        Reloader {
            state: self.state.clone(),
        }
    }

    /// Reload whenever one of the configuration's files changes (checked every second).
    pub fn watch_config(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    /// Starts listening for SIGTERM and SIGHUP now rather than when [`Server::run`] starts,
    /// so a signal sent as soon as the address is announced is not missed.
    pub fn catch_signals(mut self) -> Self {
        if self.signals.is_none() {
            self.signals = Some(signals::Signals::register());
        }
        self
    }

    /// Serves until Ctrl-C or SIGTERM, then drains; SIGHUP reloads the configuration. A
    /// second Ctrl-C or SIGTERM while draining exits at once.
    pub async fn run(mut self) -> Result<(), Error> {
        let signals = self
            .signals
            .take()
            .unwrap_or_else(signals::Signals::register);
        let reloader = self.reloader();
        self.run_until(signals.serve(reloader)).await
    }

    /// Serves until `shutdown` completes, then stops accepting and lets the connections
    /// finish the requests they are on, for up to `app.shutdown_grace_seconds`.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let reloader = self.reloader();
        let Server {
            listener,
            state,
            watch: watch_files,
            ..
        } = self;
        let app = state.current.load().app.clone();
        let builder = limits::http_builder(&app);
        let (stop, stopping) = watch::channel(Stop::Serve);
        let tracker = Arc::new(Tracker::default());
        let slots = app.max_connections.map(|n| Arc::new(Semaphore::new(n)));
        if watch_files {
            signals::reload_on_change(reloader, stopping.clone());
        }
        state.set_phase(Phase::Ready);
        tokio::pin!(shutdown);
        loop {
            // Beyond `max_connections` nothing is accepted: new connections wait in the
            // backlog until one closes.
            let slot = tokio::select! {
                slot = acquire(slots.as_ref()) => slot,
                () = &mut shutdown => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Running out of file descriptors must not end the server:
                        // wait a little and accept again.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let state = state.clone();
            let activity = Activity::new();
            let busy = activity.clone();
            let service = hyper::service::service_fn(move |request| {
                let state = state.clone();
                let busy = busy.begin();
                async move {
                    let response = state.handle(request, peer).await;
                    drop(busy);
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .into_owned();
            let tracked = tracker.track();
            let stopping = stopping.clone();
            let idle = app.keep_alive_timeout;
            tokio::spawn(async move {
                let graceful = |c: std::pin::Pin<&mut _>| {
                    hyper_util::server::conn::auto::Connection::graceful_shutdown(c)
                };
                if let Some(error) =
                    connection::drive(connection, graceful, activity, idle, stopping).await
                {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                drop((slot, tracked));
            });
        }
        drain(&state, listener, &stop, &tracker).await;
        Ok(())
    }
}

/// Readiness goes 503, the listener closes, connections are told to close once their
/// requests are answered; after the grace period the rest are dropped. Then the
/// extensions' shutdown hooks run.
async fn drain(
    state: &ServerState,
    listener: TcpListener,
    stop: &watch::Sender<Stop>,
    tracker: &Tracker,
) {
    state.set_phase(Phase::Draining);
    drop(listener);
    let grace = state.current.load().app.shutdown_grace;
    tracing::info!(
        connections = tracker.open(),
        ?grace,
        "shutting down: draining connections"
    );
    let _ = stop.send(Stop::Drain);
    tokio::select! {
        () = tracker.all_closed() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(grace) => {
            tracing::warn!(connections = tracker.open(), "connections still open after {grace:?}; closing them");
            let _ = stop.send(Stop::Abort);
        }
    }
    // Shutdown hooks run in reverse load order after the drain.
    let generation = state.current.load_full();
    reload::stop_extensions(&generation.extensions);
    // The chains and the extensions stay alive with the libraries (never unloaded);
    // dropping them after a shutdown hook ran would call into finished extensions.
    std::mem::forget(generation);
}

async fn acquire(slots: Option<&Arc<Semaphore>>) -> Option<tokio::sync::OwnedSemaphorePermit> {
    match slots {
        Some(slots) => slots.clone().acquire_owned().await.ok(),
        None => None,
    }
}
