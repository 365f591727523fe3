//! The per-route pipeline through real libraries and a real server: filters built once per
//! distinct route configuration, applicability asked once per route, chain order, early
//! answers, per-request state, request values, the async hook, lifecycle hooks.

use std::time::{Duration, Instant};

use beginnings::{Json, Request, Router};
use beginnings_tests::{InProcessServer, app_from_yaml, client};
use serde_json::{Value, json};

const TAGGING: &str = r#"
app:
  metrics: {enabled: false}
routes:
  patterns:
    "/a/*": {tier: 1}
    "/b/*": {tier: 2}
    "/c/*": {tier: 3, skip: [gamma]}
extensions:
  "fixture_pipeline:Alpha": {}
  "fixture_pipeline:Beta": {}
  "fixture_pipeline:Gamma": {}
"#;

fn echo_router(prefix: &str, count: usize) -> Router {
    let mut router = Router::new(prefix);
    for index in 0..count {
        router = router.get(&format!("/r{index}"), |request: Request| async move {
            Json(json!({
                "chain": request.value("chain"),
                "slept": request.value("slept"),
            }))
        });
    }
    router
}

fn stats(runtime: &beginnings::Runtime, name: &str) -> Value {
    runtime
        .extension(name)
        .unwrap_or_else(|| panic!("{name} is loaded"))
        .command("stats", &Value::Null)
        .unwrap()
}

#[test]
fn a_thousand_routes_with_three_configurations_build_three_filters() {
    let (mut app, _dir) = app_from_yaml(TAGGING);
    // 334 + 333 + 333 routes under three patterns: three distinct route configurations.
    for (prefix, count) in [("/a", 334), ("/b", 333), ("/c", 333)] {
        app = app.mount(echo_router(prefix, count));
    }
    let runtime = app.build().unwrap();
    // Every path also gets an OPTIONS entry (preflights reach the extensions), so there
    // are 2,000 (path, method) routes, each asked about exactly once.
    let routes = runtime.routes();
    assert_eq!(routes.iter().filter(|r| r.method == "GET").count(), 1000);
    assert_eq!(routes.len(), 2000);

    let alpha = stats(&runtime, "fixture_pipeline:Alpha");
    assert_eq!(alpha["filters"], 3, "one filter per distinct configuration");
    assert_eq!(alpha["applies"], 2000, "applicability asked once per route");

    // Beta reads only `beta_mode` and `skip`: /a and /b look the same to it.
    let beta = stats(&runtime, "fixture_pipeline:Beta");
    assert_eq!(beta["filters"], 2);
    assert_eq!(beta["applies"], 2000);

    // Gamma does not apply under /c, so it builds no filter for that configuration.
    let gamma = stats(&runtime, "fixture_pipeline:Gamma");
    assert_eq!(gamma["filters"], 2);
    assert_eq!(gamma["applies"], 2000);

    let c_route = runtime
        .routes()
        .into_iter()
        .find(|r| r.path == "/c/r0" && r.method == "GET")
        .unwrap();
    assert_eq!(
        c_route.chain,
        ["fixture_pipeline:Alpha", "fixture_pipeline:Beta"]
    );
}

#[test]
fn hooks_run_in_order_and_response_hooks_in_reverse() {
    let (app, _dir) = app_from_yaml(TAGGING);
    let server = InProcessServer::start(app.mount(echo_router("/a", 1)).build().unwrap());
    let response = client().get(server.url("/a/r0")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-chain-response"], "gamma,beta,alpha");
    assert_eq!(response.headers()["x-chain-request"], "alpha,beta,gamma");
    let body: Value = response.json().unwrap();
    assert_eq!(
        body["chain"], "alpha,beta,gamma",
        "the handler reads request values"
    );
}

#[test]
fn an_early_answer_skips_the_rest_but_earlier_response_hooks_still_run() {
    let (app, _dir) = app_from_yaml(TAGGING);
    let server = InProcessServer::start(app.mount(echo_router("/a", 1)).build().unwrap());
    let response = client()
        .get(server.url("/a/r0"))
        .header("x-stop", "beta")
        .send()
        .unwrap();
    assert_eq!(response.status(), 418);
    assert_eq!(
        response.headers()["x-chain-response"],
        "beta,alpha",
        "alpha and beta ran, gamma never did"
    );
    assert_eq!(
        response.text().unwrap(),
        "stopped by beta",
        "the handler did not run"
    );
}

#[test]
fn priority_overrides_the_listed_order() {
    let yaml = TAGGING.replace(
        "\"fixture_pipeline:Gamma\": {}",
        "\"fixture_pipeline:Gamma\": {priority: -1}",
    );
    let (app, _dir) = app_from_yaml(&yaml);
    let server = InProcessServer::start(app.mount(echo_router("/a", 1)).build().unwrap());
    let response = client().get(server.url("/a/r0")).send().unwrap();
    assert_eq!(response.headers()["x-chain-request"], "gamma,alpha,beta");
}

#[test]
fn per_request_state_stays_with_its_request_under_concurrency() {
    let (app, _dir) = app_from_yaml(TAGGING);
    let server = InProcessServer::start(app.mount(echo_router("/a", 1)).build().unwrap());
    let url = server.url("/a/r0");
    let handles: Vec<_> = (0..32)
        .map(|id| {
            let url = url.clone();
            std::thread::spawn(move || {
                let response = client()
                    .get(&url)
                    .header("x-id", id.to_string())
                    .send()
                    .unwrap();
                for tag in ["alpha", "beta", "gamma"] {
                    assert_eq!(
                        response.headers()[format!("x-{tag}-id").as_str()],
                        id.to_string().as_str()
                    );
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn the_async_hook_waits_on_the_host_and_runs_under_the_route_timeout() {
    let yaml = r#"
routes:
  patterns:
    "/slow/*": {timeout: 1}
extensions:
  "fixture_pipeline:Sleepy": {}
"#;
    let (app, _dir) = app_from_yaml(yaml);
    let server = InProcessServer::start(
        app.mount(echo_router("/fast", 1))
            .mount(echo_router("/slow", 1))
            .build()
            .unwrap(),
    );
    let http = client();

    let started = Instant::now();
    let response = http
        .get(server.url("/fast/r0"))
        .header("x-delay-ms", "200")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    let body: Value = response.json().unwrap();
    let slept: u64 = body["slept"].as_str().unwrap().parse().unwrap();
    assert!(slept >= 200, "waited {slept} ms on the host's sleep");

    let started = Instant::now();
    let response = http
        .get(server.url("/slow/r0"))
        .header("x-delay-ms", "5000")
        .send()
        .unwrap();
    assert_eq!(
        response.status(),
        504,
        "the route's 1 s timeout cut the hook off"
    );
    assert!(started.elapsed() < Duration::from_secs(4));

    let waits = server
        .metrics()
        .histograms()
        .into_iter()
        .find(|h| h.name == "ext_fixture_pipeline_sleepy_wait_ms")
        .expect("the extension's histogram is registered");
    assert!(waits.count >= 1 && waits.max >= 200);
}

#[test]
fn startup_and_shutdown_hooks_run_once_each() {
    let yaml = r#"
extensions:
  "fixture_pipeline:Alpha": {counter_prefix: lifecycle_test}
"#;
    let (app, _dir) = app_from_yaml(yaml);
    let runtime = app.mount(echo_router("/a", 1)).build().unwrap();
    let metrics = runtime.metrics().clone();
    let value = |name: &str| metrics.counter_value(name).unwrap_or(0);
    assert_eq!(value("ext_fixture_pipeline_lifecycle_test_startups"), 0);
    let server = InProcessServer::start(runtime);
    assert_eq!(value("ext_fixture_pipeline_lifecycle_test_startups"), 1);
    assert_eq!(value("ext_fixture_pipeline_lifecycle_test_shutdowns"), 0);
    server.stop();
    assert_eq!(value("ext_fixture_pipeline_lifecycle_test_shutdowns"), 1);
}

#[test]
fn commands_reach_the_extension_and_unknown_ones_are_errors() {
    let (app, _dir) = app_from_yaml(TAGGING);
    let runtime = app.mount(echo_router("/a", 1)).build().unwrap();
    let alpha = runtime.extension("fixture_pipeline:Alpha").unwrap();
    let error = alpha.command("nope", &Value::Null).unwrap_err();
    assert!(
        matches!(&error, beginnings::CommandError::Failed { .. }),
        "{error:?}"
    );
    assert_eq!(error.extension(), "fixture_pipeline:Alpha");
    assert_eq!(error.command(), "nope");
    assert!(
        error.to_string().contains("unknown command `nope`"),
        "{error}"
    );
    let panicked = alpha.command("panic", &Value::Null).unwrap_err();
    assert!(panicked.is_panic(), "{panicked:?}");
    assert_eq!(panicked.extension(), "fixture_pipeline:Alpha");
    assert!(
        panicked
            .to_string()
            .starts_with("fixture_pipeline:Alpha: panicked: fixture asked to panic"),
        "{panicked}"
    );
    assert!(runtime.extension("fixture_pipeline:Missing").is_none());
}

/// The counter of `metrics` whose series name starts with `prefix` (the build's `sha256`
/// label follows), and that label's value.
fn counted(metrics: &beginnings::telemetry::metrics::Registry, prefix: &str) -> (u64, String) {
    let (name, value) = metrics
        .counters()
        .into_iter()
        .find(|(name, _)| name.starts_with(prefix))
        .unwrap_or_else(|| panic!("no series {prefix}…: {:?}", metrics.counters()));
    let sha256 = name
        .rsplit("sha256=\"")
        .next()
        .unwrap_or("")
        .trim_end_matches("\"}");
    (value, sha256.to_string())
}

#[test]
fn each_extension_counts_its_hook_calls_answers_and_errors_by_build() {
    let (app, _dir) = app_from_yaml(TAGGING);
    let metrics = app.metrics();
    let server = InProcessServer::start(app.mount(echo_router("/a", 1)).build().unwrap());
    for _ in 0..3 {
        assert_eq!(
            client().get(server.url("/a/r0")).send().unwrap().status(),
            200
        );
    }
    // Beta answers early: Alpha's and Beta's hooks run, Gamma's request hook does not.
    let stopped = client()
        .get(server.url("/a/r0"))
        .header("x-stop", "beta")
        .send()
        .unwrap();
    assert_eq!(stopped.status(), 418);
    let series = |base: &str, extension: &str, hook: Option<&str>| {
        let hook = hook.map(|h| format!(",hook=\"{h}\"")).unwrap_or_default();
        counted(
            &metrics,
            &format!("{base}{{extension=\"fixture_pipeline:{extension}\"{hook},sha256=\""),
        )
    };
    let calls = "extension_hook_calls_total";
    assert_eq!(series(calls, "Alpha", Some("request")).0, 4);
    assert_eq!(
        series(calls, "Beta", Some("request")).0,
        4,
        "the one that answered"
    );
    assert_eq!(series(calls, "Gamma", Some("request")).0, 3);
    assert_eq!(series(calls, "Alpha", Some("response")).0, 4);
    assert_eq!(
        series(calls, "Beta", Some("response")).0,
        4,
        "its own answer too"
    );
    assert_eq!(series(calls, "Gamma", Some("response")).0, 3);
    assert_eq!(series("extension_answers_total", "Beta", None).0, 1);
    assert_eq!(series("extension_answers_total", "Alpha", None).0, 0);
    assert_eq!(series("extension_errors_total", "Alpha", None).0, 0);
    // The label is the build's SHA-256, as the loader hashed the library.
    let (_, sha256) = series(calls, "Alpha", Some("request"));
    assert_eq!(sha256.len(), 64, "{sha256}");
    assert!(sha256.chars().all(|c| c.is_ascii_hexdigit()), "{sha256}");
}
