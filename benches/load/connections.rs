//! Memory per connection: a freshly started server, thousands of HTTP/1.1 keep-alive
//! connections opened to it from here, one request answered on each, then all held open
//! and idle while the server's resident memory is read.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::http;
use crate::server::{Server, Spec};

/// Time for the server to finish with the last answer before its memory is read.
const SETTLE: Duration = Duration::from_millis(300);

pub struct ConnectionMemory {
    pub server: String,
    pub connections: usize,
    /// `VmRSS` with no connection open, and with all of them open and idle, in KiB.
    pub before_kib: u64,
    pub after_kib: u64,
    /// Connections the server still held open once the memory was read.
    pub still_open: usize,
    /// From the first connect to the last answer.
    pub opening: Duration,
}

impl ConnectionMemory {
    pub fn per_connection_kib(&self) -> f64 {
        self.after_kib.saturating_sub(self.before_kib) as f64 / self.connections.max(1) as f64
    }
}

/// Raises this process's open-files limit so it can hold `connections` sockets (the servers
/// it starts afterwards inherit the limit); returns the limit it got.
pub fn raise_open_files(connections: usize) -> anyhow::Result<u64> {
    let wanted = connections as u64 + 1024;
    let got = rlimit::increase_nofile_limit(wanted).context("cannot raise the open-files limit")?;
    if got < wanted {
        bail!("the open-files limit is {got}: {wanted} are needed (raise the hard limit)");
    }
    Ok(got)
}

/// Starts `spec` afresh on `core`, opens `count` connections to it, sends `GET path` with
/// `headers` on each and reads its 200, then reads the server's memory with all of them open.
pub fn measure(
    spec: &Spec,
    core: &str,
    log_dir: &Path,
    count: usize,
    path: &str,
    headers: &[(String, String)],
) -> anyhow::Result<ConnectionMemory> {
    let server = spec.start(core, log_dir)?;
    // One answered request first, so what the first request of a process sets up once
    // (lazy statics, the allocator's first arenas) is in the figure before.
    http::exchange(server.addr, "GET", path, headers, &[])?;
    std::thread::sleep(SETTLE);
    let before_kib = server.rss_kib()?;
    let started = Instant::now();
    let mut streams = Vec::with_capacity(count);
    for index in 0..count {
        streams
            .push(open(&server, path, headers).with_context(|| {
                format!("{}: connection {} of {count}", server.name, index + 1)
            })?);
    }
    let opening = started.elapsed();
    std::thread::sleep(SETTLE);
    let after_kib = server.rss_kib()?;
    let still_open = streams.iter().filter(|stream| is_open(stream)).count();
    Ok(ConnectionMemory {
        server: spec.name.clone(),
        connections: count,
        before_kib,
        after_kib,
        still_open,
        opening,
    })
}

fn open(server: &Server, path: &str, headers: &[(String, String)]) -> anyhow::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&server.addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let answer = http::get_kept_alive(&mut stream, server.addr, path, headers)?;
    if answer.status != 200 {
        bail!("GET {path} answered {}: `{}`", answer.status, answer.text());
    }
    if answer
        .header("connection")
        .is_some_and(|value| value.eq_ignore_ascii_case("close"))
    {
        bail!("the server closes the connection after its answer");
    }
    Ok(stream)
}

/// Whether the server still holds `stream` open: nothing to read yet, and no end of stream.
fn is_open(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    matches!(stream.peek(&mut byte), Err(error) if error.kind() == ErrorKind::WouldBlock)
}
