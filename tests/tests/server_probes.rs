//! `/health` and `/ready` answered by the server itself where the application mounted
//! nothing: no extension runs on them.

use beginnings::Router;
use beginnings_tests::{InProcessServer, app_from_yaml, client};

const CONFIG: &str = r#"
routes:
  patterns:
    "/*": {security_headers: true}
extensions:
  "security:SecurityHeadersExtension": {x_frame_options: DENY}
"#;

#[test]
fn built_in_probes_skip_extensions() {
    let (app, _dir) = app_from_yaml(CONFIG);
    let router = Router::new("").get("/hello", |_request| async { "hello" });
    let server = InProcessServer::start(app.mount(router).build().unwrap());
    let http = client();
    let hello = http.get(server.url("/hello")).send().unwrap();
    assert_eq!(hello.headers()["x-frame-options"], "DENY");
    for (path, status) in [("/health", "ok"), ("/ready", "ready")] {
        let probe = http.get(server.url(path)).send().unwrap();
        assert_eq!(probe.status(), 200, "{path}");
        assert!(probe.headers().get("x-frame-options").is_none(), "{path}");
        assert_eq!(probe.json::<serde_json::Value>().unwrap()["status"], status);
    }
    let head = http.head(server.url("/ready")).send().unwrap();
    assert_eq!(head.status(), 200);
}

#[test]
fn probes_off_leaves_the_paths_to_the_routes() {
    let (app, _dir) = app_from_yaml(&format!("app: {{probes: false}}\n{CONFIG}"));
    let server = InProcessServer::start(app.build().unwrap());
    let missing = client().get(server.url("/ready")).send().unwrap();
    assert_eq!(missing.status(), 404);
}
