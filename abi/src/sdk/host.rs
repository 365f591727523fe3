//! The extension's handle on the host, and the bridge that sends the `log` macros there.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use abi_stable::std_types::{RDuration, RStr};
use async_ffi::FutureExt;

use crate::ffi::{HostHandle, LogLevel};

/// The host services an extension may use. Cheap to copy; valid for the whole process.
#[derive(Debug, Clone, Copy)]
pub struct Host {
    pub(crate) handle: HostHandle,
}

impl Host {
    pub(crate) fn new(handle: HostHandle) -> Self {
        Host { handle }
    }

    /// Writes one line to the host's log under `ext::<module>`.
    pub fn log(&self, level: log::Level, target: &str, message: &str) {
        let log_fn = self.handle.services().log();
        // SAFETY: `ctx` and the vtable come from the host, which keeps them alive for the
        // whole process; the strings are borrowed for the duration of the call only.
        unsafe {
            log_fn(
                self.handle.ctx,
                to_ffi_level(level),
                RStr::from_str(target),
                RStr::from_str(message),
            )
        }
    }

    /// Whether the host would write a line at this level.
    pub fn log_enabled(&self, level: log::Level, target: &str) -> bool {
        let enabled_fn = self.handle.services().log_enabled();
        // SAFETY: as in `log`.
        unsafe { enabled_fn(self.handle.ctx, to_ffi_level(level), RStr::from_str(target)) }
    }
}

impl Host {
    /// Nanoseconds on the host's monotonic clock.
    pub fn monotonic_ns(&self) -> u64 {
        (self.handle.services().monotonic_ns())()
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_time_ns(&self) -> u64 {
        (self.handle.services().unix_time_ns())()
    }

    /// Waits on the host's runtime. An extension's own tokio copy has no runtime running
    /// (it panics with "no reactor running"), so waiting always goes through the host.
    pub fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        (self.handle.services().sleep())(RDuration::from(duration))
    }

    /// Runs `task` on the host's runtime; false when the host is not running one.
    /// A panic inside the task is contained and logged by the host.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) -> bool {
        (self.handle.services().spawn())(task.into_ffi())
    }

    /// Registers a counter, exported as `ext_<module>_<name>`. Register at start-up.
    pub fn counter(&self, name: &str, help: &str) -> Counter {
        let define = self.handle.services().define_counter();
        // SAFETY: as in `log`.
        let id = unsafe { define(self.handle.ctx, RStr::from_str(name), RStr::from_str(help)) };
        Counter { id, host: *self }
    }

    /// Registers a histogram, exported as `ext_<module>_<name>`. Register at start-up.
    pub fn histogram(&self, name: &str, help: &str) -> Histogram {
        let define = self.handle.services().define_histogram();
        // SAFETY: as in `log`.
        let id = unsafe { define(self.handle.ctx, RStr::from_str(name), RStr::from_str(help)) };
        Histogram { id, host: *self }
    }
}

impl Host {
    /// Registers a gauge, exported as `ext_<module>_<name>`. Register at start-up.
    pub fn gauge(&self, name: &str, help: &str) -> Gauge {
        let define = self.handle.services().define_gauge();
        // SAFETY: as in `log`.
        let id = unsafe { define(self.handle.ctx, RStr::from_str(name), RStr::from_str(help)) };
        Gauge { id, host: *self }
    }
}

impl Host {
    /// Checks a fixed header once, at start-up, for
    /// [`Response::set_prepared`](crate::Response::set_prepared): setting it per request
    /// then copies nothing.
    pub fn prepare_header(&self, name: &str, value: &str) -> Result<PreparedHeader, crate::Error> {
        let prepare = self.handle.services().prepare_header();
        // SAFETY: as in `log`.
        let id = unsafe { prepare(self.handle.ctx, RStr::from_str(name), RStr::from_str(value)) };
        id.into_result()
            .map(|id| PreparedHeader { id })
            .map_err(|e| crate::Error::new(e.into_string()))
    }
}

impl Host {
    /// Checks a header name once, at start-up, for the `*_by` accessors of
    /// [`Request`](crate::Request) and [`Response`](crate::Response): reading or setting a
    /// header by a prepared name skips checking and parsing the name per request. On a host
    /// older than ABI 1.2 the name is kept as text and the accessors look it up by text: the
    /// same answers, at the older cost.
    pub fn prepare_name(&self, name: &str) -> Result<PreparedName, crate::Error> {
        let text: Box<str> = name.into();
        let Some(prepare) = self.handle.services().prepare_header_name() else {
            return Ok(PreparedName { id: None, text });
        };
        // SAFETY: as in `log`.
        let id = unsafe { prepare(self.handle.ctx, RStr::from_str(name)) };
        id.into_result()
            .map(|id| PreparedName { id: Some(id), text })
            .map_err(|e| crate::Error::new(e.into_string()))
    }
}

/// A header name checked and kept by the host (see [`Host::prepare_name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedName {
    /// The host's id; none on a host older than ABI 1.2.
    pub(crate) id: Option<u32>,
    pub(crate) text: Box<str>,
}

impl PreparedName {
    /// The name as it was prepared.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// A header checked and kept by the host (see [`Host::prepare_header`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreparedHeader {
    pub(crate) id: u32,
}

/// A host gauge (a value that goes up and down), set by id.
#[derive(Debug, Clone, Copy)]
pub struct Gauge {
    id: u32,
    host: Host,
}

impl Gauge {
    pub fn set(&self, value: i64) {
        (self.host.handle.services().gauge_set())(self.id, value)
    }
}

/// A host counter, updated by id: no lookup per update.
#[derive(Debug, Clone, Copy)]
pub struct Counter {
    id: u32,
    host: Host,
}

impl Counter {
    pub fn add(&self, value: u64) {
        (self.host.handle.services().counter_add())(self.id, value)
    }
}

/// A host histogram with bounded memory, updated by id.
#[derive(Debug, Clone, Copy)]
pub struct Histogram {
    id: u32,
    host: Host,
}

impl Histogram {
    pub fn record(&self, value: u64) {
        (self.host.handle.services().histogram_record())(self.id, value)
    }
}

fn to_ffi_level(level: log::Level) -> LogLevel {
    match level {
        log::Level::Error => LogLevel::Error,
        log::Level::Warn => LogLevel::Warn,
        log::Level::Info => LogLevel::Info,
        log::Level::Debug => LogLevel::Debug,
        log::Level::Trace => LogLevel::Trace,
    }
}

/// The library's own copy of the `log` crate has its own global logger; pointing it at the
/// host makes `log::info!` in an extension land in the host's output. One host handle per
/// library, so the first one wins.
static BRIDGE: OnceLock<HostLogger> = OnceLock::new();

struct HostLogger {
    host: Host,
}

impl log::Log for HostLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.host.log_enabled(metadata.level(), metadata.target())
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = record.args().to_string();
        self.host.log(record.level(), record.target(), &message);
    }

    fn flush(&self) {}
}

/// Installs the log bridge and a panic hook that reports panics through the host's log
/// (the library's std would otherwise print them on stderr, outside the host's log format).
pub(crate) fn install_bridges(host: Host) {
    let mut first = false;
    let logger = BRIDGE.get_or_init(|| {
        first = true;
        HostLogger { host }
    });
    if !first {
        return;
    }
    if log::set_logger(logger).is_ok() {
        log::set_max_level(log::LevelFilter::Trace);
    }
    std::panic::set_hook(Box::new(move |info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = super::adapter::panic_text(info.payload());
        host.log(
            log::Level::Error,
            "panic",
            &format!("extension panicked{location}: {message}"),
        );
    }));
}
