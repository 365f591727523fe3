//! A panic or an error inside an extension's hook answers that request with 500; the server
//! goes on serving, and the extension's log lines reach the host's log.

use beginnings_tests::{TestServer, client};

const CONFIG: &str = r#"
app:
  name: panic-test
extensions:
  "fixture_panic:PanickingExtension":
    greeting: "fixture says hello"
"#;

#[test]
fn a_panicking_request_hook_answers_500_and_the_server_keeps_serving() {
    let server = TestServer::start(CONFIG);
    let http = client();

    let fine = http.get(server.url("/api/v1/users")).send().unwrap();
    assert_eq!(fine.status(), 200);
    assert_eq!(fine.headers()["x-fixture"], "passed");

    for _ in 0..3 {
        let panicked = http
            .get(server.url("/api/v1/users"))
            .header("x-panic", "request")
            .send()
            .unwrap();
        assert_eq!(panicked.status(), 500);
        assert!(
            panicked.headers().get("x-fixture").is_none(),
            "the failed extension's own response hook is skipped"
        );
        let body: serde_json::Value = panicked.json().unwrap();
        assert_eq!(body["error"]["status"], 500);
    }

    let failed = http
        .get(server.url("/api/v1/users"))
        .header("x-panic", "error")
        .send()
        .unwrap();
    assert_eq!(failed.status(), 500);

    let after = http.get(server.url("/health")).send().unwrap();
    assert_eq!(after.status(), 200, "the server still serves after panics");

    let log = server.wait_for_log("fixture asked to fail");
    assert!(
        log.contains("fixture asked to panic on the request"),
        "the panic is logged: {log}"
    );
    assert!(log.contains("fixture_panic:PanickingExtension"), "{log}");
}

#[test]
fn a_panicking_response_hook_answers_500() {
    let server = TestServer::start(CONFIG);
    let http = client();
    let panicked = http
        .get(server.url("/api/v1/users/panic-on-response"))
        .send()
        .unwrap();
    assert_eq!(panicked.status(), 500, "the handler's 404 is replaced");
    let ok = http.get(server.url("/health")).send().unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-fixture"], "passed");
    let log = server.wait_for_log("panic on the response");
    assert!(log.contains("response hook failed"), "{log}");
}

#[test]
fn extension_logs_reach_the_host_log_with_their_target() {
    let server = TestServer::start(CONFIG);
    let log = server.wait_for_log("fixture says hello");
    let line = log
        .lines()
        .find(|line| line.contains("fixture says hello"))
        .unwrap_or_else(|| panic!("extension log line missing: {log}"));
    assert!(line.contains("ext::fixture_panic"), "{line}");
}
