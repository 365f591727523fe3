//! The failure policy: a failing hook answers 500 (fail closed) unless the route says
//! `on_error: open` for that extension; repeated panics trip a breaker that stops calling
//! the extension and applies the policy.

use beginnings::{Json, Router};
use beginnings_tests::{InProcessServer, app_from_yaml, client};
use serde_json::json;

fn router() -> Router {
    Router::new("")
        .get("/closed/x", |_request| async {
            Json(json!({"handler": "ran"}))
        })
        .get("/open/x", |_request| async {
            Json(json!({"handler": "ran"}))
        })
}

const CONFIG: &str = r#"
routes:
  patterns:
    "/open/*": {on_error: {"fixture_panic:PanickingExtension": open}}
extensions:
  "fixture_panic:PanickingExtension":
    breaker: {panics: 3, window_seconds: 60}
"#;

#[test]
fn on_error_open_lets_the_request_through_and_closed_answers_500() {
    let (app, _dir) = app_from_yaml(CONFIG);
    let server = InProcessServer::start(app.mount(router()).build().unwrap());
    let http = client();
    let send = |path: &str, header: &str| {
        http.get(server.url(path))
            .header("x-panic", header)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(send("/closed/x", "error"), 500, "an error fails closed");
    assert_eq!(send("/open/x", "error"), 200, "on_error: open passes it on");
    assert_eq!(send("/closed/x", "none"), 200);
}

#[test]
fn repeated_panics_trip_the_breaker() {
    let (app, _dir) = app_from_yaml(CONFIG);
    let server = InProcessServer::start(app.mount(router()).build().unwrap());
    let http = client();
    let get = |path: &str, panic: bool| {
        let mut request = http.get(server.url(path));
        if panic {
            request = request.header("x-panic", "request");
        }
        request.send().unwrap()
    };
    assert_eq!(get("/closed/x", false).status(), 200);
    assert_eq!(
        get("/closed/x", false).headers()["x-fixture"],
        "passed",
        "the extension runs while the breaker is closed"
    );
    assert_eq!(breaker_open(&server), Some(0), "closed before the panics");
    for _ in 0..3 {
        assert_eq!(get("/closed/x", true).status(), 500);
    }
    // Tripped: the extension is no longer called, even for requests it would pass.
    let after = get("/closed/x", false);
    assert_eq!(
        after.status(),
        500,
        "fail closed without calling the extension"
    );
    assert!(after.headers().get("x-fixture").is_none());
    let open = get("/open/x", false);
    assert_eq!(open.status(), 200, "fail open where the route says so");
    assert!(
        open.headers().get("x-fixture").is_none(),
        "the extension is skipped there too"
    );
    // The application's metrics tell the panics and the skipped calls apart.
    let count = |base: &str| {
        (server.metrics().counters().into_iter())
            .filter(|(name, _)| name.starts_with(&format!("{base}{{extension=\"fixture_panic:")))
            .map(|(_, value)| value)
            .sum::<u64>()
    };
    assert_eq!(count("extension_panics_total"), 3);
    assert_eq!(
        breaker_open(&server),
        Some(1),
        "the gauge shows the breaker open"
    );
    assert_eq!(count("extension_errors_total"), 3);
    assert!(
        count("extension_breaker_skipped_total") >= 2,
        "the two calls after the trip"
    );
}

/// `extension_breaker_open` of the panicking extension: 1 open, 0 closed.
fn breaker_open(server: &InProcessServer) -> Option<i64> {
    (server.metrics().gauges().into_iter())
        .find(|(name, ..)| name.starts_with("extension_breaker_open{extension=\"fixture_panic:"))
        .map(|(_, _, value)| value)
}
