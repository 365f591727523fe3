//! A route's limits, resolved once when the route table is built, and the pace a request
//! body must keep while it is read.

use std::time::{Duration, Instant};

use crate::config::{AppConfig, HostRouteSettings};

/// What a route may take: resolved at startup from its settings and the `app` defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RouteLimits {
    /// Larger bodies are answered 413.
    pub max_body_bytes: usize,
    /// Hooks and handler together; past it the request is answered 504 and dropped.
    pub timeout: Option<Duration>,
}

impl RouteLimits {
    /// A route's `max_body_bytes` and `timeout` win over `app.max_body_bytes` and
    /// `app.timeout`; a route `timeout` of 0 means none.
    pub fn resolve(app: &AppConfig, route: &HostRouteSettings) -> Self {
        RouteLimits {
            max_body_bytes: route.max_body_bytes_or(app.max_body_bytes),
            timeout: route.timeout_or(app.timeout),
        }
    }
}

/// How slowly a request body may arrive (`app.client_body_timeout`,
/// `app.client_body_min_rate`): past either bound the request is answered 408.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyPace {
    /// The longest pause between two pieces of a body.
    pub timeout: Option<Duration>,
    /// Bytes per second the body must keep up on average, after a grace of `timeout`.
    pub min_rate: Option<u64>,
}

/// The grace before `min_rate` counts when `client_body_timeout` is off.
const RATE_GRACE: Duration = Duration::from_secs(5);

tokio::task_local! {
    /// The pace of the connection the request came on. The body bounds are connection
    /// settings, set around each request where the connection is served, so every body read
    /// (hooks and handlers alike) keeps them without threading them through the pipeline.
    static BODY_PACE: BodyPace;
}

impl BodyPace {
    pub fn of(app: &AppConfig) -> Self {
        BodyPace {
            timeout: app.client_body_timeout,
            min_rate: app.client_body_min_rate,
        }
    }

    /// Runs `request` with this pace for its body reads.
    pub fn scope<F: Future>(self, request: F) -> impl Future<Output = F::Output> {
        BODY_PACE.scope(self, request)
    }

    /// The pace of the request being served (the defaults outside a server).
    pub fn current() -> Self {
        BODY_PACE
            .try_with(|pace| *pace)
            .unwrap_or_else(|_| Self::of(&AppConfig::default()))
    }

    /// When the next piece of a body that started at `started`, has delivered `received`
    /// bytes and last delivered at `last`, must have arrived; `None`: no bound.
    pub fn next_deadline(
        &self,
        started: Instant,
        last: Instant,
        received: usize,
    ) -> Option<Instant> {
        let pause = self.timeout.map(|timeout| last + timeout);
        let rate = self.min_rate.map(|rate| {
            let owed = Duration::from_secs_f64(received as f64 / rate as f64);
            started + self.timeout.unwrap_or(RATE_GRACE) + owed
        });
        match (pause, rate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: serde_json::Value) -> HostRouteSettings {
        let map = json.as_object().cloned().unwrap_or_default();
        HostRouteSettings::parse(&map).expect("valid host settings")
    }

    #[test]
    fn a_body_is_due_by_the_earlier_of_its_pause_and_its_rate() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        let pace = BodyPace {
            timeout: Some(second),
            min_rate: Some(100),
        };
        // Fast so far: the pause since the last piece binds.
        assert_eq!(
            pace.next_deadline(start, start + second, 1000),
            Some(start + 2 * second)
        );
        // Behind the rate: 50 bytes are owed half a second after the grace.
        assert_eq!(
            pace.next_deadline(start, start + second, 50),
            Some(start + second + second / 2)
        );
        let no_pause = BodyPace {
            timeout: None,
            ..pace
        };
        assert_eq!(
            no_pause.next_deadline(start, start, 0),
            Some(start + RATE_GRACE)
        );
        let unbounded = BodyPace {
            timeout: None,
            min_rate: None,
        };
        assert_eq!(unbounded.next_deadline(start, start, 0), None);
    }

    #[test]
    fn route_settings_win_over_app_defaults() {
        let app = AppConfig {
            timeout: Some(Duration::from_secs(30)),
            max_body_bytes: 100,
            ..AppConfig::default()
        };
        let plain = RouteLimits::resolve(&app, &settings(serde_json::json!({})));
        assert_eq!(plain.max_body_bytes, 100);
        assert_eq!(plain.timeout, Some(Duration::from_secs(30)));
        let own = settings(serde_json::json!({"max_body_bytes": 7, "timeout": 0}));
        let own = RouteLimits::resolve(&app, &own);
        assert_eq!(own.max_body_bytes, 7);
        assert_eq!(own.timeout, None, "a route timeout of 0 means none");
    }
}
