use std::sync::Arc;

use beginnings_abi::{Error, Filter, Hooks, Host, Response};

use crate::config::Sampling;
use crate::series::SeriesCache;

/// Measures a sample of the answers of its routes. It has no request hook and no
/// per-request state: the host tells when it started on the request.
pub struct MonitorFilter {
    sampling: Option<Sampling>,
    host: Host,
    series: Arc<SeriesCache>,
}

impl MonitorFilter {
    pub fn new(sampling: Option<Sampling>, host: Host, series: Arc<SeriesCache>) -> Self {
        MonitorFilter {
            sampling,
            host,
            series,
        }
    }
}

impl Filter for MonitorFilter {
    type State = ();
    fn hooks(&self) -> Hooks {
        if self.sampling.is_some() {
            Hooks::none().response()
        } else {
            Hooks::none()
        }
    }

    fn on_response(&self, _state: &mut (), response: &mut Response<'_>) -> Result<(), Error> {
        // The unsampled path: one draw and out.
        if !self.sampling.is_some_and(Sampling::sampled) {
            return Ok(());
        }
        let elapsed_ns = self
            .host
            .monotonic_ns()
            .saturating_sub(response.started_ns());
        self.series.record(
            self.host,
            response.method(),
            response.route(),
            response.status(),
            elapsed_ns / 1_000,
        );
        Ok(())
    }
}
