//! What the server lends a request that may leave HTTP (a WebSocket upgrade): once hyper
//! hands the connection over, its HTTP side is over, but the connection still holds its place
//! among `app.max_connections` and in the count a graceful shutdown waits for, until the
//! session ends or the server stops waiting for its connections.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::config::AppConfig;

/// Resolves when the server stops waiting for its connections (the shutdown grace is over).
pub(crate) type Closing = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The connection's slot and count, kept alive by whoever holds a clone, and the limits of
/// `app` for what the connection becomes. Put in the extensions of a request hyper can
/// upgrade (it carries hyper's `OnUpgrade`), so other requests pay nothing for it.
#[derive(Clone)]
pub(crate) struct ConnectionLease {
    /// Whatever the server counts the connection by; released when the last clone drops.
    held: Arc<dyn Any + Send + Sync>,
    closing: Arc<dyn Fn() -> Closing + Send + Sync>,
    pub limits: WebSocketLimits,
}

impl ConnectionLease {
    pub fn new(
        held: Arc<dyn Any + Send + Sync>,
        limits: WebSocketLimits,
        closing: impl Fn() -> Closing + Send + Sync + 'static,
    ) -> Self {
        ConnectionLease {
            held,
            closing: Arc::new(closing),
            limits,
        }
    }

    /// A future that resolves when the server stops waiting for this connection.
    #[cfg_attr(not(feature = "websocket"), allow(dead_code))]
    pub fn closing(&self) -> Closing {
        (self.closing)()
    }
}

impl std::fmt::Debug for ConnectionLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionLease")
            .field("holders", &Arc::strong_count(&self.held))
            .field("limits", &self.limits)
            .finish()
    }
}

/// The bounds of a WebSocket session: `app.websocket_max_message_bytes` and
/// `app.websocket_idle_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WebSocketLimits {
    /// A larger message (or frame) closes the socket with 1009.
    pub max_message_bytes: usize,
    /// No message either way for this long closes the socket with 1001; `None`: no bound.
    pub idle_timeout: Option<Duration>,
}

impl WebSocketLimits {
    pub fn of(app: &AppConfig) -> Self {
        WebSocketLimits {
            max_message_bytes: app.websocket_max_message_bytes,
            idle_timeout: app.websocket_idle_timeout,
        }
    }
}

impl Default for WebSocketLimits {
    fn default() -> Self {
        Self::of(&AppConfig::default())
    }
}
