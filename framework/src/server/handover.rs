//! Handing the listening sockets to a new build of the binary without refusing a connection
//! (`kill -USR2 <pid>`, nginx's convention). The running process starts its own program
//! again, with the same arguments, and passes it the listening sockets as file descriptors
//! 3 and on (`LISTEN_FDS`, the way systemd's socket activation passes them, so a socket
//! unit works as well). The new process takes them instead of binding, starts its
//! extensions, and reports ready by creating a file the old process named; only then does
//! the old one stop accepting and drain. Both accept from the same sockets meanwhile, so no
//! connection is refused. A new process that exits or is not ready in time is stopped, and
//! the old one keeps serving.
//!
//! What is held in memory does not move: rate-limit buckets and revocations in the
//! in-memory shared store start empty in the new process (a Redis store is shared).

use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use command_fds::{CommandFdExt, FdMapping};
use parking_lot::Mutex;
use tokio::net::TcpListener;

/// The environment variable naming the file a new process creates once it serves.
const READY_FILE: &str = "BEGINNINGS_HANDOVER_READY";

/// The first file descriptor of handed-over sockets (`SD_LISTEN_FDS_START`).
const FIRST_FD: i32 = 3;

/// What a handover needs, taken when the server starts: the program and its arguments as
/// this process was started, and its own copies of the listening sockets.
pub(crate) struct Handover {
    program: PathBuf,
    args: Vec<OsString>,
    sockets: Vec<OwnedFd>,
}

impl Handover {
    /// `listeners` in the order the new process takes them: the server's, then the metrics'.
    pub fn prepare(listeners: &[&TcpListener]) -> std::io::Result<Handover> {
        Ok(Handover {
            program: program()?,
            args: std::env::args_os().skip(1).collect(),
            sockets: (listeners.iter())
                .map(|listener| listener.as_fd().try_clone_to_owned())
                .collect::<std::io::Result<_>>()?,
        })
    }

    /// Starts the new process and waits until it serves, for at most `ready_within`
    /// (`app.handover_timeout_seconds`); its pid when it took over, why not otherwise (it was
    /// stopped then, and nothing of this process changed).
    pub async fn run(&self, ready_within: Duration) -> Result<u32, String> {
        let ready = std::env::temp_dir().join(format!(
            "beginnings-handover-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let mut command = std::process::Command::new(&self.program);
        command
            .args(&self.args)
            .env("LISTEN_FDS", self.sockets.len().to_string())
            .env_remove("LISTEN_PID")
            .env(READY_FILE, &ready);
        let mut mappings = Vec::with_capacity(self.sockets.len());
        for (index, socket) in self.sockets.iter().enumerate() {
            mappings.push(FdMapping {
                parent_fd: socket.try_clone().map_err(|e| e.to_string())?,
                child_fd: FIRST_FD + index as i32,
            });
        }
        command
            .fd_mappings(mappings)
            .map_err(|_| "the sockets' descriptors collide".to_string())?;
        let program = self.program.display();
        let mut child = command
            .spawn()
            .map_err(|error| format!("cannot start {program}: {error}"))?;
        let deadline = Instant::now() + ready_within;
        loop {
            if ready.exists() {
                let _ = std::fs::remove_file(&ready);
                return Ok(child.id());
            }
            match child.try_wait() {
                Ok(Some(status)) => {
                    return Err(format!("{program} ended ({status}) before it was ready"));
                }
                Ok(None) => {}
                Err(error) => return Err(format!("cannot watch {program}: {error}")),
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{program} was not ready within {ready_within:?}; it was stopped"
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The path this process's program was started from. Read from `/proc/self/exe`, which
/// names a replaced file `<path> (deleted)`: a new build installed at the same path is what
/// a handover starts, so the path is what counts.
fn program() -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let text = exe.to_string_lossy();
    Ok(match text.strip_suffix(" (deleted)") {
        Some(path) => PathBuf::from(path),
        None => exe,
    })
}

/// The sockets this process was handed at start (read from the environment on first use),
/// each taken once: descriptors are the process's, so two servers in it must not both
/// adopt one.
static INHERITED: Mutex<Option<listenfd::ListenFd>> = Mutex::new(None);

/// The listening socket handed over at `index` (0 the server's, 1 the metrics'), if any.
pub(crate) fn inherited(index: usize) -> std::io::Result<Option<TcpListener>> {
    let mut inherited = INHERITED.lock();
    let fds = inherited.get_or_insert_with(listenfd::ListenFd::from_env);
    let Some(listener) = fds.take_tcp_listener(index)? else {
        return Ok(None);
    };
    listener.set_nonblocking(true)?;
    TcpListener::from_std(listener).map(Some)
}

/// Tells the process that handed its sockets over that this one now serves (once).
pub(crate) fn report_ready() {
    static REPORTED: OnceLock<()> = OnceLock::new();
    let Some(path) = std::env::var_os(READY_FILE) else {
        return;
    };
    if REPORTED.set(()).is_err() {
        return;
    }
    // Written aside and renamed, so the waiting process never reads a half-made file.
    let path = PathBuf::from(path);
    let aside = path.with_extension("new");
    let written = std::fs::write(&aside, std::process::id().to_string())
        .and_then(|()| std::fs::rename(&aside, &path));
    match written {
        Ok(()) => tracing::info!("took over the listening sockets; serving"),
        Err(error) => tracing::error!(%error, path = %path.display(), "cannot report ready"),
    }
}
