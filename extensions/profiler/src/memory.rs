//! `profiler:MemoryProfilerExtension`: resident memory from the operating system, logged at
//! start-up and shutdown, kept in two gauges, optionally sampled on an interval.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use beginnings_abi::log::{info, warn};
use beginnings_abi::{Error, Extension, Filter, Gauge, Hooks, Host, NoRouteSettings, Route};

use crate::config::MemoryProfilerConfig;

/// Current and peak resident set size, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub rss: u64,
    pub peak: u64,
}

/// `VmRSS` and `VmHWM` of this process; `None` where there is no `/proc/self/status`.
pub fn read_memory() -> Option<Memory> {
    let memory = beginnings_abi::process_memory(None)?;
    Some(Memory {
        rss: memory.rss_bytes,
        peak: memory.peak_rss_bytes,
    })
}

#[derive(Clone, Copy)]
struct Gauges {
    rss: Gauge,
    peak: Gauge,
}

impl Gauges {
    /// Reads the memory and sets both gauges.
    fn sample(self) -> Option<Memory> {
        let memory = read_memory()?;
        self.rss.set(i64::try_from(memory.rss).unwrap_or(i64::MAX));
        self.peak
            .set(i64::try_from(memory.peak).unwrap_or(i64::MAX));
        Some(memory)
    }
}

pub struct MemoryProfilerExtension {
    host: Host,
    gauges: Gauges,
    interval: Option<Duration>,
    log_samples: bool,
    /// Set at shutdown; the sampling task ends at its next wake-up.
    stopped: Arc<AtomicBool>,
}

fn describe(memory: Option<Memory>) -> String {
    match memory {
        Some(m) => format!(
            "{:.1} MB current, {:.1} MB peak",
            m.rss as f64 / 1_048_576.0,
            m.peak as f64 / 1_048_576.0
        ),
        None => "unknown (no /proc/self/status)".to_string(),
    }
}

impl Extension for MemoryProfilerExtension {
    const DESCRIPTION: &'static str = "logs resident memory (current and peak) at start-up and shutdown; gauges rss_bytes and peak_rss_bytes";
    const CONFIG_SUMMARY: &'static str = "interval_seconds: u64 = 0 (off); log_samples = false";

    type Config = MemoryProfilerConfig;
    type RouteConfig = NoRouteSettings;
    type Filter = NoFilter;

    fn new(config: MemoryProfilerConfig, host: Host) -> Result<Self, Error> {
        let gauges = Gauges {
            rss: host.gauge("rss_bytes", "resident set size of the process, in bytes"),
            peak: host.gauge(
                "peak_rss_bytes",
                "peak resident set size of the process, in bytes",
            ),
        };
        Ok(MemoryProfilerExtension {
            host,
            gauges,
            interval: (config.interval_seconds > 0)
                .then(|| Duration::from_secs(config.interval_seconds)),
            log_samples: config.log_samples,
            stopped: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Takes part in no route: it only samples memory.
    fn filter(&self, _route: &Route<'_, NoRouteSettings>) -> Result<Option<NoFilter>, Error> {
        Ok(None)
    }

    fn on_startup(&self) -> Result<(), Error> {
        info!("memory at start-up: {}", describe(self.gauges.sample()));
        if let Some(interval) = self.interval {
            let (host, gauges, log_samples) = (self.host, self.gauges, self.log_samples);
            let stopped = self.stopped.clone();
            let started = host.spawn(async move {
                loop {
                    host.sleep(interval).await;
                    if stopped.load(Ordering::Acquire) {
                        break;
                    }
                    let memory = gauges.sample();
                    if log_samples {
                        info!("memory: {}", describe(memory));
                    }
                }
            });
            if !started {
                warn!("no host runtime: periodic memory sampling is off");
            }
        }
        Ok(())
    }

    fn on_shutdown(&self) -> Result<(), Error> {
        self.stopped.store(true, Ordering::Release);
        info!("memory at shutdown: {}", describe(self.gauges.sample()));
        Ok(())
    }
}

/// The memory profiler takes part in no route.
pub struct NoFilter;

impl Filter for NoFilter {
    type State = ();

    fn hooks(&self) -> Hooks {
        Hooks::none()
    }
}
