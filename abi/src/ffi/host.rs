//! Services the host hands to every extension instance: the extension's only way to log
//! (its own copy of a logging or tracing crate would write nowhere).

use std::ffi::c_void;

use abi_stable::{
    StableAbi,
    std_types::{RDuration, ROption, RResult, RStr, RString},
};
use async_ffi::FfiFuture;

use super::table::versioned_table;

/// Log levels, most severe first; the numbers are part of the ABI.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

versioned_table! {
/// The host-services table, built by the host and handed to every extension instance
/// (append-only; see [`super::table`]).
pub struct HostServices, read through HostServicesRef {
    /// Emits one log line; `target` is the extension's own target, the host files it
    /// under `ext::<module>`.
    pub log: unsafe extern "C" fn(
        ctx: *const c_void,
        level: LogLevel,
        target: RStr<'_>,
        message: RStr<'_>,
    ),
    /// Whether a line at this level would be written, so disabled logging costs nothing.
    pub log_enabled:
        unsafe extern "C" fn(ctx: *const c_void, level: LogLevel, target: RStr<'_>) -> bool,
    /// Nanoseconds on a monotonic clock (for durations).
    pub monotonic_ns: extern "C" fn() -> u64,
    /// Nanoseconds since the Unix epoch (for timestamps).
    pub unix_time_ns: extern "C" fn() -> u64,
    /// A future that completes after `duration`, driven by the host's runtime.
    pub sleep: extern "C" fn(duration: RDuration) -> FfiFuture<()>,
    /// Runs a future on the host's runtime; false when the host is not running one.
    pub spawn: extern "C" fn(task: FfiFuture<()>) -> bool,
    /// Registers a counter named `ext_<module>_<name>`; returns its id.
    pub define_counter:
        unsafe extern "C" fn(ctx: *const c_void, name: RStr<'_>, help: RStr<'_>) -> u32,
    /// Adds to a counter by id.
    pub counter_add: extern "C" fn(id: u32, value: u64),
    /// Registers a histogram named `ext_<module>_<name>`; returns its id.
    pub define_histogram:
        unsafe extern "C" fn(ctx: *const c_void, name: RStr<'_>, help: RStr<'_>) -> u32,
    /// Records one value in a histogram by id.
    pub histogram_record: extern "C" fn(id: u32, value: u64),
    /// Registers a gauge named `ext_<module>_<name>`; returns its id.
    pub define_gauge:
        unsafe extern "C" fn(ctx: *const c_void, name: RStr<'_>, help: RStr<'_>) -> u32,
    /// Sets a gauge by id.
    pub gauge_set: extern "C" fn(id: u32, value: i64),
    /// Shared store: adds `delta` to the integer at `key` (missing counts as 0), setting its
    /// expiry to `ttl_ms` when the key is created (0: no expiry); the new value.
    pub store_incr: unsafe extern "C" fn(
        ctx: *const c_void,
        key: RStr<'_>,
        delta: i64,
        ttl_ms: u64,
    ) -> StoreFuture<i64>,
    /// Shared store: the text at `key`, if any.
    pub store_get:
        unsafe extern "C" fn(ctx: *const c_void, key: RStr<'_>) -> StoreFuture<ROption<RString>>,
    /// Shared store: sets `key` to `value`, expiring after `ttl_ms` (0: never).
    pub store_set: unsafe extern "C" fn(
        ctx: *const c_void,
        key: RStr<'_>,
        value: RStr<'_>,
        ttl_ms: u64,
    ) -> StoreFuture<()>,
    /// Shared store: removes `key`; true when it existed.
    pub store_delete: unsafe extern "C" fn(ctx: *const c_void, key: RStr<'_>) -> StoreFuture<bool>,
    /// Shared store: one GCRA step on `key` — take `tokens` from a bucket that refills one
    /// token per `emission_interval_ns` and holds at most `burst` — atomically, across every
    /// instance sharing the store.
    pub store_take: unsafe extern "C" fn(
        ctx: *const c_void,
        key: RStr<'_>,
        emission_interval_ns: u64,
        burst: u64,
        tokens: u64,
    ) -> StoreFuture<TakeOutcome>,
    /// Checks and keeps a header (name and value) for the rest of the process; hooks then
    /// set it by id, so a fixed header costs no parsing or copying per request.
    pub prepare_header: unsafe extern "C" fn(
        ctx: *const c_void,
        name: RStr<'_>,
        value: RStr<'_>,
    ) -> RResult<u32, RString>,
}
appended {
    /// (1.2) Checks and keeps a header name for the rest of the process; hooks then read
    /// (`MessageVTable::header_by_id`) and set (`MessageVTable::put_headers`) headers of that
    /// name by id, without the name being checked again per request.
    pub prepare_header_name:
        unsafe extern "C" fn(ctx: *const c_void, name: RStr<'_>) -> RResult<u32, RString>,
}
}

/// What a shared-store operation gives back: the value, or why the store could not answer
/// (unreachable, timed out); the extension applies its `on_store_error` policy.
pub type StoreFuture<T> = FfiFuture<RResult<T, RString>>;

/// The result of one GCRA step.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakeOutcome {
    pub allowed: bool,
    /// Tokens left after this step.
    pub remaining: u64,
    /// When refused, how long until the tokens would be available.
    pub retry_after_ns: u64,
    /// How long until the bucket is full again.
    pub reset_after_ns: u64,
}

/// What an extension holds to reach the host: an opaque per-module context and the table of
/// services. Part of the frozen core: two pointers, whatever the table grows to.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct HostHandle {
    /// Owned by the host and alive for the whole process (libraries are never unloaded).
    pub(crate) ctx: *const c_void,
    /// The host's [`HostServices`], of the host's length (read it with [`HostServicesRef`]).
    pub(crate) services: *const c_void,
}

impl HostHandle {
    /// A handle on the host's services for one library.
    ///
    /// # Safety
    /// `ctx` is what every function of `services` expects as its context, and stays valid
    /// for the rest of the process.
    pub const unsafe fn new(ctx: *const c_void, services: &'static HostServices) -> Self {
        HostHandle {
            ctx,
            services: (services as *const HostServices).cast(),
        }
    }

    /// The services table behind the handle.
    pub fn services(&self) -> HostServicesRef {
        // SAFETY: the host hands over its static `HostServices` (the contract of `HostHandle`);
        // a host of major 1 always fills in the 1.0 core.
        unsafe { HostServicesRef::from_raw(self.services.cast()) }
    }
}

// SAFETY: `ctx` points to host data that is immutable after creation and lives for the rest
// of the process; the vtable functions are thread-safe.
unsafe impl Send for HostHandle {}
// SAFETY: as above; nothing behind the handle is mutated through it.
unsafe impl Sync for HostHandle {}

impl std::fmt::Debug for HostHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostHandle").finish_non_exhaustive()
    }
}
