use serde::Deserialize;

/// `profiler:MemoryProfilerExtension`'s configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryProfilerConfig {
    /// Seconds between samples of the gauges while serving; absent or 0: only at start-up
    /// and shutdown.
    #[serde(default)]
    pub interval_seconds: u64,
    /// Log each periodic sample too (at info), not only the start-up and shutdown ones.
    #[serde(default)]
    pub log_samples: bool,
}

/// `profiler:RequestProfilerExtension`'s configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestProfilerConfig {
    /// Profiled requests taking at least this many milliseconds are logged (warn) with
    /// their timings; 0 logs every profiled request.
    #[serde(default = "default_slow_threshold_ms")]
    pub slow_threshold_ms: u64,
    /// Send the `Server-Timing` header (switch off to keep only the slow-request log).
    #[serde(default = "default_true")]
    pub server_timing: bool,
}

fn default_slow_threshold_ms() -> u64 {
    500
}

fn default_true() -> bool {
    true
}
