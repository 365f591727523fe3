//! Signals: Ctrl-C and SIGTERM stop the server (a second one exits at once), SIGHUP
//! reloads it; `serve --watch` reloads when a configuration file changes.

use std::time::Duration;

use tokio::sync::watch;

use super::Reloader;
use super::connection::Stop;
use crate::runtime::newest_change;

/// The signal streams, registered as soon as the server asks for them so a signal sent
/// right after `listening on` was printed is not handled the default way (which ends the
/// process on SIGHUP and skips the drain on SIGTERM).
pub(crate) struct Signals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hangup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    pub fn register() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind: SignalKind, name: &str| match signal(kind) {
                Ok(stream) => Some(stream),
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for {name}");
                    None
                }
            };
            Signals {
                terminate: listen(SignalKind::terminate(), "SIGTERM"),
                hangup: listen(SignalKind::hangup(), "SIGHUP"),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Reloads on every SIGHUP; resolves on the first Ctrl-C or SIGTERM, after which a
    /// second one ends the process without waiting for the drain.
    pub async fn serve(self, reloader: Reloader) {
        #[cfg(unix)]
        let mut terminate = {
            if let Some(mut hangups) = self.hangup {
                tokio::spawn(async move {
                    while hangups.recv().await.is_some() {
                        tracing::info!("SIGHUP: reloading the configuration");
                        report(reloader.reload().await);
                    }
                });
            }
            self.terminate
        };
        #[cfg(not(unix))]
        let (mut terminate, _) = (None::<()>, reloader);
        termination(&mut terminate).await;
        tracing::info!("shutdown requested; a second signal exits at once");
        tokio::spawn(async move {
            termination(&mut terminate).await;
            tracing::warn!("second shutdown signal: exiting without draining");
            std::process::exit(1);
        });
    }
}

#[cfg(unix)]
type Terminate = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Terminate = Option<()>;

async fn termination(terminate: &mut Terminate) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        #[cfg(unix)]
        if let Some(signal) = terminate {
            signal.recv().await;
            return;
        }
        #[cfg(not(unix))]
        let _ = terminate;
        std::future::pending::<()>().await
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Reloads when a file of the configuration in force changes, until the server stops.
pub(crate) fn reload_on_change(reloader: Reloader, mut stopping: watch::Receiver<Stop>) {
    tokio::spawn(async move {
        let files = || reloader.state.current.load().files().to_vec();
        let mut seen = newest_change(&files());
        loop {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stopping.changed() => return,
            }
            let now = newest_change(&files());
            if now != seen {
                seen = now;
                tracing::info!("configuration changed: reloading");
                report(reloader.reload().await);
            }
        }
    });
}

fn report(outcome: Result<(), crate::error::Error>) {
    if let Err(error) = outcome {
        tracing::error!("reload failed; the running configuration stays in force:\n{error}");
    }
}
