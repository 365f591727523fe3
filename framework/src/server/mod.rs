//! The HTTP server: a tokio listener, HTTP/1.1 and h2c on one port through hyper-util's
//! auto builder, and a graceful shutdown that lets requests in flight finish.

mod service;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use abi_stable::std_types::RErr;

use crate::error::Error;
use crate::loader::{self, LoadedExtension};
use crate::routing::RouteTable;

pub(crate) use service::{ServerState, read_body};

/// How long requests in flight may take to finish once shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A bound server; nothing is served until [`Server::run`] or [`Server::run_until`].
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    state: Arc<ServerState>,
    /// Kept for the whole process: the chains hold their filters, and libraries are
    /// never unloaded.
    extensions: Vec<LoadedExtension>,
}

impl Server {
    pub(crate) async fn bind(
        addr: &str,
        table: RouteTable,
        extensions: Vec<LoadedExtension>,
    ) -> Result<Server, Error> {
        loader::set_runtime(tokio::runtime::Handle::current());
        // Startup hooks run in load order before the listener opens.
        for extension in &extensions {
            if let RErr(error) = extension.instance.on_startup() {
                return Err(Error::Startup {
                    extension: extension.name.clone(),
                    message: error.message.into_string(),
                });
            }
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: addr.to_string(),
            source,
        })?;
        Ok(Server {
            listener,
            local_addr,
            state: Arc::new(ServerState::new(table)),
            extensions,
        })
    }

    /// Reaches a loaded extension by `module:Type` (to send it commands).
    pub fn extension(&self, name: &str) -> Option<crate::ExtensionHandle<'_>> {
        crate::app::find_extension(&self.extensions, name)
    }

    /// The address the socket is bound to (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until Ctrl-C or SIGTERM, then drains.
    pub async fn run(self) -> Result<(), Error> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then stops accepting and lets the connections
    /// finish the requests they are on.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let builder = auto::Builder::new(TokioExecutor::new());
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            // Running out of file descriptors must not end the server:
                            // wait a little and accept again.
                            tracing::warn!(%error, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let state = self.state.clone();
                    let service = hyper::service::service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(state.handle(request, peer).await) }
                    });
                    let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::debug!(%peer, %error, "connection ended with an error");
                        }
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
        tracing::info!("shutting down: draining connections");
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all connections closed"),
            () = tokio::time::sleep(DRAIN_TIMEOUT) => {
                tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
            }
        }
        // Shutdown hooks run in reverse load order after the drain.
        for extension in self.extensions.iter().rev() {
            if let RErr(error) = extension.instance.on_shutdown() {
                tracing::error!(extension = %extension.name, "shutdown hook failed: {}", error.message);
            }
        }
        // The chains and the extensions stay alive with the libraries (never unloaded);
        // dropping them after a shutdown hook ran would call into finished extensions.
        std::mem::forget(self.extensions);
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
