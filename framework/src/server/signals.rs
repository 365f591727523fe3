//! Signals: Ctrl-C and SIGTERM stop the server (a second one exits at once), SIGHUP
//! reloads it, SIGUSR2 hands its listening sockets to a new process and then drains
//! (`handover`); `serve --watch` reloads when a configuration file changes.

use std::time::Duration;

use tokio::sync::watch;

use super::Reloader;
use super::connection::Stop;
use super::handover::Handover;
use crate::runtime::file_stamps;

/// The signal streams, registered as soon as the server asks for them so a signal sent
/// right after `listening on` was printed is not handled the default way (which ends the
/// process on SIGHUP and skips the drain on SIGTERM).
pub(crate) struct Signals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hangup: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    upgrade: Option<tokio::signal::unix::Signal>,
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
                upgrade: listen(SignalKind::user_defined2(), "SIGUSR2"),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Reloads on every SIGHUP; resolves on the first Ctrl-C or SIGTERM, or once a SIGUSR2
    /// handed the sockets to a new process that serves; after that a second Ctrl-C or
    /// SIGTERM ends the process without waiting for the drain.
    pub async fn serve(self, reloader: Reloader, handover: Option<Handover>) {
        let state = reloader.state.clone();
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
        #[cfg(unix)]
        let mut upgrade = self.upgrade;
        #[cfg(not(unix))]
        let mut upgrade = None::<()>;
        loop {
            tokio::select! {
                () = termination(&mut terminate) => break,
                () = upgrade_requested(&mut upgrade) => {
                    let ready_within = state.current.load().app().handover_timeout;
                    if hand_over(handover.as_ref(), ready_within).await {
                        break;
                    }
                }
            }
        }
        tracing::info!("shutdown requested; a second signal exits at once");
        tokio::spawn(async move {
            termination(&mut terminate).await;
            tracing::warn!("second shutdown signal: exiting without draining");
            std::process::exit(1);
        });
    }
}

/// SIGUSR2: starts a new process on the listening sockets; true once it serves (this one
/// then drains), false when it did not take over (this one keeps serving, and says why).
async fn hand_over(handover: Option<&Handover>, ready_within: Duration) -> bool {
    let Some(handover) = handover else {
        tracing::error!("SIGUSR2: the listening sockets cannot be handed over; still serving");
        return false;
    };
    tracing::info!("SIGUSR2: starting a new process on the listening sockets");
    match handover.run(ready_within).await {
        Ok(pid) => {
            tracing::info!(pid, "handed the listening sockets to pid {pid}; draining");
            true
        }
        Err(why) => {
            tracing::error!("handover failed; this process keeps serving: {why}");
            false
        }
    }
}

async fn upgrade_requested(upgrade: &mut Terminate) {
    #[cfg(unix)]
    if let Some(signal) = upgrade {
        signal.recv().await;
        return;
    }
    #[cfg(not(unix))]
    let _ = upgrade;
    std::future::pending::<()>().await
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

/// Reloads when a file of the configuration in force or a library in use changes, until
/// the server stops.
pub(crate) fn reload_on_change(reloader: Reloader, mut stopping: watch::Receiver<Stop>) {
    tokio::spawn(async move {
        let files = || reloader.state.current.load().watched_files();
        let mut watched = files();
        let mut seen = file_stamps(&watched);
        loop {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stopping.changed() => return,
            }
            let now_watched = files();
            let now = file_stamps(&now_watched);
            // A reload that named other files watches those from now on; that alone is no
            // change to reload for.
            if now_watched != watched {
                (watched, seen) = (now_watched, now);
                continue;
            }
            if now != seen {
                seen = now;
                tracing::info!("a configuration file or a library changed: reloading");
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
