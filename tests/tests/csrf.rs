//! `csrf:CsrfExtension` through the real loader and a real server: the token cookie and
//! request value on safe requests, the header and form-field checks on the others, forged,
//! missing and cross-session tokens refused, tabs sharing one token, exempt routes, cookies
//! split over several `Cookie` lines.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use beginnings::{Json, Request, Router};
use beginnings_tests::{InProcessServer, app_from_yaml, client};
use reqwest::blocking::{RequestBuilder, Response};
use serde_json::{Value, json};

const SECRET: &str = "test-secret-0123456789abcdef-0123456789";

fn config(secret: &str) -> String {
    format!(
        r#"
routes:
  exact:
    "/c/hook": {{csrf_exempt: true}}
extensions:
  "csrf:CsrfExtension":
    secret: "{secret}"
    bind_to: cookie:session
"#
    )
}

fn server_with(secret: &str) -> InProcessServer {
    server_from_yaml(&config(secret))
}

fn server_from_yaml(yaml: &str) -> InProcessServer {
    let (app, _dir) = app_from_yaml(yaml);
    let echo = |request: Request| async move {
        Json(json!({"token": request.value("csrf.token"), "method": request.method().as_str()}))
    };
    let router = Router::new("/c")
        .get("/form", echo)
        .post("/form", echo)
        .put("/form", echo)
        .delete("/form", echo)
        .post("/hook", echo);
    InProcessServer::start(app.mount(router).build().unwrap())
}

fn server() -> InProcessServer {
    server_with(SECRET)
}

/// What a browser page gets: the token cookie it was given (if any) and the token the
/// handler saw.
struct Page {
    set_cookie: Option<String>,
    token: String,
}

fn load(server: &InProcessServer, cookies: &str) -> Page {
    let mut request = client().get(server.url("/c/form"));
    if !cookies.is_empty() {
        request = request.header("cookie", cookies);
    }
    let response = request.send().unwrap();
    assert_eq!(response.status(), 200);
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    let body: Value = response.json().unwrap();
    Page {
        set_cookie,
        token: body["token"]
            .as_str()
            .expect("csrf.token is set")
            .to_string(),
    }
}

/// The cookie value of a `Set-Cookie` line.
fn cookie_value(set_cookie: &str) -> String {
    let first = set_cookie.split(';').next().unwrap();
    first.strip_prefix("csrf_token=").unwrap().to_string()
}

fn with(request: RequestBuilder, cookies: &str, token: Option<&str>) -> Response {
    let mut request = request;
    if !cookies.is_empty() {
        request = request.header("cookie", cookies);
    }
    if let Some(token) = token {
        request = request.header("x-csrf-token", token);
    }
    request.send().unwrap()
}

fn post(server: &InProcessServer, cookies: &str, token: Option<&str>) -> Response {
    with(client().post(server.url("/c/form")), cookies, token)
}

fn refused_because(response: Response, reason: &str) {
    assert_eq!(response.status(), 403);
    let body: Value = response.json().unwrap();
    assert_eq!(body["error"]["message"], reason);
}

#[test]
fn a_safe_request_issues_the_cookie_and_hands_the_token_over() {
    let server = server();
    let page = load(&server, "session=a");
    let set_cookie = page.set_cookie.expect("a cookie is issued");
    let attributes: Vec<&str> = set_cookie.split("; ").skip(1).collect();
    assert_eq!(
        attributes,
        ["Path=/", "SameSite=Lax", "Secure"],
        "{set_cookie}"
    );
    assert_eq!(
        cookie_value(&set_cookie),
        page.token,
        "the handler sees the cookie's token"
    );

    let again = load(&server, &format!("session=a; csrf_token={}", page.token));
    assert!(again.set_cookie.is_none(), "a valid cookie is kept");
    assert_eq!(again.token, page.token);
}

#[test]
fn max_age_seconds_becomes_the_cookies_max_age() {
    // The key sets only the cookie's lifetime (the token itself carries no time).
    let server = server_from_yaml(&format!("{}    max_age_seconds: 7200\n", config(SECRET)));
    let page = load(&server, "session=a");
    let set_cookie = page.set_cookie.expect("a cookie is issued");
    let max_ages: Vec<&str> = set_cookie
        .split("; ")
        .skip(1)
        .filter(|attribute| attribute.to_ascii_lowercase().starts_with("max-age="))
        .collect();
    assert_eq!(max_ages, ["Max-Age=7200"], "{set_cookie}");
    assert_eq!(cookie_value(&set_cookie), page.token);

    // A cookie issued again, for a new session, carries it too.
    let again = load(&server, &format!("session=b; csrf_token={}", page.token));
    let set_cookie = again.set_cookie.expect("a new cookie for the new session");
    assert!(
        set_cookie
            .split("; ")
            .any(|attribute| attribute == "Max-Age=7200"),
        "{set_cookie}"
    );
}

#[test]
fn a_matching_header_passes_on_every_unsafe_method() {
    let server = server();
    let page = load(&server, "session=a");
    let cookies = format!("session=a; csrf_token={}", page.token);
    let http = client();
    for request in [
        http.post(server.url("/c/form")),
        http.put(server.url("/c/form")),
        http.delete(server.url("/c/form")),
    ] {
        let response = with(request, &cookies, Some(&page.token));
        assert_eq!(response.status(), 200);
        let body: Value = response.json().unwrap();
        assert_eq!(body["token"], page.token.as_str());
    }
}

#[test]
fn a_matching_form_field_passes() {
    let server = server();
    let page = load(&server, "session=a");
    let cookies = format!("session=a; csrf_token={}", page.token);
    let form = |token: &str| {
        client()
            .post(server.url("/c/form"))
            .header("cookie", &cookies)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("name=x&csrf_token={token}&more=y"))
            .send()
            .unwrap()
    };
    assert_eq!(form(&page.token).status(), 200);
    refused_because(form("forged"), "csrf token invalid");
}

#[test]
fn a_forged_token_with_a_cookie_is_refused() {
    let server = server();
    let page = load(&server, "session=a");
    let cookies = format!("session=a; csrf_token={}", page.token);
    refused_because(
        post(&server, &cookies, Some("forged")),
        "csrf token invalid",
    );

    // The attacker plants a cookie equal to the header: without the secret it is not a token.
    let fake =
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let planted = format!("session=a; csrf_token={fake}");
    refused_because(post(&server, &planted, Some(fake)), "csrf token invalid");

    // A well-formed token made with another secret does not verify either.
    let other = server_with("another-secret-0123456789abcdef-012345");
    let foreign = load(&other, "session=a").token;
    let planted = format!("session=a; csrf_token={foreign}");
    refused_because(
        post(&server, &planted, Some(&foreign)),
        "csrf token invalid",
    );
}

#[test]
fn a_token_without_its_cookie_is_refused() {
    let server = server();
    let genuine = load(&server, "session=a").token;
    refused_because(
        post(&server, "session=a", Some(&genuine)),
        "csrf cookie missing",
    );
    refused_because(post(&server, "", Some("forged")), "csrf cookie missing");
}

#[test]
fn a_missing_token_is_refused() {
    let server = server();
    let page = load(&server, "session=a");
    let cookies = format!("session=a; csrf_token={}", page.token);
    refused_because(post(&server, &cookies, None), "csrf token missing");
    let empty_form = client()
        .post(server.url("/c/form"))
        .header("cookie", &cookies)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=x")
        .send()
        .unwrap();
    refused_because(empty_form, "csrf token missing");
}

#[test]
fn a_token_from_another_session_or_cookie_is_refused() {
    let server = server();
    let alice = load(&server, "session=alice").token;
    // Alice's cookie and token, replayed within Bob's session.
    let replayed = format!("session=bob; csrf_token={alice}");
    refused_because(post(&server, &replayed, Some(&alice)), "csrf token invalid");

    // Two valid tokens of the same session that are not the same: the cookie decides.
    let other = load(&server, "session=alice").token;
    assert_ne!(alice, other);
    let cookies = format!("session=alice; csrf_token={alice}");
    refused_because(post(&server, &cookies, Some(&other)), "csrf token invalid");
}

#[test]
fn two_tabs_keep_working_and_the_token_changes_with_the_session() {
    let server = server();
    let first_tab = load(&server, "session=a");
    let token = first_tab.token;
    let cookies = format!("session=a; csrf_token={token}");
    let second_tab = load(&server, &cookies);
    assert!(second_tab.set_cookie.is_none());
    assert_eq!(
        second_tab.token, token,
        "one token per session, whatever the tab"
    );
    for _ in 0..2 {
        assert_eq!(post(&server, &cookies, Some(&token)).status(), 200);
        assert_eq!(
            post(&server, &cookies, Some(&second_tab.token)).status(),
            200
        );
    }

    // Logging in changes the session: the old token stops working, the next page gets a
    // new one, and both tabs work again with it.
    let logged_in = format!("session=b; csrf_token={token}");
    refused_because(
        post(&server, &logged_in, Some(&token)),
        "csrf token invalid",
    );
    let fresh = load(&server, &logged_in);
    let new_token = cookie_value(&fresh.set_cookie.expect("a new cookie"));
    assert_ne!(new_token, token);
    assert_eq!(fresh.token, new_token);
    let cookies = format!("session=b; csrf_token={new_token}");
    assert_eq!(post(&server, &cookies, Some(&new_token)).status(), 200);
}

#[test]
fn an_exempt_route_takes_no_token() {
    let server = server();
    let hook = client().post(server.url("/c/hook")).send().unwrap();
    assert_eq!(hook.status(), 200);
    let body: Value = hook.json().unwrap();
    assert_eq!(
        body["token"],
        Value::Null,
        "the extension does not run there"
    );
    refused_because(post(&server, "", None), "csrf cookie missing");
}

#[test]
fn safe_methods_are_never_refused() {
    let server = server();
    let http = client();
    for request in [
        http.get(server.url("/c/form")),
        http.head(server.url("/c/form")),
        http.request(reqwest::Method::OPTIONS, server.url("/c/form")),
    ] {
        let response = with(request, "session=a; csrf_token=forged", Some("forged"));
        assert!(response.status().is_success(), "{}", response.status());
    }
}

#[test]
fn a_short_secret_is_a_configuration_error() {
    let (app, _dir) = app_from_yaml(&config("too-short"));
    let error = app.build().err().expect("refused").to_string();
    assert!(
        error.contains("secret: must be at least 32 bytes"),
        "{error}"
    );

    let yaml = config(SECRET).replace("cookie:session", "session");
    let (app, _dir) = app_from_yaml(&yaml);
    let error = app.build().err().expect("refused").to_string();
    assert!(error.contains("bind_to"), "{error}");
}

/// Sends a POST to /c/form over a raw HTTP/1.1 socket with `headers` as written, one line
/// each (a client library would merge the `Cookie` lines); the status and the body.
fn raw_post(server: &InProcessServer, headers: &[(&str, &str)]) -> (u16, String) {
    let addr = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!(
        "POST /c/form HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP/1.1 answer: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn cookies_split_over_several_lines_are_all_read() {
    let server = server();
    let token = load(&server, "session=a").token;
    let csrf_cookie = format!("csrf_token={token}");

    // The session and the token cookie on lines of their own, in either order.
    for cookies in [
        ["session=a", csrf_cookie.as_str()],
        [csrf_cookie.as_str(), "session=a"],
    ] {
        let (status, body) = raw_post(
            &server,
            &[
                ("Cookie", cookies[0]),
                ("Cookie", cookies[1]),
                ("X-CSRF-Token", &token),
            ],
        );
        assert_eq!(status, 200, "{cookies:?}: {body}");
    }

    // The binding is read from every line too: a token issued without a session does not
    // pass for a session cookie sent on a later line.
    let sessionless = load(&server, "").token;
    let (status, body) = raw_post(
        &server,
        &[
            ("Cookie", &format!("csrf_token={sessionless}")),
            ("Cookie", "session=victim"),
            ("X-CSRF-Token", &sessionless),
        ],
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("csrf token invalid"), "{body}");
}

#[test]
fn cookies_in_separate_http2_fields_are_all_read() {
    let server = server();
    let token = load(&server, "session=a").token;
    let h2 = reqwest::blocking::Client::builder()
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // Each `header` call adds a field: the client sends two `cookie` fields.
    let response = h2
        .post(server.url("/c/form"))
        .header("cookie", "session=a")
        .header("cookie", format!("csrf_token={token}"))
        .header("x-csrf-token", &token)
        .send()
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);

    let sessionless = load(&server, "").token;
    let response = h2
        .post(server.url("/c/form"))
        .header("cookie", format!("csrf_token={sessionless}"))
        .header("cookie", "session=victim")
        .header("x-csrf-token", &sessionless)
        .send()
        .unwrap();
    refused_because(response, "csrf token invalid");
}
