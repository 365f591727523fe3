//! The extension through the in-process test host: which routes it takes part in, the
//! errors of malformed route settings, and its hooks.

use beginnings_abi::testing::{TestExtension, TestRequest, TestResponse};
use serde_json::json;

use crate::{CorsExtension, PREFLIGHT_VARY, ROUTE_OVERRIDES, ROUTE_SWITCH, RouteSettings};

fn extension(config: serde_json::Value) -> TestExtension {
    TestExtension::new::<CorsExtension>(config).unwrap()
}

fn error(extension: &TestExtension, settings: serde_json::Value) -> String {
    match extension.applies("/api", &["GET"], settings.clone()) {
        Ok(applies) => panic!("{settings} should be refused, got applies = {applies}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn takes_part_unless_switched_off_or_without_origins() {
    let cors = extension(json!({"allow_origins": ["https://a.test"]}));
    assert!(cors.applies("/api", &["GET"], json!({})).unwrap());
    assert!(
        cors.applies("/api", &["GET"], json!({"cors_enabled": null}))
            .unwrap()
    );
    assert!(
        cors.applies("/api", &["GET"], json!({"cors_enabled": true}))
            .unwrap()
    );
    assert!(
        !cors
            .applies("/api", &["GET"], json!({"cors_enabled": false}))
            .unwrap()
    );
    // Switched off, the `cors` map is not read at all.
    assert!(
        !cors
            .applies(
                "/api",
                &["GET"],
                json!({"cors_enabled": false, "cors": "not a map"})
            )
            .unwrap()
    );
    assert!(
        !cors
            .applies("/api", &["GET"], json!({"cors": {"allow_origins": []}}))
            .unwrap()
    );
    assert!(cors.filter("/api", json!({"cors_enabled": false})).is_err());

    let without_origins = extension(json!({}));
    assert!(
        !without_origins
            .applies("/api", &["GET"], json!({}))
            .unwrap()
    );
    assert!(without_origins.filter("/api", json!({})).is_err());
    let with_route_origins = json!({"cors": {"allow_origins": ["https://b.test"]}});
    assert!(
        without_origins
            .applies("/api", &["GET"], with_route_origins.clone())
            .unwrap()
    );
    let filter = without_origins.filter("/api", with_route_origins).unwrap();
    let outcome = filter
        .exchange(
            TestRequest::get("/api").header("origin", "https://b.test"),
            |_| TestResponse::new(200),
        )
        .unwrap();
    assert_eq!(
        outcome.response.header_value("access-control-allow-origin"),
        Some("https://b.test")
    );
}

#[test]
fn malformed_settings_name_the_route_and_the_key() {
    let cors = extension(json!({"allow_origins": ["https://a.test"], "allow_credentials": true}));
    let message = error(&cors, json!({"cors_enabled": "yes"}));
    assert!(
        message.starts_with("route /api: cors_enabled: invalid type"),
        "{message}"
    );
    let message = error(&cors, json!({"cors": "https://b.test"}));
    assert!(
        message.starts_with("route /api: cors: invalid type"),
        "{message}"
    );
    let message = error(&cors, json!({"cors": {"allow_origins": "*"}}));
    assert!(
        message.contains("cors.allow_origins: allow_credentials: true cannot be combined"),
        "{message}"
    );
    let message = error(&cors, json!({"cors": {"allow_orgins": ["https://a.test"]}}));
    assert!(
        message.contains("cors.allow_orgins: unknown field `allow_orgins`"),
        "{message}"
    );
    assert!(cors.filter("/api", json!({"cors_enabled": "yes"})).is_err());
}

#[test]
fn answers_preflights_and_marks_allowed_answers() {
    let cors = extension(json!({"allow_origins": ["https://a.test"]}));
    let filter = cors.filter("/api", json!({})).unwrap();

    let preflight = TestRequest::new("OPTIONS", "/api")
        .header("origin", "https://a.test")
        .header("access-control-request-method", "POST");
    let outcome = filter
        .exchange(preflight, |_| panic!("the handler must not run"))
        .unwrap();
    assert!(outcome.answered_early);
    assert_eq!(outcome.response.status, 204);
    assert_eq!(
        outcome.response.header_value("access-control-allow-origin"),
        Some("https://a.test")
    );
    assert_eq!(outcome.response.header_value("vary"), Some(PREFLIGHT_VARY));

    let outcome = filter
        .exchange(
            TestRequest::get("/api").header("origin", "https://a.test"),
            |_| TestResponse::new(200),
        )
        .unwrap();
    assert!(!outcome.answered_early);
    assert_eq!(
        outcome.response.header_value("access-control-allow-origin"),
        Some("https://a.test")
    );
    assert_eq!(outcome.response.header_value("vary"), Some("Origin"));

    let outcome = filter
        .exchange(
            TestRequest::get("/api").header("origin", "https://evil.test"),
            |_| TestResponse::new(200),
        )
        .unwrap();
    assert_eq!(
        outcome.response.header_value("access-control-allow-origin"),
        None
    );
    assert_eq!(outcome.response.header_value("vary"), Some("Origin"));

    // Without `Origin`: no CORS header, but the answer varies with it.
    let outcome = filter
        .exchange(TestRequest::get("/api"), |_| TestResponse::new(200))
        .unwrap();
    assert_eq!(
        outcome.response.headers,
        [("vary".to_string(), "Origin".to_string())]
    );
}

#[test]
fn the_route_settings_fields_are_the_documented_keys() {
    let settings: RouteSettings =
        serde_json::from_value(json!({ROUTE_SWITCH: false, ROUTE_OVERRIDES: {}})).unwrap();
    assert_eq!(settings.cors_enabled, Some(false));
    assert_eq!(settings.cors, Some(json!({})));
    let settings: RouteSettings =
        serde_json::from_value(json!({ROUTE_SWITCH: null, ROUTE_OVERRIDES: null})).unwrap();
    assert_eq!(settings.cors_enabled, None);
    assert_eq!(settings.cors, None);
}

#[test]
fn the_documented_keys_are_the_keys_it_reads() {
    let docs = include_str!("../../../docs/extensions.md");
    beginnings_abi::testing::check_documented_keys::<crate::CorsExtension>(
        docs,
        "cors:CorsExtension",
    )
    .unwrap_or_else(|problems| panic!("docs/extensions.md: {problems}"));
}
