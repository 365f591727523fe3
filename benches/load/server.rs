//! A server under test: started pinned to one core, timed from spawn to its first 200 on
//! `/health`, read from `/proc` for CPU time and peak memory, killed when dropped.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::http;

/// CPU time a server spent, in clock ticks.
#[derive(Debug, Clone, Copy)]
pub struct CpuTicks {
    pub user: u64,
    pub system: u64,
}

/// How long a server may take to answer its first `/health`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How to start one of the servers the benchmark compares.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl Spec {
    pub fn new(name: &str, program: PathBuf, args: Vec<String>) -> Spec {
        Spec {
            name: name.to_string(),
            program,
            args,
        }
    }

    pub fn start(&self, core: &str, log_dir: &Path) -> anyhow::Result<Server> {
        Server::start(&self.name, &self.program, &self.args, core, log_dir)
    }
}

pub struct Server {
    pub name: String,
    pub addr: SocketAddr,
    /// From spawning the process to its first 200 on `/health`.
    pub startup: Duration,
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Starts `program args --bind 127.0.0.1:PORT` on `core` (through `taskset`), with its
    /// output in `log_dir/<name>.log`, and waits for its first 200 on `/health`.
    pub fn start(
        name: &str,
        program: &Path,
        args: &[String],
        core: &str,
        log_dir: &Path,
    ) -> anyhow::Result<Server> {
        // A port chosen here rather than `:0`, so `/health` can be polled from the moment
        // the process exists instead of from when it prints its address.
        let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let log = log_dir.join(format!("{name}.log"));
        let out = File::create(&log)?;
        let started = Instant::now();
        let child = Command::new("taskset")
            .args(["-c", core])
            .arg(program)
            .args(args)
            .args(["--bind", &addr.to_string()])
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let mut server = Server {
            name: name.to_string(),
            addr,
            startup: Duration::ZERO,
            child,
            log,
        };
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "{name} exited ({status}) before answering:\n{}",
                    server.log()
                );
            }
            if let Ok(answer) = http::exchange(addr, "GET", "/health", &[], &[])
                && answer.status == 200
            {
                server.startup = started.elapsed();
                return Ok(server);
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "{name} did not answer /health within {START_TIMEOUT:?}:\n{}",
                    server.log()
                );
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Stops the server as Ctrl-C would and waits up to `timeout` for it to exit (a profiler
    /// it runs under writes its profile then).
    pub fn interrupt(mut self, timeout: Duration) -> anyhow::Result<()> {
        let sent = Command::new("kill")
            .args(["-INT", &self.pid().to_string()])
            .status()?;
        if !sent.success() {
            bail!("cannot interrupt {}", self.name);
        }
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "{} did not stop within {timeout:?}:\n{}",
            self.name,
            self.log()
        )
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User and system CPU time of every thread so far, in clock ticks.
    pub fn cpu_ticks(&self) -> anyhow::Result<CpuTicks> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // The command name may hold spaces and parentheses: fields are counted after its
        // closing parenthesis, where field 3 (state) is index 0, so utime (14) is index 11.
        let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |index: usize| -> anyhow::Result<u64> {
            fields
                .get(index)
                .and_then(|value| value.parse().ok())
                .with_context(|| format!("unreadable /proc/{}/stat", self.pid()))
        };
        Ok(CpuTicks {
            user: field(11)?,
            system: field(12)?,
        })
    }

    /// Peak resident memory so far (`VmHWM`), in kibibytes.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        self.status_kib("VmHWM")
    }

    /// Resident memory now (`VmRSS`), in kibibytes.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        self.status_kib("VmRSS")
    }

    /// A memory figure of `/proc/<pid>/status` (`VmHWM`, `RssAnon`, `RssFile`), in kibibytes.
    pub fn status_kib(&self, key: &str) -> anyhow::Result<u64> {
        beginnings::telemetry::memory_figure(Some(self.pid()), key)
            .map(|bytes| bytes / 1024)
            .with_context(|| format!("no {key} in /proc/{}/status", self.pid()))
    }

    /// What the server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Clock ticks per second, as `/proc/<pid>/stat` counts CPU time.
pub fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}
