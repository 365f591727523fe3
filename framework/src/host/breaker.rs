//! The per-extension breaker: after repeated panics an extension is no longer called; its
//! routes get the failure policy (500, or pass-through where `on_error: open`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// When a breaker trips: `panics` panics within `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    pub panics: u32,
    pub window: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            panics: 5,
            window: Duration::from_secs(60),
        }
    }
}

pub(crate) struct Breaker {
    extension: String,
    policy: BreakerPolicy,
    tripped: AtomicBool,
    /// Times of the recent panics; touched only when a hook panics.
    recent: Mutex<VecDeque<Instant>>,
    /// The gauge that shows the breaker open (1) or closed (0) in `/metrics`.
    open_gauge: Option<u32>,
}

impl Breaker {
    /// A closed breaker; `open_gauge` (a gauge id of the application's registry) is set to
    /// 0 now and to 1 when it trips.
    pub fn new(extension: &str, policy: BreakerPolicy, open_gauge: Option<u32>) -> Self {
        if let Some(gauge) = open_gauge {
            crate::telemetry::metrics::gauge_set(gauge, 0);
        }
        Breaker {
            extension: extension.to_string(),
            policy,
            tripped: AtomicBool::new(false),
            recent: Mutex::new(VecDeque::new()),
            open_gauge,
        }
    }

    /// Whether the extension is cut off (one relaxed load on the request path).
    pub fn is_tripped(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }

    pub fn record_panic(&self) {
        let now = Instant::now();
        let mut recent = self.recent.lock();
        recent.push_back(now);
        while recent
            .front()
            .is_some_and(|first| now.duration_since(*first) > self.policy.window)
        {
            recent.pop_front();
        }
        if recent.len() >= self.policy.panics as usize
            && !self.tripped.swap(true, Ordering::Relaxed)
        {
            if let Some(gauge) = self.open_gauge {
                crate::telemetry::metrics::gauge_set(gauge, 1);
            }
            tracing::error!(
                extension = %self.extension,
                "{} panics within {:?}: breaker tripped, the extension is no longer called and \
                 its routes get their failure policy until the next reload or restart",
                recent.len(),
                self.policy.window
            );
        }
    }
}
