//! A server process the server tests can signal: `beginnings-demo` started with `--port 0`
//! on 127.0.0.1, its configuration rewritable in place, its log captured.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use beginnings_tests::{ConfigDir, build_dir, ensure_built};

pub struct Proc {
    child: Child,
    pub base: String,
    log: Arc<Mutex<String>>,
    pub config: ConfigDir,
}

impl Proc {
    pub fn start(app_yaml: &str) -> Proc {
        Self::start_with(app_yaml, &[])
    }

    pub fn start_with(app_yaml: &str, extra_args: &[&str]) -> Proc {
        ensure_built();
        let config = ConfigDir::new(app_yaml);
        let mut child = Command::new(build_dir().join("beginnings-demo"))
            .arg("--config")
            .arg(config.app_yaml())
            .args(["--port", "0", "--extensions-dir"])
            .arg(build_dir())
            .args(extra_args)
            .env_remove("BEGINNINGS_EXTENSIONS_DIR")
            .env_remove("BEGINNINGS_ENV")
            .env("RUST_LOG", "info")
            .current_dir(config.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts");
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().expect("stderr piped");
        let sink = log.clone();
        thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(read) = stderr.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buffer[..read]);
                sink.lock().unwrap().push_str(&text);
            }
        });
        let stdout = child.stdout.take().expect("stdout piped");
        let (sender, receiver) = std::sync::mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = sender.send(addr.to_string());
                }
            }
        });
        match receiver.recv_timeout(Duration::from_secs(30)) {
            Ok(base) => Proc {
                child,
                base,
                log,
                config,
            },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("server did not start; its log:\n{}", log.lock().unwrap());
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `HOST:PORT`, for raw sockets.
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`TERM`, `HUP`, ...) with the `kill` command.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Replaces the configuration file (the server reads it again on SIGHUP).
    pub fn write_config(&self, app_yaml: &str) {
        std::fs::write(self.config.app_yaml(), app_yaml).expect("write app.yaml");
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits (at most `within`) until `needle` appears `count` times in the log.
    pub fn wait_for_log_count(&self, needle: &str, count: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.log().matches(needle).count() >= count {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits (at most `within`) for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The resident set size in kB, from /proc.
    pub fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/PID/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS line")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
