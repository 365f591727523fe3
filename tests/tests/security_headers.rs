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

mod policies {
    use beginnings::{IntoResponse, Json, Request, Router};
    use beginnings_tests::{InProcessServer, app_from_yaml, client};
    use reqwest::header::HeaderValue;
    use serde_json::json;

    const CSP: &str = r#"
extensions:
  "security:SecurityHeadersExtension":
    content_security_policy:
      default-src: ["'self'"]
      img-src: ["'self'", "data:"]
    nonce: true
    report_uri: /csp-reports
    permissions_policy: {camera: [], geolocation: [self]}
    cross_origin_opener_policy: same-origin
    cross_origin_resource_policy: same-site
"#;

    fn nonce_router() -> Router {
        Router::new("").get("/page", |request: Request| async move {
            Json(json!({"nonce": request.value("csp.nonce")}))
        })
    }

    #[test]
    fn csp_carries_a_fresh_nonce_that_the_handler_sees() {
        let (app, _dir) = app_from_yaml(CSP);
        let server = InProcessServer::start(app.mount(nonce_router()).build().unwrap());
        let http = client();
        let mut nonces = Vec::new();
        for _ in 0..2 {
            let response = http.get(server.url("/page")).send().unwrap();
            let policy = response.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_string();
            let body: serde_json::Value = response.json().unwrap();
            let nonce = body["nonce"]
                .as_str()
                .expect("the handler sees the nonce")
                .to_string();
            assert!(nonce.len() >= 22, "128 random bits: {nonce}");
            assert!(
                policy.contains(&format!("script-src 'self' 'nonce-{nonce}'")),
                "{policy}"
            );
            assert!(policy.contains(&format!("style-src 'self' 'nonce-{nonce}'")));
            assert!(policy.contains("default-src 'self'"), "{policy}");
            assert!(policy.contains("img-src 'self' data:"), "{policy}");
            assert!(policy.contains("report-uri /csp-reports"), "{policy}");
            nonces.push(nonce);
        }
        assert_ne!(nonces[0], nonces[1], "a new nonce per request");
    }

    #[test]
    fn permissions_and_cross_origin_policies_and_no_hsts_over_plain_http() {
        let (app, _dir) = app_from_yaml(CSP);
        let server = InProcessServer::start(app.mount(nonce_router()).build().unwrap());
        let response = client().get(server.url("/page")).send().unwrap();
        let headers = response.headers();
        assert_eq!(
            headers["permissions-policy"],
            "camera=(), geolocation=(self)"
        );
        assert_eq!(headers["cross-origin-opener-policy"], "same-origin");
        assert_eq!(headers["cross-origin-resource-policy"], "same-site");
        assert!(headers.get("cross-origin-embedder-policy").is_none());
        assert!(
            headers.get("strict-transport-security").is_none(),
            "HSTS is not sent over plain HTTP unless hsts_always"
        );
    }

    #[test]
    fn report_only_and_hsts_always() {
        let yaml = r#"
extensions:
  "security:SecurityHeadersExtension":
    content_security_policy: {default-src: ["'self'"]}
    report_only: true
    hsts_always: true
"#;
        let (app, _dir) = app_from_yaml(yaml);
        let server = InProcessServer::start(app.mount(nonce_router()).build().unwrap());
        let response = client().get(server.url("/page")).send().unwrap();
        let headers = response.headers();
        assert_eq!(
            headers["content-security-policy-report-only"],
            "default-src 'self'"
        );
        assert!(headers.get("content-security-policy").is_none());
        assert_eq!(
            headers["strict-transport-security"],
            "max-age=31536000; includeSubDomains"
        );
    }

    /// The documented rule: a header the handler already set is kept, so one route can
    /// loosen one policy. Checked for a fixed header, HSTS and the CSP, with and without a
    /// nonce (each takes its own path in the extension).
    #[test]
    fn a_header_the_handler_set_is_kept() {
        for nonce in [false, true] {
            let yaml = format!(
                r#"
extensions:
  "security:SecurityHeadersExtension":
    x_frame_options: DENY
    hsts_always: true
    content_security_policy: {{default-src: ["'self'"]}}
    nonce: {nonce}
"#
            );
            let (app, _dir) = app_from_yaml(&yaml);
            let router = Router::new("")
                .get("/embeddable", |_request: Request| async move {
                    let mut response = "embeddable".into_response();
                    let headers = response.headers_mut();
                    headers.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
                    headers.insert(
                        "strict-transport-security",
                        HeaderValue::from_static("max-age=0"),
                    );
                    headers.insert(
                        "content-security-policy",
                        HeaderValue::from_static("frame-ancestors https://partner.example"),
                    );
                    response
                })
                .get("/plain", |_request: Request| async move { "plain" });
            let server = InProcessServer::start(app.mount(router).build().unwrap());
            let http = client();

            let kept = http.get(server.url("/embeddable")).send().unwrap();
            assert_eq!(kept.status(), 200);
            let headers = kept.headers();
            assert_eq!(headers["x-frame-options"], "SAMEORIGIN", "nonce: {nonce}");
            assert_eq!(
                headers["strict-transport-security"], "max-age=0",
                "nonce: {nonce}"
            );
            assert_eq!(
                headers["content-security-policy"], "frame-ancestors https://partner.example",
                "nonce: {nonce}"
            );
            for name in [
                "x-frame-options",
                "strict-transport-security",
                "content-security-policy",
            ] {
                assert_eq!(
                    headers.get_all(name).iter().count(),
                    1,
                    "{name} is not sent twice (nonce: {nonce})"
                );
            }
            assert_eq!(
                headers["x-content-type-options"], "nosniff",
                "the headers the handler did not set are still added"
            );

            // The same configuration where the handler sets nothing: the configured values.
            let plain = http.get(server.url("/plain")).send().unwrap();
            let headers = plain.headers();
            assert_eq!(headers["x-frame-options"], "DENY");
            assert_eq!(
                headers["strict-transport-security"],
                "max-age=31536000; includeSubDomains"
            );
            let policy = headers["content-security-policy"].to_str().unwrap();
            assert!(policy.starts_with("default-src 'self'"), "{policy}");
        }
    }

    #[test]
    fn a_bad_directive_is_a_configuration_error_with_its_key() {
        let yaml = r#"
extensions:
  "security:SecurityHeadersExtension":
    content_security_policy: {default-src: ["'self'; script-src *"]}
"#;
        let (app, _dir) = app_from_yaml(yaml);
        let error = app.build().err().expect("refused").to_string();
        assert!(
            error.contains("content_security_policy.default-src[0]"),
            "{error}"
        );
    }
}
