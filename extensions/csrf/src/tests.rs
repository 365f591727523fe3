//! The extension through the in-process test host: which routes it takes part in, the
//! error of a malformed route setting, and its hooks (the form field is read from the body).

use beginnings_abi::testing::{TestExtension, TestRequest, TestResponse};
use serde_json::json;

use crate::{CsrfExtension, ROUTE_EXEMPT, RouteSettings, TOKEN_VALUE};

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789";

fn extension() -> TestExtension {
    TestExtension::new::<CsrfExtension>(json!({"secret": SECRET, "secure": false})).unwrap()
}

#[test]
fn protects_every_route_unless_exempt() {
    let csrf = extension();
    assert!(csrf.applies("/form", &["POST"], json!({})).unwrap());
    assert!(
        csrf.applies("/form", &["POST"], json!({"csrf_exempt": null}))
            .unwrap()
    );
    assert!(
        csrf.applies("/form", &["POST"], json!({"csrf_exempt": false}))
            .unwrap()
    );
    assert!(
        !csrf
            .applies("/hook", &["POST"], json!({"csrf_exempt": true}))
            .unwrap()
    );
    assert!(csrf.filter("/hook", json!({"csrf_exempt": true})).is_err());

    let error = csrf
        .applies("/hook", &["POST"], json!({"csrf_exempt": "yes"}))
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("route /hook: csrf_exempt: invalid type"),
        "{error}"
    );
}

#[test]
fn issues_a_token_and_checks_it_in_the_form_body() {
    let csrf = extension();
    let filter = csrf.filter("/form", json!({})).unwrap();

    let outcome = filter
        .exchange(TestRequest::get("/form"), |_| TestResponse::new(200))
        .unwrap();
    let token = outcome.request.value(TOKEN_VALUE).unwrap().to_string();
    let set_cookie = outcome.response.header_value("set-cookie").unwrap();
    assert_eq!(
        set_cookie,
        format!("csrf_token={token}; Path=/; SameSite=Lax")
    );

    let cookie = format!("csrf_token={token}");
    let post = |body: String| {
        TestRequest::post("/form")
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    let outcome = filter
        .exchange(post(format!("csrf_token={token}")), |_| {
            TestResponse::new(200)
        })
        .unwrap();
    assert_eq!(outcome.response.status, 200);
    assert!(!outcome.answered_early);
    assert_eq!(outcome.request.value(TOKEN_VALUE), Some(token.as_str()));

    let outcome = filter
        .exchange(post("csrf_token=forged".into()), |_| TestResponse::new(200))
        .unwrap();
    assert!(outcome.answered_early);
    assert_eq!(outcome.response.status, 403);

    let outcome = filter
        .exchange(TestRequest::post("/form"), |_| TestResponse::new(200))
        .unwrap();
    assert_eq!(outcome.response.status, 403);
    assert_eq!(csrf.host().metrics().values().sum::<i64>(), 2);
}

#[test]
fn the_route_settings_field_is_the_documented_key() {
    let settings: RouteSettings = serde_json::from_value(json!({ROUTE_EXEMPT: true})).unwrap();
    assert_eq!(settings.csrf_exempt, Some(true));
    let settings: RouteSettings = serde_json::from_value(json!({ROUTE_EXEMPT: null})).unwrap();
    assert_eq!(settings.csrf_exempt, None);
}

#[test]
fn cookies_on_several_lines_are_all_read() {
    let csrf = TestExtension::new::<CsrfExtension>(
        json!({"secret": SECRET, "secure": false, "bind_to": "cookie:session"}),
    )
    .unwrap();
    let filter = csrf.filter("/form", json!({})).unwrap();
    let issue = |cookie: Option<&str>| {
        let mut request = TestRequest::get("/form");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let outcome = filter
            .exchange(request, |_| TestResponse::new(200))
            .unwrap();
        outcome.request.value(TOKEN_VALUE).unwrap().to_string()
    };
    let post = |lines: &[String], token: &str| {
        let mut request = TestRequest::post("/form").header("x-csrf-token", token);
        for line in lines {
            request = request.header("cookie", line);
        }
        filter
            .exchange(request, |_| TestResponse::new(200))
            .unwrap()
            .response
            .status
    };
    let token = issue(Some("session=a"));
    let split = [format!("csrf_token={token}"), "session=a".to_string()];
    assert_eq!(post(&split, &token), 200);
    // A token issued without a session does not pass beside a session cookie on a later line.
    let sessionless = issue(None);
    let split = [format!("csrf_token={sessionless}"), "session=a".to_string()];
    assert_eq!(post(&split, &sessionless), 403);
}

#[test]
fn the_documented_keys_are_the_keys_it_reads() {
    let docs = include_str!("../../../docs/extensions.md");
    beginnings_abi::testing::check_documented_keys::<crate::CsrfExtension>(
        docs,
        "csrf:CsrfExtension",
    )
    .unwrap_or_else(|problems| panic!("docs/extensions.md: {problems}"));
}
