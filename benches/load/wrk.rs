//! Driving a server with `wrk` pinned to the other core, one thread and a fixed number of
//! connections, and reading its figures from a Lua `done` hook rather than its text report.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// Prints the figures as one JSON line; latencies are in microseconds.
const REPORT_SCRIPT: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p99_us\":%d," ..
    "\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d,\"timeout\":%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"#;

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Figures {
    pub requests: u64,
    pub duration_us: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    connect: u64,
    read: u64,
    write: u64,
    status: u64,
    timeout: u64,
}

impl Figures {
    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / (self.duration_us as f64 / 1e6)
    }

    fn errors(&self) -> Option<String> {
        let all = [
            ("connect", self.connect),
            ("read", self.read),
            ("write", self.write),
            ("non-2xx/3xx status", self.status),
            ("timeout", self.timeout),
        ];
        let found: Vec<String> = all
            .iter()
            .filter(|(_, count)| *count > 0)
            .map(|(what, count)| format!("{count} {what}"))
            .collect();
        (!found.is_empty()).then(|| found.join(", "))
    }
}

pub struct Wrk {
    script: PathBuf,
    pub connections: u32,
    pub core: String,
}

impl Wrk {
    /// Finds `wrk`, installing Debian's package when it is missing and this runs as root.
    pub fn new(work_dir: &Path, connections: u32, core: &str) -> anyhow::Result<Wrk> {
        if !on_path("wrk") {
            install_wrk()?;
        }
        let script = work_dir.join("report.lua");
        std::fs::write(&script, REPORT_SCRIPT)?;
        Ok(Wrk {
            script,
            connections,
            core: core.to_string(),
        })
    }

    /// Drives `url` for `duration` with `headers` on every request; any failed request is
    /// an error, since a benchmark of failures measures the wrong thing.
    pub fn run(
        &self,
        url: &str,
        headers: &[(String, String)],
        duration: Duration,
    ) -> anyhow::Result<Figures> {
        let mut command = Command::new("taskset");
        command
            .args(["-c", &self.core, "wrk", "--threads", "1"])
            .arg(format!("--connections={}", self.connections))
            .arg(format!("--duration={}s", duration.as_secs().max(1)))
            .args(["--timeout", "5s", "--script"])
            .arg(&self.script);
        for (name, value) in headers {
            command.arg("--header").arg(format!("{name}: {value}"));
        }
        let output = command.arg(url).output().context("cannot run wrk")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            bail!(
                "wrk failed ({}): {stdout}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let json = stdout
            .lines()
            .find_map(|line| line.strip_prefix("WRK_JSON "))
            .with_context(|| format!("no figures in wrk's output:\n{stdout}"))?;
        let figures: Figures = serde_json::from_str(json)?;
        if let Some(errors) = figures.errors() {
            bail!("{url}: {errors} out of {} requests", figures.requests);
        }
        Ok(figures)
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn install_wrk() -> anyhow::Result<()> {
    eprintln!("wrk is not installed: installing Debian's package");
    let root = Command::new("id").arg("-u").output()?.stdout == b"0\n";
    for args in [&["update", "-qq"][..], &["install", "-y", "-qq", "wrk"]] {
        let mut command = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        let status = command
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("cannot run apt-get")?;
        if !status.success() {
            bail!("installing wrk failed: install it (`apt-get install wrk`) and run again");
        }
    }
    Ok(())
}
