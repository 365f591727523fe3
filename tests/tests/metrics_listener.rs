//! `app.metrics.bind`: the metrics on a listener of their own, not beside the routes.

use beginnings::{Json, Router};
use beginnings_tests::{InProcessServer, app_from_yaml, client};
use serde_json::json;

/// A port free a moment ago on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn metrics_bound_apart_are_served_there_and_not_beside_the_routes() {
    let port = free_port();
    let yaml = format!(
        "app:\n  metrics: {{bind: \"127.0.0.1:{port}\", path: /metrics}}\n\
         extensions:\n  \"monitor:PerformanceMonitorExtension\": {{sample_rate: 1.0}}\n"
    );
    let (app, _dir) = app_from_yaml(&yaml);
    let router = Router::new("/apart").get("/x", |_request| async { Json(json!({"ok": true})) });
    let server = InProcessServer::start(app.mount(router).build().unwrap());
    let http = client();
    assert_eq!(
        http.get(server.url("/apart/x")).send().unwrap().status(),
        200
    );
    assert_eq!(
        http.get(server.url("/metrics")).send().unwrap().status(),
        404,
        "not served on the application's port"
    );
    let metrics: serde_json::Value = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        metrics["endpoints"]["GET /apart/x"]["count"].as_u64() >= Some(1),
        "{metrics}"
    );
    let other = http
        .get(format!("http://127.0.0.1:{port}/other"))
        .send()
        .unwrap();
    assert_eq!(other.status(), 404);
}

#[test]
fn a_bind_that_is_not_host_and_port_is_a_configuration_error() {
    let dir = beginnings_tests::ConfigDir::new("app:\n  metrics: {bind: 9100}\n");
    let error = beginnings::App::from_file(dir.app_yaml(), None)
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("app.metrics.bind"), "{error}");
}

#[test]
fn open_connections_are_reported() {
    let port = free_port();
    let yaml = format!("app:\n  metrics: {{bind: \"127.0.0.1:{port}\"}}\n");
    let (app, _dir) = app_from_yaml(&yaml);
    let router = Router::new("/conn").get("/x", |_request| async { Json(json!({"ok": true})) });
    let server = InProcessServer::start(app.mount(router).build().unwrap());
    // A kept-alive connection to the application's port stays open while we scrape.
    let http = client();
    assert_eq!(
        http.get(server.url("/conn/x")).send().unwrap().status(),
        200
    );
    let text = http
        .get(format!("http://127.0.0.1:{port}/metrics?format=prometheus"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let open: f64 = text
        .lines()
        .find_map(|line| line.strip_prefix("http_open_connections "))
        .unwrap_or_else(|| panic!("no open-connections gauge in:\n{text}"))
        .trim()
        .parse()
        .unwrap();
    assert!(open >= 1.0, "{open}");
}
