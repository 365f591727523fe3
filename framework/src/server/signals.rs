//! Signals: Ctrl-C and SIGTERM stop the server (a second one exits at once), SIGHUP
//! reloads it; `serve --watch` reloads when a configuration file changes.

use std::time::Duration;

use tokio::sync::watch;

use super::Reloader;
use super::connection::Stop;
use super::reload::newest_change;

/// Resolves on the first Ctrl-C or SIGTERM; from then on a second one ends the process
/// without waiting for the drain.
pub(crate) async fn shutdown() {
    termination().await;
    tracing::info!("shutdown requested; a second signal exits at once");
    tokio::spawn(async {
        termination().await;
        tracing::warn!("second shutdown signal: exiting without draining");
        std::process::exit(1);
    });
}

async fn termination() {
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

/// Reloads the configuration on every SIGHUP.
pub(crate) fn reload_on_hangup(reloader: Reloader) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGHUP; reload is unavailable");
                return;
            }
        };
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the configuration");
                report(reloader.reload().await);
            }
        });
    }
    #[cfg(not(unix))]
    let _ = reloader;
}

/// Reloads when a file of the configuration in force changes, until the server stops.
pub(crate) fn reload_on_change(reloader: Reloader, mut stopping: watch::Receiver<Stop>) {
    tokio::spawn(async move {
        let files = || reloader.state.current.load().files.clone();
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

fn report(outcome: Result<(), crate::Error>) {
    if let Err(error) = outcome {
        tracing::error!("reload failed; the running configuration stays in force:\n{error}");
    }
}
