//! Observability through real libraries and a real server: the performance monitor feeding
//! `/metrics` (JSON and Prometheus text), the request profiler's `Server-Timing`, the memory
//! profiler's gauges.
//!
//! The metric registry is process-wide and these tests run in parallel threads, so each
//! test uses route templates of its own and compares counts of its own series only.

use beginnings::builtin::{MetricsOptions, metrics_router};
use beginnings::routing::StatusCode;
use beginnings::{Json, Request, Router};
use beginnings_tests::{InProcessServer, app_from_yaml, client, prometheus_text};
use serde_json::{Value, json};

fn monitor_yaml(sample_rate: f64) -> String {
    format!(
        r#"
routes:
  exact:
    "/metrics": {{monitoring_enabled: false}}
extensions:
  "monitor:PerformanceMonitorExtension": {{sample_rate: {sample_rate}}}
  "profiler:MemoryProfilerExtension": {{}}
"#
    )
}

/// A small API under `prefix`: users by id, items, a failing route and a missing one.
fn api(prefix: &str) -> Router {
    Router::new(prefix)
        .get("/users/{id}", |request: Request| async move {
            Json(json!({"id": request.param("id")}))
        })
        .get("/items", |_request| async { Json(json!([])) })
        .get("/fail", |_request| async {
            (StatusCode::SERVICE_UNAVAILABLE, "down")
        })
        .get("/missing", |_request| async {
            (StatusCode::NOT_FOUND, "no")
        })
}

fn start(yaml: &str, prefix: &str, options: MetricsOptions) -> InProcessServer {
    let (app, _dir) = app_from_yaml(yaml);
    let metrics = app.metrics();
    let runtime = app
        .mount(api(prefix))
        .mount(metrics_router(options, metrics))
        .build()
        .unwrap();
    InProcessServer::start(runtime)
}

fn metrics_json(server: &InProcessServer, path: &str) -> Value {
    let response = client().get(server.url(path)).send().unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    response.json().unwrap()
}

fn get_ok(url: &str) {
    let response = client().get(url).send().unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
}

#[test]
fn json_counts_are_exact_per_route_template_with_full_sampling() {
    let server = start(&monitor_yaml(1.0), "/obs_exact", MetricsOptions::default());
    let http = client();
    for id in 0..30 {
        // Thirty different paths, one route template: one series.
        let response = http
            .get(server.url(&format!("/obs_exact/users/{id}")))
            .send();
        assert_eq!(response.unwrap().status(), 200);
    }
    for _ in 0..20 {
        assert_eq!(
            http.get(server.url("/obs_exact/items"))
                .send()
                .unwrap()
                .status(),
            200
        );
    }
    let metrics = metrics_json(&server, "/metrics");
    let users = &metrics["endpoints"]["GET /obs_exact/users/{id}"];
    let items = &metrics["endpoints"]["GET /obs_exact/items"];
    assert_eq!(users["count"], 30, "{metrics:#}");
    assert_eq!(items["count"], 20);
    assert_eq!(users["errors"], 0);
    assert!(
        metrics["endpoints"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.contains("/obs_exact/users/1")),
        "raw paths never become series"
    );
    assert!(
        metrics["endpoints"].get("GET /metrics").is_none(),
        "monitoring_enabled: false keeps the scrapes out"
    );
    for field in ["min_time", "p50_time", "p95_time", "p99_time", "max_time"] {
        assert!(
            users[field].as_f64().unwrap() > 0.0,
            "{field} in seconds: {users}"
        );
    }
    let ordered: Vec<f64> = ["min_time", "p50_time", "p95_time", "p99_time", "max_time"]
        .iter()
        .map(|f| users[f].as_f64().unwrap())
        .collect();
    assert!(ordered.windows(2).all(|w| w[0] <= w[1]), "{users}");
    let average = users["avg_time"].as_f64().unwrap();
    assert!(ordered[0] <= average && average <= ordered[4]);
    assert!(metrics["timestamp"].as_f64().unwrap() > 1.6e9);
    let summary = &metrics["summary"];
    assert!(summary["total_requests"].as_u64().unwrap() >= 50);
    assert!(summary["avg_response_time"].as_f64().unwrap() > 0.0);
}

#[test]
fn server_errors_are_counted_and_other_statuses_are_not() {
    let server = start(&monitor_yaml(1.0), "/obs_errors", MetricsOptions::default());
    let http = client();
    for _ in 0..7 {
        assert_eq!(
            http.get(server.url("/obs_errors/fail"))
                .send()
                .unwrap()
                .status(),
            503
        );
    }
    for _ in 0..4 {
        assert_eq!(
            http.get(server.url("/obs_errors/missing"))
                .send()
                .unwrap()
                .status(),
            404
        );
    }
    get_ok(&server.url("/obs_errors/items"));
    let metrics = metrics_json(&server, "/metrics");
    let endpoints = &metrics["endpoints"];
    assert_eq!(endpoints["GET /obs_errors/fail"]["count"], 7);
    assert_eq!(endpoints["GET /obs_errors/fail"]["errors"], 7);
    assert_eq!(endpoints["GET /obs_errors/missing"]["count"], 4);
    assert_eq!(
        endpoints["GET /obs_errors/missing"]["errors"], 0,
        "4xx is not an error"
    );
    assert_eq!(endpoints["GET /obs_errors/items"]["errors"], 0);
    assert!(metrics["summary"]["total_errors"].as_u64().unwrap() >= 7);

    let text = prometheus_text::scrape(&server.url("/metrics?format=prometheus"));
    let requests = |route: &str, status: &str| {
        text.value(
            "http_requests_total",
            &[("method", "GET"), ("route", route), ("status", status)],
        )
    };
    assert_eq!(requests("/obs_errors/fail", "503"), Some(7.0));
    assert_eq!(requests("/obs_errors/missing", "404"), Some(4.0));
    assert_eq!(requests("/obs_errors/items", "200"), Some(1.0));
}

#[test]
fn sampled_counts_stay_within_binomial_bounds() {
    const REQUESTS: u64 = 10_000;
    let server = start(
        &monitor_yaml(0.1),
        "/obs_sampled",
        MetricsOptions::default(),
    );
    let url = server.url("/obs_sampled/items");
    // Two clients in parallel, each reusing its connections.
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let http = client();
                for _ in 0..REQUESTS / 2 {
                    let response = http.get(&url).send().unwrap();
                    assert_eq!(response.status(), 200);
                }
            });
        }
    });
    let metrics = metrics_json(&server, "/metrics");
    let count = metrics["endpoints"]["GET /obs_sampled/items"]["count"]
        .as_u64()
        .unwrap_or(0);
    // Binomial(10,000, 0.1): mean 1,000, sigma 30; five sigma either side.
    assert!(
        (850..=1150).contains(&count),
        "sampled {count} of {REQUESTS} at 0.1"
    );
}

#[test]
fn prometheus_text_is_valid_and_chosen_by_accept_or_query() {
    let options = MetricsOptions {
        path: "/internal/metrics".to_string(),
    };
    // The configured path: the runtime's built-in route is not added beside the mounted one.
    let yaml = format!(
        "app:\n  metrics: {{path: /internal/metrics}}\n{}",
        monitor_yaml(1.0)
    );
    let server = start(&yaml, "/obs_prom", options);
    for id in 0..5 {
        get_ok(&server.url(&format!("/obs_prom/users/{id}")));
    }
    get_ok(&server.url("/obs_prom/items"));

    let by_accept = client()
        .get(server.url("/internal/metrics"))
        .header("accept", "text/plain;version=0.0.4;q=0.3,*/*;q=0.1")
        .send()
        .unwrap();
    assert_eq!(
        by_accept.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    prometheus_text::validate(&by_accept.text().unwrap());

    let text = prometheus_text::scrape(&server.url("/internal/metrics?format=prometheus"));
    let labels = [("method", "GET"), ("route", "/obs_prom/users/{id}")];
    let count = text.value("http_request_duration_seconds_count", &labels);
    assert_eq!(
        count,
        Some(5.0),
        "five requests, one series for the template"
    );
    let inf = text.value(
        "http_request_duration_seconds_bucket",
        &[labels[0], labels[1], ("le", "+Inf")],
    );
    assert_eq!(inf, Some(5.0));
    assert_eq!(
        text.kind("http_request_duration_seconds"),
        Some("histogram")
    );
    assert_eq!(text.kind("http_requests_total"), Some("counter"));
    assert!(text.value("process_resident_memory_bytes", &[]).unwrap() > 0.0);
    assert!(text.value("ext_profiler_rss_bytes", &[]).unwrap() > 0.0);

    let browser = client()
        .get(server.url("/internal/metrics"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .unwrap();
    assert!(
        browser.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let bogus = client()
        .get(server.url("/internal/metrics?format=xml"))
        .send()
        .unwrap();
    assert_eq!(bogus.status(), 400);
    assert!(bogus.text().unwrap().contains("unknown metrics format"));
    let default_path = client().get(server.url("/metrics")).send().unwrap();
    assert_eq!(default_path.status(), 404, "the path is the one configured");
}

#[test]
fn memory_profiler_gauges_appear_in_metrics() {
    let yaml = r#"
extensions:
  "profiler:MemoryProfilerExtension": {interval_seconds: 1, log_samples: true}
"#;
    let server = start(yaml, "/obs_memory", MetricsOptions::default());
    let metrics = metrics_json(&server, "/metrics");
    let rss = metrics["gauges"]["ext_profiler_rss_bytes"]
        .as_i64()
        .unwrap();
    let peak = metrics["gauges"]["ext_profiler_peak_rss_bytes"]
        .as_i64()
        .unwrap();
    assert!(
        rss > 1_000_000,
        "a process holds more than a megabyte: {rss}"
    );
    assert!(peak >= rss / 2, "peak {peak}, current {rss}");
    assert!(metrics["process"]["rss_bytes"].as_u64().unwrap() > 0);
    // Shutdown stops the sampling task and logs the final figures.
    server.stop();
}

const PROFILED: &str = r#"
routes:
  patterns:
    "/obs_timing/profiled/*": {profile_enabled: true}
extensions:
  "profiler:RequestProfilerExtension": {slow_threshold_ms: 0}
  "monitor:PerformanceMonitorExtension": {sample_rate: 1.0}
  "fixture_pipeline:Alpha": {}
  "security:SecurityHeadersExtension": {}
"#;

#[test]
fn server_timing_lists_every_extension_on_the_chain_and_the_handler() {
    let (app, _dir) = app_from_yaml(PROFILED);
    let router = Router::new("/obs_timing")
        .get("/profiled/a", |_request| async {
            Json(json!({"ok": true}))
        })
        .get("/profiled/cached", |_request| async {
            let mut response = beginnings::IntoResponse::into_response(Json(json!({})));
            response
                .headers_mut()
                .insert("server-timing", "cache;desc=hit".parse().unwrap());
            response
        })
        .get("/plain", |_request| async { Json(json!({"ok": true})) });
    let server = InProcessServer::start(app.mount(router).build().unwrap());

    let response = client()
        .get(server.url("/obs_timing/profiled/a"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let timing = response.headers()["server-timing"]
        .to_str()
        .unwrap()
        .to_string();
    let entries: Vec<(&str, f64)> = timing
        .split(", ")
        .map(|entry| {
            let (name, duration) = entry.split_once(";dur=").expect("name;dur=ms");
            (name, duration.parse().expect("milliseconds"))
        })
        .collect();
    let names: Vec<&str> = entries.iter().map(|(name, _)| *name).collect();
    for expected in [
        "ext-fixture_pipeline-alpha",
        "ext-monitor-performancemonitorextension",
        "ext-security-securityheadersextension",
        "handler",
        "ext-profiler-requestprofilerextension",
        "total",
    ] {
        assert!(names.contains(&expected), "{expected} in {timing}");
    }
    let total = entries.iter().find(|(n, _)| *n == "total").unwrap().1;
    let parts: f64 = entries
        .iter()
        .filter(|(n, _)| *n != "total")
        .map(|e| e.1)
        .sum();
    assert!(
        parts <= total + 0.01,
        "the parts fit in the total: {timing}"
    );

    let cached = client()
        .get(server.url("/obs_timing/profiled/cached"))
        .send()
        .unwrap();
    let values: Vec<&str> = cached
        .headers()
        .get_all("server-timing")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(values[0], "cache;desc=hit", "the handler's own entry stays");
    assert!(
        values.iter().any(|v| v.contains("handler;dur=")),
        "{values:?}"
    );

    let plain = client()
        .get(server.url("/obs_timing/plain"))
        .send()
        .unwrap();
    assert!(
        plain.headers().get("server-timing").is_none(),
        "only routes with profile_enabled: true are profiled"
    );
    let slow = server
        .metrics()
        .counter_value("ext_profiler_slow_requests_total")
        .unwrap_or(0);
    assert!(
        slow >= 2,
        "slow_threshold_ms: 0 logs every profiled request"
    );
}

#[test]
fn a_sample_rate_out_of_range_is_a_configuration_error() {
    let (app, _dir) = app_from_yaml(
        r#"
extensions:
  "monitor:PerformanceMonitorExtension": {sample_rate: 1.5}
"#,
    );
    let error = app.build().err().expect("refused").to_string();
    assert!(error.contains("sample_rate"), "{error}");
    let (app, _dir) = app_from_yaml(
        r#"
extensions:
  "monitor:PerformanceMonitorExtension": {sample_rat: 0.5}
"#,
    );
    let error = app.build().err().expect("refused").to_string();
    assert!(error.contains("sample_rat"), "{error}");
}

/// A server with the security headers extension on every route and the given `app:` lines.
fn debug_server(app_lines: &str) -> InProcessServer {
    let yaml =
        format!("app:\n{app_lines}\nextensions:\n  \"security:SecurityHeadersExtension\": {{}}\n");
    let (app, _dir) = app_from_yaml(&yaml);
    let router = Router::new("/obs_debug").get("/a", |_request| async { Json(json!({"ok": 1})) });
    InProcessServer::start(app.mount(router).build().unwrap())
}

fn debug_timing(server: &InProcessServer, headers: &[(&str, &str)]) -> Option<String> {
    let mut request = client().get(server.url("/obs_debug/a"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().unwrap();
    assert_eq!(response.status(), 200);
    (response.headers().get("x-beginnings-debug-timing"))
        .map(|value| value.to_str().unwrap().to_string())
}

#[test]
fn a_trusted_caller_may_ask_for_each_extensions_time_on_its_request() {
    let ask = ("x-beginnings-debug", "timing");
    // Loopback callers, when `request_debug` is on; the route is not profiled.
    let loopback = debug_server("  request_debug: true");
    let timing = debug_timing(&loopback, &[ask]).expect("the times, asked from loopback");
    assert!(
        timing.contains("ext-security-securityheadersextension;dur="),
        "{timing}"
    );
    assert!(timing.contains("handler;dur="), "{timing}");
    assert_eq!(debug_timing(&loopback, &[]), None, "only when asked");

    // Off by default, even from loopback.
    let off = debug_server("  name: plain");
    assert_eq!(debug_timing(&off, &[ask]), None);

    // With a token, only the caller who sends it.
    let token = "a-debug-token-of-24-chars";
    let guarded = debug_server(&format!("  request_debug_token: {token}"));
    assert_eq!(
        debug_timing(&guarded, &[ask]),
        None,
        "loopback alone is not enough"
    );
    let wrong = ("x-beginnings-debug-token", "a-debug-token-of-24-charz");
    assert_eq!(debug_timing(&guarded, &[ask, wrong]), None);
    let right = ("x-beginnings-debug-token", token);
    assert!(debug_timing(&guarded, &[ask, right]).is_some());
}
