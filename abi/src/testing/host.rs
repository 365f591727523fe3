//! A host for tests: logs are kept in memory, clocks are real, `sleep` blocks the polling
//! thread, `spawn` runs the task on its own thread, metrics are counted in memory.

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use abi_stable::std_types::{RDuration, ROk, ROption, RStr, RString};
use async_ffi::{FfiFuture, FutureExt as _};

use crate::ffi::{HostHandle, HostServices, LogLevel, StoreFuture, TableHeader, TakeOutcome};
use crate::sdk::Host;

/// What a test host recorded.
#[derive(Debug, Default)]
struct Recorded {
    logs: Vec<String>,
}

/// An in-memory host: hand [`TestHost::host`] to an extension, then read its logs and
/// metrics.
#[derive(Debug, Clone)]
pub struct TestHost {
    recorded: &'static Mutex<Recorded>,
}

impl Default for TestHost {
    fn default() -> Self {
        TestHost::new()
    }
}

static SERVICES: HostServices = HostServices {
    table_header: TableHeader::of::<HostServices>(),
    log,
    log_enabled,
    monotonic_ns,
    unix_time_ns,
    sleep,
    spawn,
    define_counter: define_metric,
    counter_add,
    define_histogram: define_metric,
    histogram_record,
    define_gauge: define_metric,
    gauge_set,
    store_incr,
    store_get,
    store_set,
    store_delete,
    store_take,
    prepare_header,
    prepare_header_name,
};

impl TestHost {
    pub fn new() -> Self {
        // Leaked like the real host's per-library context: handles must stay valid.
        let recorded: &'static Mutex<Recorded> = Box::leak(Box::default());
        TestHost { recorded }
    }

    /// Runs `f` with this host receiving the `log` records of the current thread.
    pub(crate) fn scope<T>(&self, f: impl FnOnce() -> T) -> T {
        install_logger();
        let previous = CURRENT.with(|current| current.replace(Some(self.recorded)));
        let result = f();
        CURRENT.with(|current| current.set(previous));
        result
    }

    /// The handle extensions receive.
    pub fn host(&self) -> Host {
        // SAFETY: the test host's services read their context as the leaked `recorded`.
        Host::new(unsafe {
            HostHandle::new(
                (self.recorded as *const Mutex<Recorded>).cast::<c_void>(),
                &SERVICES,
            )
        })
    }

    /// Every line the extension logged, as `LEVEL message`.
    pub fn logs(&self) -> Vec<String> {
        self.recorded.lock().unwrap().logs.clone()
    }

    /// The metrics the extension registered (names without the `ext_<module>_` prefix
    /// the real host adds): counter totals, gauge values, histogram value counts.
    pub fn metrics(&self) -> BTreeMap<String, i64> {
        let owner = self.recorded as *const Mutex<Recorded> as usize;
        METRICS
            .lock()
            .unwrap()
            .iter()
            .filter(|(o, _, _)| *o == owner)
            .map(|(_, name, value)| (name.clone(), *value))
            .collect()
    }
}

thread_local! {
    /// The test host whose extension is running on this thread.
    static CURRENT: std::cell::Cell<Option<&'static Mutex<Recorded>>> = const { std::cell::Cell::new(None) };
}

/// In a test binary the SDK shares the `log` crate with the test itself, so one logger
/// sends each record to the test host running on the thread that logs it.
struct ThreadLogger;

impl log::Log for ThreadLogger {
    fn enabled(&self, _metadata: &log::Metadata<'_>) -> bool {
        CURRENT.with(|current| current.get().is_some())
    }

    fn log(&self, record: &log::Record<'_>) {
        if let Some(recorded) = CURRENT.with(|current| current.get()) {
            let level = record.level().as_str();
            let line = format!("{level} {}", record.args());
            recorded.lock().unwrap().logs.push(line);
        }
    }

    fn flush(&self) {}
}

fn install_logger() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        if log::set_logger(&ThreadLogger).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    });
}

/// # Safety
/// `ctx` must come from [`TestHost::host`].
unsafe fn recorded<'a>(ctx: *const c_void) -> &'a Mutex<Recorded> {
    // SAFETY: the pointer was made from a leaked `Mutex<Recorded>` in `TestHost::new`.
    unsafe { &*ctx.cast::<Mutex<Recorded>>() }
}

unsafe extern "C" fn log(
    ctx: *const c_void,
    level: LogLevel,
    _target: RStr<'_>,
    message: RStr<'_>,
) {
    // SAFETY: the SDK passes back the context of the handle.
    let recorded = unsafe { recorded(ctx) };
    let level = format!("{level:?}").to_uppercase();
    let line = format!("{level} {}", message.as_str());
    recorded.lock().unwrap().logs.push(line);
}

unsafe extern "C" fn log_enabled(_ctx: *const c_void, _level: LogLevel, _target: RStr<'_>) -> bool {
    true
}

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

extern "C" fn monotonic_ns() -> u64 {
    origin().elapsed().as_nanos() as u64
}

extern "C" fn unix_time_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

extern "C" fn sleep(duration: RDuration) -> FfiFuture<()> {
    let duration = Duration::from(duration);
    // Tests drive hooks with `block_on`, so blocking the polling thread is the sleep.
    async move { std::thread::sleep(duration) }.into_ffi()
}

extern "C" fn spawn(task: FfiFuture<()>) -> bool {
    std::thread::spawn(move || block_on(task));
    true
}

/// Metric updates carry only an id, so ids index one process-wide table whose rows remember
/// the test host (by its context address) that registered them.
static METRICS: Mutex<Vec<(usize, String, i64)>> = Mutex::new(Vec::new());

unsafe extern "C" fn define_metric(ctx: *const c_void, name: RStr<'_>, _help: RStr<'_>) -> u32 {
    let owner = ctx as usize;
    let mut metrics = METRICS.lock().unwrap();
    if let Some(index) = metrics
        .iter()
        .position(|(o, n, _)| *o == owner && n == name.as_str())
    {
        return index as u32;
    }
    metrics.push((owner, name.as_str().to_string(), 0));
    (metrics.len() - 1) as u32
}

fn update(id: u32, change: impl FnOnce(&mut i64)) {
    if let Some((_, _, value)) = METRICS.lock().unwrap().get_mut(id as usize) {
        change(value);
    }
}

extern "C" fn counter_add(id: u32, value: u64) {
    update(id, |total| *total += value as i64);
}

/// A histogram's figure in the test host is its number of recorded values.
extern "C" fn histogram_record(id: u32, _value: u64) {
    update(id, |count| *count += 1);
}

extern "C" fn gauge_set(id: u32, value: i64) {
    update(id, |gauge| *gauge = value);
}

/// Runs a future to completion on this thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// The test host's shared store: one in-memory map per process (keys carry no module
/// prefix; tests use distinct keys), with expiry.
static STORE: Mutex<BTreeMap<String, (String, Option<Instant>)>> = Mutex::new(BTreeMap::new());

fn live(key: &str) -> Option<String> {
    let mut store = STORE.lock().unwrap();
    match store.get(key) {
        Some((_, Some(expires))) if *expires <= Instant::now() => {
            store.remove(key);
            None
        }
        Some((value, _)) => Some(value.clone()),
        None => None,
    }
}

fn expiry(ttl_ms: u64) -> Option<Instant> {
    (ttl_ms > 0).then(|| Instant::now() + Duration::from_millis(ttl_ms))
}

unsafe extern "C" fn store_incr(
    _ctx: *const c_void,
    key: RStr<'_>,
    delta: i64,
    ttl_ms: u64,
) -> StoreFuture<i64> {
    let key = key.as_str().to_string();
    let current = live(&key).and_then(|v| v.parse::<i64>().ok());
    let mut store = STORE.lock().unwrap();
    let value = current.unwrap_or(0) + delta;
    let expires = match (current, store.get(&key)) {
        (Some(_), Some((_, expires))) => *expires,
        _ => expiry(ttl_ms),
    };
    store.insert(key, (value.to_string(), expires));
    std::future::ready(ROk(value)).into_ffi()
}

unsafe extern "C" fn store_get(
    _ctx: *const c_void,
    key: RStr<'_>,
) -> StoreFuture<ROption<RString>> {
    let value = live(key.as_str()).map(RString::from);
    std::future::ready(ROk(value.into())).into_ffi()
}

unsafe extern "C" fn store_set(
    _ctx: *const c_void,
    key: RStr<'_>,
    value: RStr<'_>,
    ttl_ms: u64,
) -> StoreFuture<()> {
    STORE.lock().unwrap().insert(
        key.as_str().to_string(),
        (value.as_str().to_string(), expiry(ttl_ms)),
    );
    std::future::ready(ROk(())).into_ffi()
}

unsafe extern "C" fn store_delete(_ctx: *const c_void, key: RStr<'_>) -> StoreFuture<bool> {
    let existed = live(key.as_str()).is_some();
    STORE.lock().unwrap().remove(key.as_str());
    std::future::ready(ROk(existed)).into_ffi()
}

unsafe extern "C" fn store_take(
    _ctx: *const c_void,
    key: RStr<'_>,
    interval: u64,
    burst: u64,
    tokens: u64,
) -> StoreFuture<TakeOutcome> {
    let key = key.as_str().to_string();
    let now = monotonic_ns();
    let tat = live(&key).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let (outcome, new_tat) = crate::sdk::gcra_step(tat, now, interval, burst, tokens);
    let ttl = Duration::from_nanos(new_tat.saturating_sub(now)).as_millis() as u64 + 1;
    STORE
        .lock()
        .unwrap()
        .insert(key, (new_tat.to_string(), expiry(ttl)));
    std::future::ready(ROk(outcome)).into_ffi()
}

/// Headers prepared through the test host, by id.
pub(crate) static PREPARED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

unsafe extern "C" fn prepare_header(
    _ctx: *const c_void,
    name: RStr<'_>,
    value: RStr<'_>,
) -> abi_stable::std_types::RResult<u32, RString> {
    if let Err(message) = super::message::check(name.as_str(), value.as_str()) {
        return abi_stable::std_types::RErr(message);
    }
    let mut prepared = PREPARED.lock().unwrap();
    prepared.push((
        name.as_str().to_ascii_lowercase(),
        value.as_str().to_string(),
    ));
    ROk((prepared.len() - 1) as u32)
}

/// Header names prepared with the test host, by id.
pub(crate) static PREPARED_NAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C" fn prepare_header_name(
    _ctx: *const c_void,
    name: RStr<'_>,
) -> abi_stable::std_types::RResult<u32, RString> {
    if let Err(message) = super::message::check(name.as_str(), "") {
        return abi_stable::std_types::RErr(message);
    }
    let mut names = PREPARED_NAMES.lock().unwrap();
    names.push(name.as_str().to_ascii_lowercase());
    ROk((names.len() - 1) as u32)
}
