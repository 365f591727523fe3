//! The listening socket (with the configured backlog) and the open-files limit.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket, lookup_host};

use crate::error::Error;

/// The listening socket a previous process handed over at `index` (SIGUSR2, or systemd's
/// socket activation), else `addr` bound anew.
pub(crate) async fn bind_or_inherit(
    addr: &str,
    backlog: u32,
    index: usize,
) -> Result<TcpListener, Error> {
    match super::handover::inherited(index) {
        Ok(Some(listener)) => {
            let inherited = listener.local_addr().map(|a| a.to_string());
            tracing::info!(
                socket = inherited.as_deref().unwrap_or("?"),
                configured = addr,
                "listening socket handed over; not binding"
            );
            Ok(listener)
        }
        Ok(None) => bind(addr, backlog).await,
        Err(source) => Err(Error::Bind {
            addr: format!(
                "{addr} (the socket handed over as descriptor {})",
                3 + index
            ),
            source,
        }),
    }
}

/// Binds `addr` (`HOST:PORT`, a name is resolved) with a listen queue of `backlog`.
pub(crate) async fn bind(addr: &str, backlog: u32) -> Result<TcpListener, Error> {
    let fail = |source| Error::Bind {
        addr: addr.to_string(),
        source,
    };
    let resolved: Vec<SocketAddr> = lookup_host(addr).await.map_err(fail)?.collect();
    let mut last_error = None;
    for candidate in resolved {
        match listen(candidate, backlog) {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(fail(last_error.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the name resolved to no address",
        )
    })))
}

fn listen(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // A restarted server must be able to bind while old connections sit in TIME_WAIT.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Raises the soft open-files limit to the hard limit (every connection is a file
/// descriptor) and logs both; a failure is logged, not fatal.
pub(crate) fn raise_open_files_limit() {
    #[cfg(unix)]
    match rlimit::Resource::NOFILE.get() {
        Ok((soft, hard)) if soft < hard => match rlimit::increase_nofile_limit(hard) {
            Ok(raised) => tracing::info!(
                previous_soft = soft,
                soft = raised,
                hard,
                "raised the open-files limit"
            ),
            Err(error) => {
                tracing::warn!(soft, hard, %error, "cannot raise the open-files limit");
            }
        },
        Ok((soft, hard)) => tracing::info!(soft, hard, "open-files limit"),
        Err(error) => tracing::warn!(%error, "cannot read the open-files limit"),
    }
}
