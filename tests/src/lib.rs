//! The black-box test harness: builds the binaries and extension libraries with cargo (a
//! `cargo test` does not produce cdylib files), writes configurations into a temporary
//! directory, starts real servers on 127.0.0.1:0 and stops them when the test ends.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

mod in_process;
mod load;
pub mod prometheus_text;

pub use in_process::{InProcessServer, app_from_yaml};
pub use load::Load;

/// Built with `-C panic=abort`, which a profile cannot set for one package.
const ABORT_FIXTURE: &str = "fixture_abort";

/// How long a server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The environment of a server whose resident memory a test reads to find what the runtime
/// keeps (a leak per reload or swap): its allocators without their per-thread caches. Reloads
/// run on whichever blocking thread is free, and each thread's own cache (jemalloc's, in the
/// demo) or arena (the C library's, in the extensions) would add its high-water mark to the
/// figure: about a megabyte over the first thousand reloads, bounded, and not the runtime's.
pub const WITHOUT_ALLOCATOR_CACHES: [(&str, &str); 2] = [
    ("MALLOC_ARENA_MAX", "1"),
    ("_RJEM_MALLOC_CONF", "narenas:1,tcache:false"),
];

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// Where cargo puts the debug build: the binaries and the extension libraries.
pub fn build_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let target = if target.is_relative() {
        workspace_root().join(target)
    } else {
        target
    };
    target.join("debug")
}

/// Builds every package the tests need, once per test binary.
pub fn ensure_built() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // Every library and binary of the workspace: the apps, the shipped extensions
        // and the fixtures (all but the one built with its own flags below).
        let status = Command::new(&cargo)
            .current_dir(workspace_root())
            .args([
                "build",
                "--workspace",
                "--lib",
                "--bins",
                "--exclude",
                ABORT_FIXTURE,
            ])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the workspace failed");
        let status = Command::new(&cargo)
            .current_dir(workspace_root())
            .args([
                "rustc",
                "-p",
                ABORT_FIXTURE,
                "--lib",
                "--",
                "-C",
                "panic=abort",
            ])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building {ABORT_FIXTURE} failed");
    });
}

/// Builds `packages` with the release profile (for benchmarks) and returns the directory
/// holding their libraries.
pub fn build_release(packages: &[&str]) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root())
        .args(["build", "--release"]);
    for package in packages {
        command.args(["-p", package]);
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building {packages:?} for release failed");
    build_dir().with_file_name("release")
}

/// A configuration written to its own temporary directory.
pub struct ConfigDir {
    dir: tempfile::TempDir,
}

impl ConfigDir {
    pub fn new(app_yaml: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(dir.path().join("app.yaml"), app_yaml).expect("write app.yaml");
        ConfigDir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn app_yaml(&self) -> PathBuf {
        self.dir.path().join("app.yaml")
    }
}

/// A running server process, killed when dropped.
pub struct TestServer {
    child: Child,
    pub base: String,
    log: Arc<Mutex<String>>,
    /// The directory holding the server's `app.yaml` (rewritable, e.g. before a SIGHUP).
    pub config: ConfigDir,
}

impl TestServer {
    /// Starts `beginnings-demo` with `app_yaml`, extensions from the build directory.
    pub fn start(app_yaml: &str) -> TestServer {
        Self::start_binary("beginnings-demo", app_yaml, &[])
    }

    /// Starts `beginnings-demo` with `app_yaml` and more command-line arguments.
    pub fn start_with(app_yaml: &str, extra_args: &[&str]) -> TestServer {
        Self::start_binary("beginnings-demo", app_yaml, extra_args)
    }

    pub fn start_binary(binary: &str, app_yaml: &str, extra_args: &[&str]) -> TestServer {
        Self::start_binary_with_env(binary, app_yaml, extra_args, &[])
    }

    /// As [`TestServer::start_binary`], with more environment variables for the server.
    pub fn start_binary_with_env(
        binary: &str,
        app_yaml: &str,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> TestServer {
        ensure_built();
        Self::start_program(&build_dir().join(binary), app_yaml, extra_args, env)
    }

    /// Starts the server binary at `program` (a copy of a built one, say), as
    /// [`TestServer::start_binary_with_env`] does.
    pub fn start_program(
        program: &Path,
        app_yaml: &str,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> TestServer {
        ensure_built();
        let config = ConfigDir::new(app_yaml);
        let mut child = server_command(program, &config, extra_args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts");
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().expect("stderr piped");
        let sink = log.clone();
        thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read) = stderr.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..read]));
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
        match receiver.recv_timeout(START_TIMEOUT) {
            Ok(base) => TestServer {
                child,
                base,
                log,
                config,
            },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                thread::sleep(Duration::from_millis(100));
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
        beginnings::telemetry::memory_figure(Some(self.pid()), "VmRSS")
            .expect("VmRSS of the server")
            / 1024
    }

    /// What the server wrote to its log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle` (log lines are written asynchronously).
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log();
            if log.contains(needle) || Instant::now() > deadline {
                return log;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_command(program: &Path, config: &ConfigDir, extra_args: &[&str]) -> Command {
    let mut command = Command::new(program);
    if program.file_name().is_some_and(|name| name == "beginnings") {
        command.arg("serve");
    }
    command
        .arg("--config")
        .arg(config.app_yaml())
        .arg("--bind")
        .arg("127.0.0.1:0")
        .args(extra_args)
        .env_remove("BEGINNINGS_EXTENSIONS_DIR")
        .env_remove("BEGINNINGS_ENV")
        .env("RUST_LOG", "info")
        .current_dir(config.path());
    if !extra_args.contains(&"--extensions-dir") {
        command.arg("--extensions-dir").arg(build_dir());
    }
    command
}

/// The outcome of a server that was expected not to start.
pub struct Failed {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `beginnings-demo` with `app_yaml` and expects it to exit on its own within 30 s.
pub fn start_expecting_failure(app_yaml: &str, extra_args: &[&str]) -> Failed {
    ensure_built();
    let config = ConfigDir::new(app_yaml);
    let mut child = server_command(&build_dir().join("beginnings-demo"), &config, extra_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server process starts");
    let deadline = Instant::now() + START_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server was expected to exit but kept running");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Failed {
        status,
        stdout,
        stderr,
    }
}

/// A test that needs a service or tool this machine lacks skips, saying so on stderr, unless
/// its `BEGINNINGS_REQUIRE_*` flag is set (CI sets every one): then it fails, so a missing
/// service never passes for a working one.
pub fn skip_unless_required(flag: &str, reason: &str) {
    assert!(
        std::env::var_os(flag).is_none(),
        "{flag} is set, but {reason}"
    );
    eprintln!("skipped: {reason} (set {flag}=1 to make this a failure)");
}

/// A blocking HTTP client for the tests, with a short timeout so a hung server fails fast.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}
