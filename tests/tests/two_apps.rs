//! Two applications in one process share nothing by accident: each has its own in-memory
//! shared store (a rate limit spent on one leaves the other's untouched) and its own metrics
//! (what one application's extensions count is not in the other's `/metrics`).

use beginnings::{Json, Request, Router};
use beginnings_tests::{InProcessServer, app_from_yaml, client};
use serde_json::json;

const YAML: &str = r#"
app:
  shared_store: memory
routes:
  exact:
    "/limited": {rate_limit: {requests: 2, key: "header:X-Client"}}
extensions:
  "rate_limit:RateLimitExtension": {store: shared}
  "fixture_pipeline:Alpha": {counter_prefix: two_apps}
"#;

fn start() -> InProcessServer {
    let (app, _dir) = app_from_yaml(YAML);
    let router = Router::new("").get("/limited", |_request: Request| async {
        Json(json!({"ok": true}))
    });
    InProcessServer::start(app.mount(router).build().unwrap())
}

fn status(server: &InProcessServer) -> u16 {
    client()
        .get(server.url("/limited"))
        .header("x-client", "one")
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn two_applications_keep_their_own_store_and_metrics() {
    let (first, second) = (start(), start());
    assert_eq!(status(&first), 200);
    assert_eq!(status(&first), 200);
    assert_eq!(
        status(&first),
        429,
        "the first application's bucket is spent"
    );
    assert_eq!(
        status(&second),
        200,
        "the second application's store holds its own bucket"
    );
    let startups = |server: &InProcessServer| {
        server
            .metrics()
            .counter_value("ext_fixture_pipeline_two_apps_startups")
            .unwrap_or(0)
    };
    assert_eq!(
        (startups(&first), startups(&second)),
        (1, 1),
        "each application counts its own extension's start"
    );
}
