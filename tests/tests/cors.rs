//! `cors:CorsExtension` through the real loader and a real server: preflights, actual
//! requests, origin patterns, credentials, per-route settings, `Vary`, the preflight cache
//! and configuration errors.

use beginnings::{IntoResponse, Json, Request, Router};
use beginnings_tests::{InProcessServer, TestServer, app_from_yaml, client};
use reqwest::Method;
use reqwest::blocking::Response;
use serde_json::json;

const CONFIG: &str = r#"
routes:
  patterns:
    "/internal/*": {cors_enabled: false}
    "/public/*": {cors: {allow_origins: "*", allow_credentials: false}}
    "/echo/*": {cors: {allow_methods: "*", allow_headers: "*"}}
extensions:
  "cors:CorsExtension":
    allow_origins: ["https://app.example.com", "https://*.example.com"]
    allow_methods: [GET, POST, PUT]
    allow_headers: [content-type, x-token]
    expose_headers: [x-total-count]
    allow_credentials: true
    max_age: 300
"#;

const ALLOWED: &str = "https://app.example.com";
const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

fn router() -> Router {
    let item = |_request: Request| async move {
        let mut response = Json(json!({"ok": true})).into_response();
        response
            .headers_mut()
            .insert("x-total-count", "42".parse().unwrap());
        response
    };
    Router::new("")
        .get("/api/items", item)
        .post("/api/items", item)
        .get("/api/vary", |_request: Request| async move {
            let mut response = "varies".into_response();
            let vary = "Accept-Encoding".parse().unwrap();
            response.headers_mut().insert("vary", vary);
            response
        })
        .get("/internal/x", |_request: Request| async move { "internal" })
        .get("/public/x", |_request: Request| async move { "public" })
        .get("/echo/x", |_request: Request| async move { "echo" })
}

fn start(yaml: &str) -> InProcessServer {
    let (app, _dir) = app_from_yaml(yaml);
    InProcessServer::start(app.mount(router()).build().unwrap())
}

fn preflight(
    server: &InProcessServer,
    path: &str,
    origin: &str,
    method: &str,
    headers: Option<&str>,
) -> Response {
    let mut request = client()
        .request(Method::OPTIONS, server.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method);
    if let Some(headers) = headers {
        request = request.header("access-control-request-headers", headers);
    }
    request.send().unwrap()
}

fn get(server: &InProcessServer, path: &str, origin: Option<&str>) -> Response {
    let mut request = client().get(server.url(path));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().unwrap()
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// Every `access-control-*` header, in order.
fn cors_headers(response: &Response) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_string()))
        .collect();
    found.sort();
    found
}

fn vary(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all("vary")
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(',').map(|t| t.trim().to_string()))
        .collect::<Vec<_>>()
}

#[test]
fn an_allowed_preflight_is_answered_204_with_every_header() {
    let server = start(CONFIG);
    let response = preflight(
        &server,
        "/api/items",
        ALLOWED,
        "PUT",
        Some("content-type,x-token"),
    );
    assert_eq!(response.status(), 204);
    assert_eq!(
        cors_headers(&response),
        [
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-headers", "content-type, x-token"),
            ("access-control-allow-methods", "GET, POST, PUT"),
            ("access-control-allow-origin", ALLOWED),
            ("access-control-max-age", "300"),
        ]
        .map(|(n, v)| (n.to_string(), v.to_string()))
    );
    assert_eq!(header(&response, "vary"), Some(PREFLIGHT_VARY));
    assert_eq!(
        header(&response, "allow"),
        None,
        "the extension answered, not the host"
    );
}

#[test]
fn a_preflight_for_a_method_not_allowed_gets_no_cors_headers() {
    let server = start(CONFIG);
    let response = preflight(&server, "/api/items", ALLOWED, "DELETE", None);
    assert_eq!(response.status(), 204);
    assert_eq!(cors_headers(&response), []);
    assert_eq!(header(&response, "vary"), Some(PREFLIGHT_VARY));
}

#[test]
fn a_preflight_for_a_header_not_allowed_gets_no_cors_headers() {
    let server = start(CONFIG);
    let response = preflight(
        &server,
        "/api/items",
        ALLOWED,
        "POST",
        Some("content-type,x-other"),
    );
    assert_eq!(response.status(), 204);
    assert_eq!(cors_headers(&response), []);
    let allowed = preflight(&server, "/api/items", ALLOWED, "POST", Some("X-Token"));
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        Some(ALLOWED),
        "names match in any case"
    );
}

#[test]
fn a_disallowed_origin_gets_no_cors_headers_but_is_still_served() {
    let server = start(CONFIG);
    let response = preflight(&server, "/api/items", "https://evil.test", "GET", None);
    assert_eq!(response.status(), 204);
    assert_eq!(cors_headers(&response), []);

    let response = get(&server, "/api/items", Some("https://evil.test"));
    assert_eq!(
        response.status(),
        200,
        "the browser, not the server, withholds the answer"
    );
    assert_eq!(cors_headers(&response), []);
    assert_eq!(
        vary(&response),
        ["Origin"],
        "caches must not reuse it for other origins"
    );
}

#[test]
fn wildcard_patterns_match_subdomains_of_the_same_scheme_only() {
    let server = start(CONFIG);
    for origin in [
        "https://a.example.com",
        "https://a.b.example.com",
        "https://x-1.example.com",
    ] {
        let response = get(&server, "/api/items", Some(origin));
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some(origin),
            "{origin}"
        );
    }
    for origin in [
        "https://example.com.evil.com",
        "http://a.example.com",
        "https://example.com",
        "https://evilexample.com",
        "https://a.example.com:8443",
        "https://a.example.com.",
    ] {
        let response = get(&server, "/api/items", Some(origin));
        assert_eq!(cors_headers(&response), [], "{origin} must not match");
    }
}

#[test]
fn credentials_echo_the_origin_and_expose_the_configured_headers() {
    let server = start(CONFIG);
    let response = get(&server, "/api/items", Some(ALLOWED));
    assert_eq!(response.status(), 200);
    assert_eq!(
        cors_headers(&response),
        [
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-origin", ALLOWED),
            ("access-control-expose-headers", "x-total-count"),
        ]
        .map(|(n, v)| (n.to_string(), v.to_string()))
    );
    assert_eq!(vary(&response), ["Origin"]);
    assert_eq!(
        response.json::<serde_json::Value>().unwrap(),
        json!({"ok": true})
    );
}

#[test]
fn star_without_credentials_answers_star() {
    let server = start(
        "extensions:\n  \"cors:CorsExtension\": {allow_origins: \"*\", expose_headers: \"*\"}\n",
    );
    let response = get(&server, "/api/items", Some("https://anyone.test"));
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&response, "access-control-allow-credentials"), None);
    assert_eq!(
        header(&response, "access-control-expose-headers"),
        Some("*")
    );
    assert_eq!(
        vary(&response),
        Vec::<String>::new(),
        "the answer does not depend on the origin"
    );

    let response = preflight(
        &server,
        "/api/items",
        "https://anyone.test",
        "PATCH",
        Some("content-type"),
    );
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(
        header(&response, "access-control-allow-methods"),
        Some("GET, HEAD, POST, PUT, PATCH, DELETE")
    );
    assert_eq!(header(&response, "access-control-max-age"), Some("600"));
}

#[test]
fn cors_enabled_false_keeps_the_extension_out_of_the_route() {
    let (app, _dir) = app_from_yaml(CONFIG);
    let runtime = app.mount(router()).build().unwrap();
    let chain = |path: &str, method: &str| {
        let route = runtime
            .routes()
            .into_iter()
            .find(|r| r.path == path && r.method == method);
        route.unwrap().chain
    };
    assert_eq!(chain("/internal/x", "GET"), Vec::<String>::new());
    assert_eq!(chain("/internal/x", "OPTIONS"), Vec::<String>::new());
    assert_eq!(chain("/api/items", "OPTIONS"), ["cors:CorsExtension"]);
    let server = InProcessServer::start(runtime);

    let response = get(&server, "/internal/x", Some(ALLOWED));
    assert_eq!(response.status(), 200);
    assert_eq!(cors_headers(&response), []);
    let response = preflight(&server, "/internal/x", ALLOWED, "GET", None);
    assert_eq!(response.status(), 204);
    assert_eq!(cors_headers(&response), []);
    assert_eq!(
        header(&response, "allow"),
        Some("GET, HEAD, OPTIONS"),
        "the host's answer"
    );
}

#[test]
fn a_route_cors_map_overrides_the_extension_keys() {
    let server = start(CONFIG);
    // `/public/*`: any origin, no credentials; the other keys stay the extension's.
    let response = get(&server, "/public/x", Some("https://anyone.test"));
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&response, "access-control-allow-credentials"), None);
    assert_eq!(
        header(&response, "access-control-expose-headers"),
        Some("x-total-count")
    );
    let response = preflight(&server, "/public/x", "https://anyone.test", "PUT", None);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(
        header(&response, "access-control-allow-methods"),
        Some("GET, POST, PUT")
    );

    // `/echo/*`: whatever method and headers are asked for are echoed (credentials stay on).
    let response = preflight(
        &server,
        "/echo/x",
        ALLOWED,
        "DELETE",
        Some("authorization,x-anything"),
    );
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(ALLOWED)
    );
    assert_eq!(
        header(&response, "access-control-allow-methods"),
        Some("DELETE")
    );
    assert_eq!(
        header(&response, "access-control-allow-headers"),
        Some("authorization,x-anything")
    );
    assert_eq!(
        header(&response, "access-control-allow-credentials"),
        Some("true")
    );
    // Elsewhere the extension's own lists still apply.
    let response = preflight(&server, "/api/items", ALLOWED, "DELETE", None);
    assert_eq!(cors_headers(&response), []);
}

#[test]
fn vary_origin_is_appended_to_the_handlers_vary() {
    let server = start(CONFIG);
    let response = get(&server, "/api/vary", Some(ALLOWED));
    assert_eq!(vary(&response), ["Accept-Encoding", "Origin"]);
    assert_eq!(response.text().unwrap(), "varies");
}

#[test]
fn cached_preflights_give_the_same_answers() {
    let cached_yaml = CONFIG.replace("max_age: 300", "max_age: 300\n    cache_preflight: true");
    let (plain, cached) = (start(CONFIG), start(&cached_yaml));
    let counter = |name: &str| {
        cached
            .metrics()
            .counter_value(&format!("ext_cors_preflight_cache_{name}"))
            .unwrap_or(0)
    };
    let (hits, misses) = (counter("hits"), counter("misses"));
    let asks = [
        ("/api/items", ALLOWED, "PUT", Some("content-type")),
        ("/api/items", "https://a.example.com", "GET", None),
        ("/api/items", "https://evil.test", "GET", None),
        ("/api/items", ALLOWED, "DELETE", None),
        ("/public/x", "https://anyone.test", "POST", None),
        ("/echo/x", ALLOWED, "PATCH", Some("x-one")),
        ("/echo/x", ALLOWED, "DELETE", Some("x-two")),
    ];
    for round in 0..3 {
        for (path, origin, method, headers) in asks {
            let expected = preflight(&plain, path, origin, method, headers);
            let answer = preflight(&cached, path, origin, method, headers);
            assert_eq!(
                answer.status(),
                expected.status(),
                "{round}: {path} {origin} {method}"
            );
            assert_eq!(
                cors_headers(&answer),
                cors_headers(&expected),
                "{round}: {path} {origin} {method}"
            );
            assert_eq!(vary(&answer), vary(&expected));
        }
    }
    // Five allowed asks per round over four cache entries: /api/items for two origins,
    // /public/x for `*`, /echo/x for one origin (its echoed parts are added per request).
    assert_eq!(counter("misses") - misses, 4);
    assert_eq!(counter("hits") - hits, 3 * 5 - 4);
}

#[test]
fn requests_without_origin_get_no_cors_headers_but_vary_origin() {
    let server = start(CONFIG);
    let response = get(&server, "/api/items", None);
    assert_eq!(response.status(), 200);
    assert_eq!(cors_headers(&response), []);
    // The answer to an allowed origin differs, so a cache must keep the two apart.
    assert_eq!(vary(&response), ["Origin"]);
    let response = get(&server, "/api/vary", None);
    assert_eq!(vary(&response), ["Accept-Encoding", "Origin"]);
    // `*` without credentials: every origin gets the same answer, nothing varies.
    let response = get(&server, "/public/x", None);
    assert_eq!(vary(&response), Vec::<String>::new());
    let response = get(&server, "/internal/x", None);
    assert_eq!(
        vary(&response),
        Vec::<String>::new(),
        "the extension is off"
    );
    let response = client().post(server.url("/api/items")).send().unwrap();
    assert_eq!(
        response.status(),
        200,
        "same-origin writes are not rejected"
    );
    let response = client()
        .request(Method::OPTIONS, server.url("/api/items"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(header(&response, "allow"), Some("GET, POST, HEAD, OPTIONS"));
    assert_eq!(cors_headers(&response), []);
    assert_eq!(vary(&response), ["Origin"]);
}

#[test]
fn a_port_wildcard_takes_digits_only() {
    let server =
        start("extensions:\n  \"cors:CorsExtension\": {allow_origins: [\"http://localhost:*\"]}\n");
    for origin in [
        "http://localhost:8080",
        "http://localhost:3000",
        "http://localhost",
    ] {
        let response = get(&server, "/api/items", Some(origin));
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some(origin),
            "{origin}"
        );
        let response = preflight(&server, "/api/items", origin, "POST", None);
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some(origin),
            "preflight from {origin}"
        );
    }
    for origin in [
        "http://localhost:evil",
        "http://localhost:80.evil.com",
        "http://localhost:8080@evil.com",
        "http://localhost:",
        "http://localhost:+80",
        "http://localhost:99999",
        "https://localhost:8080",
    ] {
        let response = get(&server, "/api/items", Some(origin));
        assert_eq!(cors_headers(&response), [], "{origin} must not match");
        let response = preflight(&server, "/api/items", origin, "POST", None);
        assert_eq!(cors_headers(&response), [], "preflight from {origin}");
    }
}

#[test]
fn null_with_credentials_is_warned_about_once_at_start() {
    let yaml = "extensions:\n  \"cors:CorsExtension\": \
        {allow_origins: [\"null\", \"https://app.example.com\"], allow_credentials: true}\n";
    let server = TestServer::start(yaml);
    let needle = "allow_origins lists \"null\" with allow_credentials";
    // The extensions start before the server logs its address.
    let log = server.wait_for_log("listening addr=");
    let lines: Vec<&str> = log.lines().filter(|line| line.contains(needle)).collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(lines[0].contains("cors:CorsExtension"), "{}", lines[0]);
    assert!(lines[0].contains("WARN"), "{}", lines[0]);
    drop(server);

    // Without credentials, `null` is no warning.
    let server =
        TestServer::start("extensions:\n  \"cors:CorsExtension\": {allow_origins: [\"null\"]}\n");
    let log = server.wait_for_log("listening addr=");
    assert!(log.contains("listening addr="), "{log}");
    assert!(!log.contains(needle), "{log}");
}

fn build_error(yaml: &str) -> String {
    let (app, _dir) = app_from_yaml(yaml);
    match app.mount(router()).build() {
        Ok(_) => panic!("the configuration should be refused:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn configuration_errors_name_the_key() {
    // `*` in a route's map meets credentials from the extension's entry.
    let error = build_error(
        "routes:\n  patterns:\n    \"/public/*\": {cors: {allow_origins: \"*\"}}\n\
         extensions:\n  \"cors:CorsExtension\": {allow_origins: [\"https://a.test\"], allow_credentials: true}\n",
    );
    assert!(
        error.contains("cors.allow_origins: allow_credentials: true cannot be combined"),
        "{error}"
    );
    assert!(error.contains("/public/x"), "{error}");

    let error = build_error(
        "routes:\n  patterns:\n    \"/public/*\": {cors: {allow_orgins: [\"https://a.test\"]}}\n\
         extensions:\n  \"cors:CorsExtension\": {allow_origins: [\"https://a.test\"]}\n",
    );
    assert!(
        error.contains("cors.allow_orgins: unknown field `allow_orgins`"),
        "{error}"
    );

    let error = build_error(
        "extensions:\n  \"cors:CorsExtension\": {allow_origins: [\"https://a.test\", \"https://b.test/\"]}\n",
    );
    assert!(
        error.contains("allow_origins[1]: \"https://b.test/\" is not an origin"),
        "{error}"
    );

    let error = build_error(
        "extensions:\n  \"cors:CorsExtension\": {allow_origins: [\"https://api-*.a.test\"]}\n",
    );
    assert!(error.contains("allow_origins[0]"), "{error}");

    let error = build_error(
        "extensions:\n  \"cors:CorsExtension\": {allow_origins: [\"https://a.test\"], allow_credentials: true, expose_headers: \"*\"}\n",
    );
    assert!(
        error.contains("expose_headers: expose_headers \"*\""),
        "{error}"
    );
}
