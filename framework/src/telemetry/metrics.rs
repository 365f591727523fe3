//! The host's metric registry: counters and histograms that extensions register at start-up
//! and update by id (no lookup by name per update).
//!
//! Names are free strings; a name may carry Prometheus-style labels after its base name
//! (`ext_monitor_http_requests_total{method="GET",route="/users/{id}",status="200"}`),
//! each labelled name being its own series. [`parse_series`] splits such a name; the
//! `/metrics` renderers group series by base name.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use hdrhistogram::Histogram as Hdr;
use parking_lot::{Mutex, RwLock};

use crate::grow_only;

/// Histogram values above this are clamped; an hour in microseconds covers latencies.
const HISTOGRAM_MAX: u64 = 3_600_000_000;
/// Two significant digits: every value is kept within 1% (a 1,234 µs latency is counted as
/// 1,230 to 1,240). Three digits would keep them within 0.1% at 188 KB of counts per
/// histogram, every byte written when it is created; two take 26 KB, and the monitor keeps a
/// histogram for every route template and method it sees.
const HISTOGRAM_DIGITS: u8 = 2;

pub struct Counter {
    pub name: String,
    pub help: String,
    value: AtomicU64,
    /// Counts kept elsewhere and read as part of this one (see [`Counter::share`]).
    shares: Mutex<Vec<Arc<AtomicU64>>>,
}

pub struct Gauge {
    pub name: String,
    pub help: String,
    value: AtomicI64,
}

pub struct Histogram {
    pub name: String,
    pub help: String,
    values: Mutex<Hdr<u64>>,
}

/// Base name (before labels) suffix of the request-latency histograms, in microseconds,
/// labelled `method` and `route` (the performance monitor registers them).
pub const REQUEST_DURATION_US: &str = "http_request_duration_us";
/// Base name suffix of the request counters, labelled `method`, `route` and `status`.
pub const REQUESTS_TOTAL: &str = "http_requests_total";
/// The gauge of open connections, when the server keeps one.
pub const OPEN_CONNECTIONS: &str = "http_open_connections";

/// A point-in-time copy of one histogram.
#[derive(Debug, Clone)]
pub struct HistogramSnapshot {
    pub name: String,
    pub count: u64,
    pub min: u64,
    pub max: u64,
    pub mean: f64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
}

/// Every series defined in the process, by the id its updates name. ABI 1.0's updates
/// (`counter_add(id, value)`) carry no context, so an id has to find its series without
/// knowing the application; the series themselves belong to one application's [`Registry`],
/// which alone lists and renders them. Grows by one entry per series a registry defines
/// (a name is defined once per registry, reloads included).
struct Directory {
    counters: RwLock<Vec<Arc<Counter>>>,
    histograms: RwLock<Vec<Arc<Histogram>>>,
    gauges: RwLock<Vec<Arc<Gauge>>>,
}

static DIRECTORY: Directory = Directory {
    counters: RwLock::new(Vec::new()),
    histograms: RwLock::new(Vec::new()),
    gauges: RwLock::new(Vec::new()),
};

thread_local! {
    // Each thread's copy of the directory (`crate::grow_only`): an extension's update by id
    // takes no lock, so a counter added is one atomic add, not three.
    static COUNTERS: RefCell<Vec<Arc<Counter>>> = const { RefCell::new(Vec::new()) };
    static HISTOGRAMS: RefCell<Vec<Arc<Histogram>>> = const { RefCell::new(Vec::new()) };
    static GAUGES: RefCell<Vec<Arc<Gauge>>> = const { RefCell::new(Vec::new()) };
}

/// Adds to the counter `id` names (an id from [`Registry::define_counter`]).
pub fn counter_add(id: u32, value: u64) {
    grow_only::read(&COUNTERS, &DIRECTORY.counters, id, |counter| {
        counter.add(value)
    });
}

/// Records a value in the histogram `id` names.
pub fn histogram_record(id: u32, value: u64) {
    grow_only::read(&HISTOGRAMS, &DIRECTORY.histograms, id, |histogram| {
        histogram.record(value);
    });
}

/// Sets the gauge `id` names.
pub fn gauge_set(id: u32, value: i64) {
    grow_only::read(&GAUGES, &DIRECTORY.gauges, id, |gauge| {
        gauge.value.store(value, Ordering::Relaxed);
    });
}

/// Finds `name` among `series`, or defines it in `series` and in the directory's `all`.
fn define<T>(
    series: &RwLock<Vec<(u32, Arc<T>)>>,
    all: &RwLock<Vec<Arc<T>>>,
    name: &str,
    named: impl Fn(&T) -> &str,
    make: impl FnOnce() -> T,
) -> (u32, Arc<T>) {
    let mut series = series.write();
    if let Some((id, found)) = series.iter().find(|(_, s)| named(s) == name) {
        return (*id, found.clone());
    }
    let made = Arc::new(make());
    let id = {
        let mut all = all.write();
        all.push(made.clone());
        u32::try_from(all.len() - 1).unwrap_or(u32::MAX)
    };
    series.push((id, made.clone()));
    (id, made)
}

impl Counter {
    /// Adds to the counter held directly (see [`Registry::counter`]).
    #[inline]
    pub fn add(&self, value: u64) {
        self.value.fetch_add(value, Ordering::Relaxed);
    }

    /// The count: what was added, and what every share holds.
    pub fn get(&self) -> u64 {
        let shares = self.shares.lock();
        let shared: u64 = shares.iter().map(|s| s.load(Ordering::Relaxed)).sum();
        self.value.load(Ordering::Relaxed).wrapping_add(shared)
    }

    /// Reads `share` as part of this count until [`Counter::unshare`]: one count that
    /// stands for several counters, added to once where it would have been added to each
    /// of them (a route's chain counts its ordinary requests once for all its hooks).
    pub(crate) fn share(&self, share: &Arc<AtomicU64>) {
        self.shares.lock().push(share.clone());
    }

    /// Stops reading `share`, keeping what it counted, so that shares do not pile up as
    /// configurations are reloaded.
    pub(crate) fn unshare(&self, share: &Arc<AtomicU64>) {
        let mut shares = self.shares.lock();
        if let Some(index) = shares.iter().position(|s| Arc::ptr_eq(s, share)) {
            let kept = shares.swap_remove(index).load(Ordering::Relaxed);
            self.value.fetch_add(kept, Ordering::Relaxed);
        }
    }
}

impl Histogram {
    /// Records a value in the histogram held directly (see [`Registry::histogram`]).
    pub fn record(&self, value: u64) {
        (self.values.lock()).saturating_record(value.clamp(1, HISTOGRAM_MAX));
    }
}

/// An application's metrics: its extensions', its shared store's and its server's. Each
/// application has its own ([`App::metrics`](crate::App::metrics)), kept across reloads;
/// two applications in one process never see each other's series.
#[derive(Default)]
pub struct Registry {
    counters: RwLock<Vec<(u32, Arc<Counter>)>>,
    histograms: RwLock<Vec<(u32, Arc<Histogram>)>>,
    gauges: RwLock<Vec<(u32, Arc<Gauge>)>>,
}

impl Registry {
    /// Registers a counter; the same name gives the same id.
    pub fn define_counter(&self, name: &str, help: &str) -> u32 {
        self.counter_series(name, help).0
    }

    /// A counter the caller holds and adds to without a lookup per update (the host's own
    /// counters on the request path); the same name gives the same series.
    pub fn counter(&self, name: &str, help: &str) -> Arc<Counter> {
        self.counter_series(name, help).1
    }

    fn counter_series(&self, name: &str, help: &str) -> (u32, Arc<Counter>) {
        let make = || Counter {
            name: name.to_string(),
            help: help.to_string(),
            value: AtomicU64::new(0),
            shares: Mutex::new(Vec::new()),
        };
        define(&self.counters, &DIRECTORY.counters, name, |c| &c.name, make)
    }

    pub fn counter_add(&self, id: u32, value: u64) {
        counter_add(id, value);
    }

    /// Registers a histogram; the same name gives the same id.
    pub fn define_histogram(&self, name: &str, help: &str) -> u32 {
        self.histogram_series(name, help).0
    }

    /// A histogram the caller holds and records into directly; the same name gives the
    /// same series.
    pub fn histogram(&self, name: &str, help: &str) -> Arc<Histogram> {
        self.histogram_series(name, help).1
    }

    fn histogram_series(&self, name: &str, help: &str) -> (u32, Arc<Histogram>) {
        let make = || {
            let values = Hdr::new_with_bounds(1, HISTOGRAM_MAX, HISTOGRAM_DIGITS)
                .expect("valid histogram bounds");
            Histogram {
                name: name.to_string(),
                help: help.to_string(),
                values: Mutex::new(values),
            }
        };
        define(
            &self.histograms,
            &DIRECTORY.histograms,
            name,
            |h| &h.name,
            make,
        )
    }

    pub fn histogram_record(&self, id: u32, value: u64) {
        histogram_record(id, value);
    }

    /// Registers a gauge; the same name gives the same id.
    pub fn define_gauge(&self, name: &str, help: &str) -> u32 {
        let make = || Gauge {
            name: name.to_string(),
            help: help.to_string(),
            value: AtomicI64::new(0),
        };
        define(&self.gauges, &DIRECTORY.gauges, name, |g| &g.name, make).0
    }

    pub fn gauge_set(&self, id: u32, value: i64) {
        gauge_set(id, value);
    }

    /// Every gauge with its help text and current value.
    pub fn gauges(&self) -> Vec<(String, String, i64)> {
        self.gauges
            .read()
            .iter()
            .map(|(_, g)| {
                (
                    g.name.clone(),
                    g.help.clone(),
                    g.value.load(Ordering::Relaxed),
                )
            })
            .collect()
    }

    /// Every counter with its current value.
    pub fn counters(&self) -> Vec<(String, u64)> {
        self.counters
            .read()
            .iter()
            .map(|(_, c)| (c.name.clone(), c.get()))
            .collect()
    }

    /// The value of a counter by name.
    pub fn counter_value(&self, name: &str) -> Option<u64> {
        self.counters
            .read()
            .iter()
            .find(|(_, c)| c.name == name)
            .map(|(_, c)| c.get())
    }

    pub fn histograms(&self) -> Vec<HistogramSnapshot> {
        self.histograms
            .read()
            .iter()
            .map(|(_, h)| snapshot(&h.name, &h.values.lock()))
            .collect()
    }
}

impl Registry {
    /// Like [`Registry::histograms`], with the cumulative count of values at or below each
    /// of `bounds` (ascending), taken under the same lock as the snapshot so the counts
    /// never exceed `count`.
    pub fn histograms_bucketed(&self, bounds: &[u64]) -> Vec<(HistogramSnapshot, Vec<u64>)> {
        self.histograms
            .read()
            .iter()
            .map(|(_, h)| {
                let values = h.values.lock();
                let mut buckets = vec![0u64; bounds.len()];
                // One pass over the recorded values: each lands in the first bucket whose
                // bound holds it, then the counts are summed up.
                for step in values.iter_recorded() {
                    let value = step.value_iterated_to();
                    if let Some(slot) = bounds.iter().position(|bound| value <= *bound) {
                        buckets[slot] += step.count_since_last_iteration();
                    }
                }
                let mut running = 0;
                for bucket in &mut buckets {
                    running += *bucket;
                    *bucket = running;
                }
                (snapshot(&h.name, &values), buckets)
            })
            .collect()
    }

    /// The help text of a counter, gauge or histogram by name.
    pub fn help(&self, name: &str) -> Option<String> {
        let counters = self.counters.read();
        if let Some((_, c)) = counters.iter().find(|(_, c)| c.name == name) {
            return Some(c.help.clone());
        }
        drop(counters);
        let gauges = self.gauges.read();
        if let Some((_, g)) = gauges.iter().find(|(_, g)| g.name == name) {
            return Some(g.help.clone());
        }
        drop(gauges);
        self.histograms
            .read()
            .iter()
            .find(|(_, h)| h.name == name)
            .map(|(_, h)| h.help.clone())
    }
}

fn snapshot(name: &str, values: &Hdr<u64>) -> HistogramSnapshot {
    HistogramSnapshot {
        name: name.to_string(),
        count: values.len(),
        min: values.min(),
        max: values.max(),
        mean: values.mean(),
        p50: values.value_at_quantile(0.50),
        p95: values.value_at_quantile(0.95),
        p99: values.value_at_quantile(0.99),
    }
}

/// Splits a series name into its base name and labels: `name{a="x",b="y"}` gives
/// `("name", [("a", "x"), ("b", "y")])`; a name without `{` has no labels. `None` when the
/// label part is malformed. Values may hold `{`, `}` and `,` (route templates do) and the
/// escapes `\\`, `\"` and `\n`.
pub fn parse_series(name: &str) -> Option<(&str, Vec<(String, String)>)> {
    let Some(open) = name.find('{') else {
        return Some((name, Vec::new()));
    };
    let (base, mut rest) = (&name[..open], &name[open + 1..]);
    let mut labels = Vec::new();
    loop {
        rest = rest.trim_start_matches(',');
        if rest == "}" {
            return Some((base, labels));
        }
        let (key, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        labels.push((key.trim().to_string(), value));
        rest = &after[end + 1..];
        if !(rest.starts_with(',') || rest.starts_with('}')) {
            return None;
        }
    }
}

/// Builds a series name from a base name and labels, escaping the values.
pub fn series_name(base: &str, labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return base.to_string();
    }
    let mut name = format!("{base}{{");
    for (index, (key, value)) in labels.iter().enumerate() {
        if index > 0 {
            name.push(',');
        }
        name.push_str(key);
        name.push_str("=\"");
        name.push_str(&escape_label(value));
        name.push('"');
    }
    name.push('}');
    name
}

/// Escapes a label value for a series name or the Prometheus text format.
pub fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_is_read_while_shared_and_folded_in_when_unshared() {
        let registry = Registry::default();
        let counter = registry.counter("shared_calls_total", "calls");
        counter.add(2);
        let share = Arc::new(AtomicU64::new(0));
        counter.share(&share);
        share.fetch_add(3, Ordering::Relaxed);
        assert_eq!(counter.get(), 5);
        counter.unshare(&share);
        share.fetch_add(100, Ordering::Relaxed);
        assert_eq!(
            counter.get(),
            5,
            "what the share counted stays; later adds do not"
        );
        assert!(
            counter.shares.lock().is_empty(),
            "no share is kept once unshared"
        );
        assert_eq!(registry.counter_value("shared_calls_total"), Some(5));
    }

    #[test]
    fn series_names_round_trip() {
        let name = series_name(
            "ext_monitor_http_requests_total",
            &[("route", "/users/{id}"), ("odd", "a\"b\\c,d}")],
        );
        let (base, labels) = parse_series(&name).unwrap();
        assert_eq!(base, "ext_monitor_http_requests_total");
        assert_eq!(labels[0], ("route".into(), "/users/{id}".into()));
        assert_eq!(labels[1], ("odd".into(), "a\"b\\c,d}".into()));
        assert_eq!(parse_series("plain").unwrap(), ("plain", Vec::new()));
        assert!(parse_series("bad{a=1}").is_none());
    }

    #[test]
    fn a_histogram_keeps_values_within_one_percent_in_a_small_table() {
        let registry = Registry::default();
        let id = registry.define_histogram("h", "help");
        let histograms = registry.histograms.read();
        let values = histograms[0].1.values.lock();
        // Each counts slot is 8 bytes, all of them written when the histogram is created.
        assert!(
            values.distinct_values() * 8 <= 32 * 1024,
            "{} counts slots",
            values.distinct_values()
        );
        drop(values);
        drop(histograms);
        for value in [1_234, 98_765, 3_000_000_000] {
            registry.histogram_record(id, value);
        }
        let snapshot = &registry.histograms()[0];
        for (value, kept) in [(1_234u64, snapshot.min), (3_000_000_000, snapshot.max)] {
            let error = (kept as f64 - value as f64).abs() / value as f64;
            assert!(error <= 0.01, "{value} kept as {kept}");
        }
    }

    #[test]
    fn buckets_are_cumulative() {
        let registry = Registry::default();
        let id = registry.define_histogram("h", "help");
        for value in [5, 50, 500, 5000] {
            registry.histogram_record(id, value);
        }
        let (snapshot, buckets) = registry.histograms_bucketed(&[10, 100, 1000]).remove(0);
        assert_eq!(snapshot.count, 4);
        assert_eq!(buckets, [1, 2, 3]);
    }
}
