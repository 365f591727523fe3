//! The host services handed to extensions: logging under the target `ext::<module>`,
//! clocks, `sleep` and `spawn` on the host's runtime, and counters and histograms.

use std::ffi::c_void;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use abi_stable::std_types::{RDuration, ROption, RStr, RString};
use async_ffi::{FfiFuture, FutureExt as _};
use beginnings_abi::ffi::{
    HostHandle, HostServices, LogLevel, StoreFuture, TableHeader, TakeOutcome,
};
use futures_util::FutureExt as _;

use super::guard::guarded;
use crate::store::SharedStore;
use crate::telemetry::metrics;

/// What the host knows about the library a handle was given to.
struct ModuleContext {
    module: String,
    log_target: String,
    /// Prefix of the metric names the library registers (`ext_<module>_`).
    metric_prefix: String,
    /// Prefix of the library's shared-store keys (`beginnings:<module>:`), so modules
    /// never see each other's keys.
    store_prefix: String,
    /// The shared store of the generation this library's extensions were created for.
    store: Arc<SharedStore>,
}

static HOST_SERVICES: HostServices = HostServices {
    table_header: TableHeader::of::<HostServices>(),
    log: host_log,
    log_enabled: host_log_enabled,
    monotonic_ns: host_monotonic_ns,
    unix_time_ns: host_unix_time_ns,
    sleep: host_sleep,
    spawn: host_spawn,
    define_counter: host_define_counter,
    counter_add: host_counter_add,
    define_histogram: host_define_histogram,
    histogram_record: host_histogram_record,
    define_gauge: host_define_gauge,
    gauge_set: host_gauge_set,
    store_incr: host_store_incr,
    store_get: host_store_get,
    store_set: host_store_set,
    store_delete: host_store_delete,
    store_take: host_store_take,
    prepare_header: host_prepare_header,
    prepare_header_name: host_prepare_header_name,
};

/// The runtime extensions' `sleep` and `spawn` use when called off a runtime thread: the
/// one of the server that bound last (an earlier server's runtime may be gone).
static RUNTIME: parking_lot::RwLock<Option<tokio::runtime::Handle>> =
    parking_lot::RwLock::new(None);

/// Records the runtime the server runs on (called whenever a server binds).
pub(crate) fn set_runtime(handle: tokio::runtime::Handle) {
    *RUNTIME.write() = Some(handle);
}

fn runtime() -> Option<tokio::runtime::Handle> {
    tokio::runtime::Handle::try_current()
        .ok()
        .or_else(|| RUNTIME.read().clone())
}

/// A host handle for one library, bound to the shared store of the generation being built.
/// The context is leaked on purpose: libraries are never unloaded, so the handle must stay
/// valid for the rest of the process. Contexts are kept and reused, so a reload with the
/// same store leaks nothing new.
pub(crate) fn handle_for(module: &str, store: &Arc<SharedStore>) -> HostHandle {
    static CONTEXTS: parking_lot::Mutex<Vec<&'static ModuleContext>> =
        parking_lot::Mutex::new(Vec::new());
    let mut contexts = CONTEXTS.lock();
    let known = (contexts.iter()).find(|c| c.module == module && Arc::ptr_eq(&c.store, store));
    let context: &'static ModuleContext = match known {
        Some(context) => context,
        None => {
            let context = Box::leak(Box::new(ModuleContext {
                module: module.to_owned(),
                log_target: format!("ext::{module}"),
                metric_prefix: format!("ext_{module}_"),
                store_prefix: format!("beginnings:{module}:"),
                store: store.clone(),
            }));
            contexts.push(context);
            context
        }
    };
    // SAFETY: every host service reads its context as the `ModuleContext` made here, which
    // is leaked and so valid for the rest of the process.
    unsafe {
        HostHandle::new(
            (context as *const ModuleContext).cast::<c_void>(),
            &HOST_SERVICES,
        )
    }
}

fn level(level: LogLevel) -> log::Level {
    match level {
        LogLevel::Error => log::Level::Error,
        LogLevel::Warn => log::Level::Warn,
        LogLevel::Info => log::Level::Info,
        LogLevel::Debug => log::Level::Debug,
        LogLevel::Trace => log::Level::Trace,
    }
}

/// # Safety
/// `ctx` must come from [`handle_for`].
unsafe fn context<'a>(ctx: *const c_void) -> &'a ModuleContext {
    // SAFETY: the caller passes a pointer made by `handle_for`, leaked and never freed.
    unsafe { &*ctx.cast::<ModuleContext>() }
}

// The records go through the `log` facade because its targets may be chosen at run time;
// a binary that installs a tracing subscriber (with its log bridge) sees them as tracing
// events with the target `ext::<module>`.
unsafe extern "C" fn host_log(
    ctx: *const c_void,
    log_level: LogLevel,
    _target: RStr<'_>,
    message: RStr<'_>,
) {
    guarded(
        "log",
        || (),
        || {
            // SAFETY: the extension passes back the context of the handle it was given.
            let context = unsafe { context(ctx) };
            let level = level(log_level);
            if level > log::max_level() {
                return;
            }
            log::logger().log(
                &log::Record::builder()
                    .level(level)
                    .target(&context.log_target)
                    .args(format_args!("{}", message.as_str()))
                    .build(),
            );
        },
    )
}

unsafe extern "C" fn host_log_enabled(
    ctx: *const c_void,
    log_level: LogLevel,
    _target: RStr<'_>,
) -> bool {
    guarded(
        "log_enabled",
        || false,
        || {
            // SAFETY: as in `host_log`.
            let context = unsafe { context(ctx) };
            let level = level(log_level);
            level <= log::max_level()
                && log::logger().enabled(
                    &log::Metadata::builder()
                        .level(level)
                        .target(&context.log_target)
                        .build(),
                )
        },
    )
}

fn clock_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

extern "C" fn host_monotonic_ns() -> u64 {
    guarded("monotonic_ns", || 0, || monotonic_ns_at(Instant::now()))
}

/// `at` on the clock extensions see through `monotonic_ns`: a caller that needs the time
/// for other uses too reads the clock once.
pub(crate) fn monotonic_ns_at(at: Instant) -> u64 {
    at.saturating_duration_since(clock_origin()).as_nanos() as u64
}

extern "C" fn host_unix_time_ns() -> u64 {
    guarded(
        "unix_time_ns",
        || 0,
        || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        },
    )
}

extern "C" fn host_sleep(duration: RDuration) -> FfiFuture<()> {
    guarded(
        "sleep",
        || std::future::ready(()).into_ffi(),
        || {
            let duration = std::time::Duration::from(duration);
            match runtime() {
                Some(handle) => {
                    // The timer is registered with the host runtime's driver, whichever thread asks.
                    let _entered = handle.enter();
                    tokio::time::sleep(duration).into_ffi()
                }
                None => {
                    tracing::error!("an extension called sleep while no runtime is running");
                    std::future::ready(()).into_ffi()
                }
            }
        },
    )
}

extern "C" fn host_spawn(task: FfiFuture<()>) -> bool {
    guarded(
        "spawn",
        || false,
        || {
            let Some(handle) = runtime() else {
                return false;
            };
            handle.spawn(async move {
                // A panic inside the extension's future comes back as a panic of the FFI future.
                if AssertUnwindSafe(task).catch_unwind().await.is_err() {
                    tracing::error!("a task spawned by an extension panicked");
                }
            });
            true
        },
    )
}

/// A metric's full name: the library's prefix (`ext_<module>_`) and the name it gave.
///
/// # Safety
/// As for [`context`].
/// The module's series name for `name`, and the application's registry to define it in.
unsafe fn metric_name(ctx: *const c_void, name: RStr<'_>) -> (String, &'static metrics::Registry) {
    // SAFETY: guaranteed by the caller.
    let context: &'static ModuleContext = unsafe { context(ctx) };
    let name = format!("{}{}", context.metric_prefix, name.as_str());
    (name, context.store.registry())
}

unsafe extern "C" fn host_define_counter(
    ctx: *const c_void,
    name: RStr<'_>,
    help: RStr<'_>,
) -> u32 {
    guarded(
        "define_counter",
        || u32::MAX,
        || {
            // SAFETY: as in `host_log`.
            let (name, registry) = unsafe { metric_name(ctx, name) };
            registry.define_counter(&name, help.as_str())
        },
    )
}

extern "C" fn host_counter_add(id: u32, value: u64) {
    guarded(
        "counter_add",
        || (),
        || {
            metrics::counter_add(id, value);
        },
    )
}

unsafe extern "C" fn host_define_histogram(
    ctx: *const c_void,
    name: RStr<'_>,
    help: RStr<'_>,
) -> u32 {
    guarded(
        "define_histogram",
        || u32::MAX,
        || {
            // SAFETY: as in `host_log`.
            let (name, registry) = unsafe { metric_name(ctx, name) };
            registry.define_histogram(&name, help.as_str())
        },
    )
}

extern "C" fn host_histogram_record(id: u32, value: u64) {
    guarded(
        "histogram_record",
        || (),
        || {
            metrics::histogram_record(id, value);
        },
    )
}

unsafe extern "C" fn host_define_gauge(ctx: *const c_void, name: RStr<'_>, help: RStr<'_>) -> u32 {
    guarded(
        "define_gauge",
        || u32::MAX,
        || {
            // SAFETY: as in `host_log`.
            let (name, registry) = unsafe { metric_name(ctx, name) };
            registry.define_gauge(&name, help.as_str())
        },
    )
}

extern "C" fn host_gauge_set(id: u32, value: i64) {
    guarded(
        "gauge_set",
        || (),
        || {
            metrics::gauge_set(id, value);
        },
    )
}

/// The generation's store and the key namespaced by module.
///
/// # Safety
/// As for [`context`].
unsafe fn store_and_key(ctx: *const c_void, key: RStr<'_>) -> (Arc<SharedStore>, String) {
    // SAFETY: guaranteed by the caller.
    let context = unsafe { context(ctx) };
    let key = format!("{}{}", context.store_prefix, key.as_str());
    (context.store.clone(), key)
}

fn ttl(ttl_ms: u64) -> Option<std::time::Duration> {
    (ttl_ms > 0).then(|| std::time::Duration::from_millis(ttl_ms))
}

/// The answer of a store callback that panicked before it made its future.
fn store_panicked<T: Send + 'static>() -> StoreFuture<T> {
    std::future::ready(abi_stable::std_types::RErr(RString::from(
        "the host panicked while starting the store operation",
    )))
    .into_ffi()
}

fn into_ffi<T: Send + 'static>(
    operation: impl std::future::Future<Output = crate::store::StoreResult<T>> + Send + 'static,
) -> StoreFuture<T> {
    // Extensions see the store's failure as one line of text (the ABI carries no kinds).
    async move {
        operation
            .await
            .map_err(|error| RString::from(error.to_string()))
            .into()
    }
    .into_ffi()
}

unsafe extern "C" fn host_store_incr(
    ctx: *const c_void,
    key: RStr<'_>,
    delta: i64,
    ttl_ms: u64,
) -> StoreFuture<i64> {
    guarded("store_incr", store_panicked, || {
        // SAFETY: the extension passes back the context of its handle.
        let (shared, key) = unsafe { store_and_key(ctx, key) };
        into_ffi(async move {
            crate::store::run(&shared, move |store| store.incr(key, delta, ttl(ttl_ms))).await
        })
    })
}

unsafe extern "C" fn host_store_get(
    ctx: *const c_void,
    key: RStr<'_>,
) -> StoreFuture<ROption<RString>> {
    guarded("store_get", store_panicked, || {
        // SAFETY: as in `host_store_incr`.
        let (shared, key) = unsafe { store_and_key(ctx, key) };
        into_ffi(async move {
            let value = crate::store::run(&shared, move |store| store.get(key)).await?;
            Ok(value.map(RString::from).into())
        })
    })
}

unsafe extern "C" fn host_store_set(
    ctx: *const c_void,
    key: RStr<'_>,
    value: RStr<'_>,
    ttl_ms: u64,
) -> StoreFuture<()> {
    guarded("store_set", store_panicked, || {
        // SAFETY: as in `host_store_incr`.
        let (shared, key) = unsafe { store_and_key(ctx, key) };
        let value = value.as_str().to_string();
        into_ffi(async move {
            crate::store::run(&shared, move |store| store.set(key, value, ttl(ttl_ms))).await
        })
    })
}

unsafe extern "C" fn host_store_delete(ctx: *const c_void, key: RStr<'_>) -> StoreFuture<bool> {
    guarded("store_delete", store_panicked, || {
        // SAFETY: as in `host_store_incr`.
        let (shared, key) = unsafe { store_and_key(ctx, key) };
        into_ffi(async move { crate::store::run(&shared, move |store| store.delete(key)).await })
    })
}

unsafe extern "C" fn host_store_take(
    ctx: *const c_void,
    key: RStr<'_>,
    interval_ns: u64,
    burst: u64,
    tokens: u64,
) -> StoreFuture<TakeOutcome> {
    guarded("store_take", store_panicked, || {
        // SAFETY: as in `host_store_incr`.
        let (shared, key) = unsafe { store_and_key(ctx, key) };
        into_ffi(async move {
            let take = crate::store::run(&shared, move |store| {
                store.take(key, interval_ns, burst, tokens)
            })
            .await?;
            Ok(TakeOutcome {
                allowed: take.allowed,
                remaining: take.remaining,
                retry_after_ns: take.retry_after_ns,
                reset_after_ns: take.reset_after_ns,
            })
        })
    })
}

unsafe extern "C" fn host_prepare_header(
    _ctx: *const c_void,
    name: RStr<'_>,
    value: RStr<'_>,
) -> abi_stable::std_types::RResult<u32, RString> {
    guarded(
        "prepare_header",
        || {
            abi_stable::std_types::RErr(RString::from(
                "the host panicked while preparing the header",
            ))
        },
        || {
            super::prepared::prepare(name.as_str(), value.as_str())
                .map_err(RString::from)
                .into()
        },
    )
}

unsafe extern "C" fn host_prepare_header_name(
    _ctx: *const c_void,
    name: RStr<'_>,
) -> abi_stable::std_types::RResult<u32, RString> {
    guarded(
        "prepare_header_name",
        || {
            abi_stable::std_types::RErr(RString::from(
                "the host panicked while preparing the header name",
            ))
        },
        || {
            super::prepared::prepare_name(name.as_str())
                .map_err(RString::from)
                .into()
        },
    )
}
