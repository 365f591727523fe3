//! The host's metric registry: counters and histograms that extensions register at start-up
//! and update by id (no lookup by name per update).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use hdrhistogram::Histogram as Hdr;
use parking_lot::{Mutex, RwLock};

/// Histogram values above this are clamped; an hour in microseconds covers latencies.
const HISTOGRAM_MAX: u64 = 3_600_000_000;

pub struct Counter {
    pub name: String,
    pub help: String,
    value: AtomicU64,
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

#[derive(Default)]
pub struct Registry {
    counters: RwLock<Vec<Counter>>,
    histograms: RwLock<Vec<Histogram>>,
    gauges: RwLock<Vec<Gauge>>,
}

/// The process-wide registry.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

impl Registry {
    /// Registers a counter; the same name gives the same id.
    pub fn define_counter(&self, name: &str, help: &str) -> u32 {
        let mut counters = self.counters.write();
        if let Some(index) = counters.iter().position(|c| c.name == name) {
            return index as u32;
        }
        counters.push(Counter {
            name: name.to_string(),
            help: help.to_string(),
            value: AtomicU64::new(0),
        });
        (counters.len() - 1) as u32
    }

    pub fn counter_add(&self, id: u32, value: u64) {
        if let Some(counter) = self.counters.read().get(id as usize) {
            counter.value.fetch_add(value, Ordering::Relaxed);
        }
    }

    /// Registers a histogram; the same name gives the same id.
    pub fn define_histogram(&self, name: &str, help: &str) -> u32 {
        let mut histograms = self.histograms.write();
        if let Some(index) = histograms.iter().position(|h| h.name == name) {
            return index as u32;
        }
        let values = Hdr::new_with_bounds(1, HISTOGRAM_MAX, 3).expect("valid histogram bounds");
        histograms.push(Histogram {
            name: name.to_string(),
            help: help.to_string(),
            values: Mutex::new(values),
        });
        (histograms.len() - 1) as u32
    }

    pub fn histogram_record(&self, id: u32, value: u64) {
        if let Some(histogram) = self.histograms.read().get(id as usize) {
            histogram
                .values
                .lock()
                .saturating_record(value.clamp(1, HISTOGRAM_MAX));
        }
    }

    /// Registers a gauge; the same name gives the same id.
    pub fn define_gauge(&self, name: &str, help: &str) -> u32 {
        let mut gauges = self.gauges.write();
        if let Some(index) = gauges.iter().position(|g| g.name == name) {
            return index as u32;
        }
        gauges.push(Gauge {
            name: name.to_string(),
            help: help.to_string(),
            value: AtomicI64::new(0),
        });
        (gauges.len() - 1) as u32
    }

    pub fn gauge_set(&self, id: u32, value: i64) {
        if let Some(gauge) = self.gauges.read().get(id as usize) {
            gauge.value.store(value, Ordering::Relaxed);
        }
    }

    /// Every gauge with its help text and current value.
    pub fn gauges(&self) -> Vec<(String, String, i64)> {
        self.gauges
            .read()
            .iter()
            .map(|g| {
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
            .map(|c| (c.name.clone(), c.value.load(Ordering::Relaxed)))
            .collect()
    }

    /// The value of a counter by name.
    pub fn counter_value(&self, name: &str) -> Option<u64> {
        self.counters
            .read()
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.value.load(Ordering::Relaxed))
    }

    pub fn histograms(&self) -> Vec<HistogramSnapshot> {
        self.histograms
            .read()
            .iter()
            .map(|h| {
                let values = h.values.lock();
                HistogramSnapshot {
                    name: h.name.clone(),
                    count: values.len(),
                    min: values.min(),
                    max: values.max(),
                    mean: values.mean(),
                    p50: values.value_at_quantile(0.50),
                    p95: values.value_at_quantile(0.95),
                    p99: values.value_at_quantile(0.99),
                }
            })
            .collect()
    }
}
