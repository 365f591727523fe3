//! The host metrics of each (method, route template): a latency histogram and one counter
//! per status. Registered on a route's first sampled request and cached by the filter, so
//! later samples look them up under a read lock and register nothing.

use std::collections::HashMap;

use beginnings_abi::{Counter, Histogram, Host};
use parking_lot::RwLock;

/// The base names the host's `/metrics` renderers recognise (with the `ext_monitor_` prefix
/// the host adds).
pub const DURATION: &str = "http_request_duration_us";
pub const REQUESTS: &str = "http_requests_total";

struct MethodSeries {
    method: Box<str>,
    duration: Histogram,
    statuses: Vec<(u16, Counter)>,
}

/// route template -> its series, per method.
#[derive(Default)]
pub struct SeriesCache {
    routes: RwLock<HashMap<Box<str>, Vec<MethodSeries>>>,
}

impl SeriesCache {
    /// Records one sampled request.
    pub fn record(&self, host: Host, method: &str, route: &str, status: u16, micros: u64) {
        {
            let routes = self.routes.read();
            if let Some(series) = routes
                .get(route)
                .and_then(|methods| methods.iter().find(|s| &*s.method == method))
                && let Some((_, counter)) = series.statuses.iter().find(|(s, _)| *s == status)
            {
                series.duration.record(micros);
                counter.add(1);
                return;
            }
        }
        let mut routes = self.routes.write();
        let methods = routes.entry(route.into()).or_default();
        let index = match methods.iter().position(|s| &*s.method == method) {
            Some(index) => index,
            None => {
                methods.push(MethodSeries {
                    method: method.into(),
                    duration: host.histogram(
                        &name(DURATION, &[("method", method), ("route", route)]),
                        "request latency in microseconds, by method and route template (sampled)",
                    ),
                    statuses: Vec::new(),
                });
                methods.len() - 1
            }
        };
        let series = &mut methods[index];
        let counter = match series.statuses.iter().find(|(s, _)| *s == status) {
            Some((_, counter)) => *counter,
            None => {
                let status_text = status.to_string();
                let counter = host.counter(
                    &name(
                        REQUESTS,
                        &[
                            ("method", method),
                            ("route", route),
                            ("status", &status_text),
                        ],
                    ),
                    "requests by method, route template and status (sampled)",
                );
                series.statuses.push((status, counter));
                counter
            }
        };
        series.duration.record(micros);
        counter.add(1);
    }
}

/// `base{key="value",...}`, the registry's label convention, values escaped.
fn name(base: &str, labels: &[(&str, &str)]) -> String {
    let labels: Vec<String> = labels
        .iter()
        .map(|(key, value)| {
            let value = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{key}=\"{value}\"")
        })
        .collect();
    format!("{base}{{{}}}", labels.join(","))
}
