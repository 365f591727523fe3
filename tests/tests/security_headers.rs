//! `security:SecurityHeadersExtension` through the real loader and a real server.

use beginnings_tests::{TestServer, client};

const CONFIG: &str = r#"
app:
  name: security-test
routes:
  patterns:
    "/api/*": {}
    "/health": {security_headers: false}
extensions:
  "security:SecurityHeadersExtension":
    x_frame_options: SAMEORIGIN
    strict_transport_security: null
"#;

#[test]
fn headers_are_added_on_api_routes_and_absent_where_switched_off() {
    let server = TestServer::start(CONFIG);
    let http = client();

    let api = http.get(server.url("/api/v1/users")).send().unwrap();
    assert_eq!(api.status(), 200);
    let headers = api.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "SAMEORIGIN", "configured value");
    assert_eq!(
        headers["referrer-policy"], "strict-origin-when-cross-origin",
        "default value"
    );
    assert!(
        headers.get("strict-transport-security").is_none(),
        "null drops the header"
    );

    let health = http.get(server.url("/health")).send().unwrap();
    assert_eq!(health.status(), 200);
    for name in [
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
    ] {
        assert!(
            health.headers().get(name).is_none(),
            "{name} must be absent where the pattern switched the extension off"
        );
    }
}

#[test]
fn headers_reach_error_answers_of_handled_routes() {
    let server = TestServer::start(CONFIG);
    let missing = client()
        .get(server.url("/api/v1/users/999"))
        .send()
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["x-content-type-options"], "nosniff");
}

#[test]
fn demo_users_api_round_trip() {
    let server = TestServer::start(CONFIG);
    let http = client();
    let created = http
        .post(server.url("/api/v1/users"))
        .json(&serde_json::json!({"name": "Ada", "email": "ada@example.com"}))
        .send()
        .unwrap();
    assert_eq!(created.status(), 201);
    let user: serde_json::Value = created.json().unwrap();
    let id = user["id"].as_u64().unwrap();

    let fetched: serde_json::Value = http
        .get(server.url(&format!("/api/v1/users/{id}")))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(fetched["name"], "Ada");

    let listed: serde_json::Value = http
        .get(server.url("/api/v1/users"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let bad = http
        .post(server.url("/api/v1/users"))
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(bad.status(), 400);
    let error: serde_json::Value = bad.json().unwrap();
    assert_eq!(error["error"]["status"], 400);

    let wrong_method = http.delete(server.url("/api/v1/users")).send().unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.headers()["allow"], "GET, POST, HEAD, OPTIONS");

    let options = http
        .request(reqwest::Method::OPTIONS, server.url("/api/v1/users"))
        .send()
        .unwrap();
    assert_eq!(options.status(), 204, "OPTIONS is answered on every route");
    assert_eq!(options.headers()["allow"], "GET, POST, HEAD, OPTIONS");
    assert_eq!(
        options.headers()["x-content-type-options"],
        "nosniff",
        "OPTIONS runs the route's extensions"
    );

    let unknown = http.get(server.url("/nowhere")).send().unwrap();
    assert_eq!(unknown.status(), 404);
}
