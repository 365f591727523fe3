//! `GET /metrics`: the registry as JSON (the performance guide's shape) or as Prometheus
//! text, chosen per request.
//!
//! JSON by default:
//!
//! ```json
//! {"timestamp": 1700000000.5,
//!  "endpoints": {"GET /api/v1/users/{id}": {"count": 10, "avg_time": 0.0012, "min_time": 0.0009,
//!                "max_time": 0.003, "p50_time": 0.0011, "p95_time": 0.0025, "p99_time": 0.003,
//!                "errors": 0}},
//!  "summary": {"total_requests": 10, "total_errors": 0, "avg_response_time": 0.0012},
//!  "process": {"rss_bytes": 12345678, "peak_rss_bytes": 23456789},
//!  "counters": {"ext_auth_rejected": 3}, "gauges": {"ext_profiler_rss_bytes": 12345678}}
//! ```
//!
//! Times are seconds. `endpoints` comes from the performance monitor's series (keyed by
//! method and route template); counts are of the requests it sampled. Prometheus text with
//! `?format=prometheus`, or an `Accept` header naming `text/plain` or
//! `application/openmetrics-text` (what Prometheus sends) without `application/json`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::routing::{IntoResponse, Json, Request, Response, Router, error_response};
use crate::telemetry::metrics::{REQUEST_DURATION_US, REQUESTS_TOTAL, Registry, parse_series};
use crate::telemetry::{PROMETHEUS_CONTENT_TYPE, process_memory, render_prometheus};

/// Where and how the metrics route answers.
#[derive(Debug, Clone)]
pub struct MetricsOptions {
    /// The route's path; `/metrics` by default.
    pub path: String,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions {
            path: "/metrics".to_string(),
        }
    }
}

/// A router with one `GET` route answering the metrics of `registry` (an application's,
/// [`App::metrics`](crate::App::metrics)); mount it with [`App::mount`](crate::App::mount).
/// It is an ordinary route: extensions apply to it as to any other (`monitoring_enabled:
/// false` keeps the monitor from counting scrapes).
pub fn metrics_router(options: MetricsOptions, registry: Arc<Registry>) -> Router {
    Router::new("").get(&options.path, move |request: Request| {
        let answer = metrics_response(&registry, &request);
        async move { answer }
    })
}

/// The answer of the metrics route for `request` (format from its query and `Accept`).
pub fn metrics_response(registry: &Registry, request: &Request) -> Response {
    match wanted_format(request) {
        Ok(Format::Json) => Json(render_json(registry)).into_response(),
        Ok(Format::Prometheus) => {
            let mut response = render_prometheus(registry).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(PROMETHEUS_CONTENT_TYPE),
            );
            response
        }
        Err(message) => error_response(StatusCode::BAD_REQUEST, &message),
    }
}

enum Format {
    Json,
    Prometheus,
}

fn wanted_format(request: &Request) -> Result<Format, String> {
    let query = request.uri().query().unwrap_or("");
    for pair in query.split('&') {
        if let Some(value) = pair.strip_prefix("format=") {
            return match value {
                "json" => Ok(Format::Json),
                "prometheus" | "text" => Ok(Format::Prometheus),
                other => Err(format!(
                    "unknown metrics format `{other}`: expected json or prometheus"
                )),
            };
        }
    }
    let accept = request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase();
    let text = accept.contains("text/plain") || accept.contains("application/openmetrics-text");
    if text && !accept.contains("application/json") {
        Ok(Format::Prometheus)
    } else {
        Ok(Format::Json)
    }
}

/// The registry in the performance guide's JSON shape (see the module docs).
pub fn render_json(registry: &Registry) -> Value {
    // (method, route) -> errors, from the monitor's per-status counters.
    let mut errors: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut counters = Map::new();
    for (name, value) in registry.counters() {
        match parse_series(&name) {
            Some((base, labels)) if base.ends_with(REQUESTS_TOTAL) => {
                let status = label(&labels, "status").and_then(|s| s.parse::<u16>().ok());
                if let (Some(key), Some(status)) = (endpoint(&labels), status) {
                    let entry = errors.entry(key).or_default();
                    if status >= 500 {
                        *entry += value;
                    }
                    continue;
                }
                counters.insert(name, json!(value));
            }
            _ => {
                counters.insert(name, json!(value));
            }
        }
    }
    let mut endpoints = Map::new();
    let (mut total_requests, mut total_errors, mut total_time) = (0u64, 0u64, 0f64);
    for snapshot in registry.histograms() {
        let Some((base, labels)) = parse_series(&snapshot.name) else {
            continue;
        };
        let Some(key) = endpoint(&labels).filter(|_| base.ends_with(REQUEST_DURATION_US)) else {
            continue;
        };
        let failed = errors.get(&key).copied().unwrap_or(0);
        total_requests += snapshot.count;
        total_errors += failed;
        total_time += snapshot.mean * snapshot.count as f64;
        let seconds = |micros: u64| micros as f64 / 1e6;
        endpoints.insert(
            format!("{} {}", key.0, key.1),
            json!({
                "count": snapshot.count,
                "avg_time": snapshot.mean / 1e6,
                "min_time": seconds(snapshot.min),
                "max_time": seconds(snapshot.max),
                "p50_time": seconds(snapshot.p50),
                "p95_time": seconds(snapshot.p95),
                "p99_time": seconds(snapshot.p99),
                "errors": failed,
            }),
        );
    }
    let average = if total_requests == 0 {
        0.0
    } else {
        total_time / total_requests as f64 / 1e6
    };
    let gauges: Map<String, Value> = registry
        .gauges()
        .into_iter()
        .map(|(name, _, value)| (name, json!(value)))
        .collect();
    let process = process_memory()
        .map(|m| json!({"rss_bytes": m.rss_bytes, "peak_rss_bytes": m.peak_rss_bytes}));
    json!({
        "timestamp": SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
        "endpoints": endpoints,
        "summary": {
            "total_requests": total_requests,
            "total_errors": total_errors,
            "avg_response_time": average,
        },
        "process": process,
        "counters": counters,
        "gauges": gauges,
    })
}

fn label<'a>(labels: &'a [(String, String)], key: &str) -> Option<&'a str> {
    labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn endpoint(labels: &[(String, String)]) -> Option<(String, String)> {
    Some((
        label(labels, "method")?.to_string(),
        label(labels, "route")?.to_string(),
    ))
}
