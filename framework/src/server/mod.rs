//! The HTTP server: a tokio listener with the configured backlog, HTTP/1.1 and h2c on one
//! port through hyper-util's auto builder, connection and request limits, the access log,
//! reload by generations, and a graceful shutdown that lets requests in flight finish.

mod accept;
mod access_log;
mod connection;
mod errors;
mod handover;
mod listener;
mod metrics_listener;
mod protocol;
mod send_timeout;
mod service;
mod signals;
mod start_pages;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::error::{Error, ReloadError};
use crate::telemetry::metrics::Registry;

use crate::runtime::{self, Generation, ReloadSource, SwapGuard};
use accept::Acceptor;
pub(crate) use access_log::{REQUEST_ID, request_id};
use connection::{Stop, Tracker};
use service::Phase;
pub(crate) use service::ServerState;

/// A bound server; nothing is served until [`Server::run`] or [`Server::run_until`].
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    /// `app.metrics.bind`: the metrics' own listener.
    metrics: Option<TcpListener>,
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
    /// Loads and validates the configuration again, loads any new extension libraries and
    /// new builds of loaded ones (beside the old builds), rebuilds every chain and swaps the
    /// new route table in. On an error, a new build's failed startup included, the running
    /// configuration and builds stay in force.
    pub async fn reload(&self) -> Result<(), Error> {
        let state = &self.state;
        let _one_at_a_time = state.reloading.lock().await;
        let building = state.clone();
        let next = tokio::task::spawn_blocking(move || {
            let current = building.current.load_full();
            (building.source).load_generation(&current.store, &current.extensions)
        })
        .await
        .map_err(|error| ReloadError::TaskFailed(error.to_string()))??;
        let next = Arc::new(next);
        runtime::warn_restart_needed(state.current.load().app(), next.app());
        let previous = state.current.swap(next.clone());
        runtime::record_swaps(&previous, &next);
        // A reload ends the rollback window of the swap before it.
        if let Some(older) = state.standby.take() {
            tokio::spawn(runtime::retire(older));
        }
        match SwapGuard::for_swap(&previous, &next) {
            Some(guard) => {
                state.standby.keep(previous);
                let state = state.clone();
                tokio::spawn(async move {
                    (guard.watch(&state.current, &state.reloading, &state.standby)).await;
                });
            }
            None => {
                tokio::spawn(runtime::retire(previous));
            }
        }
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
        crate::host::set_runtime(tokio::runtime::Handle::current());
        listener::raise_open_files_limit();
        // Startup hooks run in load order before the listener opens.
        runtime::start_extensions(&generation.extensions)?;
        let backlog = generation.app().backlog;
        let listener = listener::bind_or_inherit(addr, backlog, 0).await?;
        let local_addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: addr.to_string(),
            source,
        })?;
        let metrics = match (
            &generation.app().metrics.bind,
            generation.app().metrics.enabled,
        ) {
            (Some(metrics_addr), true) => {
                Some(listener::bind_or_inherit(metrics_addr, backlog, 1).await?)
            }
            _ => None,
        };
        Ok(Server {
            listener,
            local_addr,
            metrics,
            state: Arc::new(ServerState::new(generation, source)),
            watch: false,
            signals: None,
        })
    }

    /// Reaches a loaded extension of the configuration in force by `module:Type`.
    pub fn extension(&self, name: &str) -> Option<runtime::ExtensionHandle<'static>> {
        runtime::shared_extension(self.state.current.load_full(), name)
    }

    /// The application's metrics (what `/metrics` reports), the same across reloads.
    pub fn metrics(&self) -> Arc<Registry> {
        self.state.current.load().store.registry().clone()
    }

    /// The address the socket is bound to (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where the metrics are served when `app.metrics.bind` gives them their own listener.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// A handle that reloads the configuration.
    pub fn reloader(&self) -> Reloader {
        Reloader {
            state: self.state.clone(),
        }
    }

    /// Reload whenever one of the configuration's files or an extension library in use
    /// changes (checked every second).
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
        let listeners: Vec<&TcpListener> = std::iter::once(&self.listener)
            .chain(self.metrics.as_ref())
            .collect();
        let handover = match handover::Handover::prepare(&listeners) {
            Ok(handover) => Some(handover),
            Err(error) => {
                tracing::warn!(%error, "SIGUSR2 cannot hand the listening sockets over");
                None
            }
        };
        self.run_until(signals.serve(reloader, handover)).await
    }

    /// Serves until `shutdown` completes, then stops accepting and lets the connections
    /// finish the requests they are on, for up to `app.shutdown_grace_seconds`.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let reloader = self.reloader();
        let Server {
            listener,
            metrics,
            state,
            watch: watch_files,
            ..
        } = self;
        let app = state.current.load().app().clone();
        let (stop, stopping) = watch::channel(Stop::Serve);
        if let Some(metrics) = metrics {
            let registry = state.current.load().store.registry().clone();
            metrics_listener::spawn(metrics, &app, registry, stopping.clone());
        }
        if watch_files {
            signals::reload_on_change(reloader, stopping.clone());
        }
        let acceptor = Acceptor {
            listener,
            builders: Arc::new(protocol::http_builders(&app)),
            state: state.clone(),
            tracker: Arc::new(Tracker::new(state.current.load().store.registry())),
            stopping,
            slots: app.max_connections.map(|n| Arc::new(Semaphore::new(n))),
            bounds: accept::ConnectionBounds::of(&app),
        };
        if app.release_start_pages {
            match start_pages::release() {
                Ok(kib) => tracing::info!(kib, "released the code pages only the start ran"),
                Err(error) => tracing::warn!(%error, "cannot release the start's code pages"),
            }
        }
        state.set_phase(Phase::Ready);
        // A process started by a handover tells the one before it to stop accepting.
        handover::report_ready();
        acceptor.accept_until(shutdown).await;
        // Readiness answers 503 from here on; during the delay new connections are still
        // served, so a load balancer polling /ready stops sending before the port closes.
        state.set_phase(Phase::Draining);
        let delay = state.current.load().app().shutdown_delay;
        if !delay.is_zero() {
            tracing::info!(?delay, "shutting down: not ready, still accepting");
            acceptor.accept_until(tokio::time::sleep(delay)).await;
        }
        let Acceptor {
            listener, tracker, ..
        } = acceptor;
        drain(&state, listener, &stop, &tracker).await;
        Ok(())
    }
}

/// The listener closes, connections are told to close once their requests are answered; after the grace period the rest are dropped. Then the
/// extensions' shutdown hooks run.
async fn drain(
    state: &ServerState,
    listener: TcpListener,
    stop: &watch::Sender<Stop>,
    tracker: &Tracker,
) {
    drop(listener);
    let grace = state.current.load().app().shutdown_grace;
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
    // Shutdown hooks run in reverse load order after the drain; the generation is then
    // freed with the server, as a retired one is after its hooks ran (`runtime::retire`):
    // its chains first, then its extensions.
    runtime::stop_extensions(&state.current.load().extensions);
    // The generation a swap replaced, when its rollback window is still open.
    if let Some(standby) = state.standby.take() {
        runtime::stop_extensions(&standby.extensions);
    }
}
