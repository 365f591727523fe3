//! Request values handed from one extension to the next (ABI 1.1 `values_set` /
//! `values_read`), through the real libraries: `csrf` bound to `value:auth.subject` listed
//! before `auth` refuses to start and fails `check` with one line naming the entry, the
//! route, the value and the fix; listed after it, the token is bound to the user.

use std::process::Command;

use beginnings::{App, Json, Request, Router};
use beginnings_tests::{
    ConfigDir, InProcessServer, app_from_yaml, build_dir, client, ensure_built,
    start_expecting_failure,
};
use reqwest::blocking::Response;
use serde_json::{Value, json};

const CSRF_SECRET: &str = "test-secret-0123456789abcdef-0123456789";
/// `printf %s alice-key-0123456789 | sha256sum`
const ALICE_KEY: &str = "alice-key-0123456789";
const ALICE_SHA256: &str = "7bafaa96aa2351e6b7fbc258246b08ee66ade6196c76850108303b1dd6d6eb62";
/// `printf %s bob-key-0123456789 | sha256sum`
const BOB_KEY: &str = "bob-key-0123456789";
const BOB_SHA256: &str = "f8596239fe2c5a7d74a70da44c981f5459c078c0060e69b541814edc07d50699";

/// `security`, then `csrf` and `auth` in the order given; `auth` guards `/api/*` only.
fn config(csrf_first: bool, bind_to: &str) -> String {
    let csrf = format!(
        "  \"csrf:CsrfExtension\":\n    secret: \"{CSRF_SECRET}\"\n    bind_to: {bind_to}\n    \
         secure: false\n"
    );
    let auth = format!(
        "  \"auth:AuthExtension\":\n    api_keys:\n      keys:\n        \
         - {{name: alice, sha256: \"{ALICE_SHA256}\"}}\n        \
         - {{name: bob, sha256: \"{BOB_SHA256}\"}}\n"
    );
    let (first, second) = if csrf_first {
        (csrf, auth)
    } else {
        (auth, csrf)
    };
    format!(
        "routes:\n  patterns:\n    \"/api/*\": {{auth_required: true}}\nextensions:\n  \
         \"security:SecurityHeadersExtension\": {{}}\n{first}{second}"
    )
}

/// The line the refusal must be, after the configuration file's path: the `csrf` entry is
/// on line 6, column 3, and `auth` comes after it on every guarded route.
fn assert_refusal_line(output: &str) {
    let lines: Vec<&str> = output
        .lines()
        .filter(|line| line.contains("reads the request value"))
        .collect();
    assert_eq!(lines.len(), 1, "one line, once:\n{output}");
    let line = lines[0];
    assert!(
        line.contains(
            "app.yaml:6:3: `csrf:CsrfExtension` reads the request value `auth.subject` on route "
        ),
        "{line}"
    );
    assert!(
        line.contains(
            ", but no extension before it on that route sets it (before it: \
             security:SecurityHeadersExtension); order `auth:AuthExtension` before it"
        ),
        "{line}"
    );
    assert!(line.contains("/api/v1/"), "a guarded route: {line}");
}

#[test]
fn csrf_bound_to_the_user_before_auth_refuses_to_start_in_one_line() {
    let failed = start_expecting_failure(&config(true, "value:auth.subject"), &[]);
    assert!(!failed.status.success(), "{}", failed.stderr);
    assert!(
        !failed.stdout.contains("listening on"),
        "it must not serve: {}",
        failed.stdout
    );
    assert_refusal_line(&failed.stderr);
}

#[test]
fn check_fails_on_csrf_bound_to_the_user_before_auth() {
    ensure_built();
    let dir = ConfigDir::new(&config(true, "value:auth.subject"));
    let output = Command::new(build_dir().join("beginnings-demo"))
        .args(["check", "--config", "app.yaml", "--extensions-dir"])
        .arg(build_dir())
        .env_remove("BEGINNINGS_EXTENSIONS_DIR")
        .env_remove("BEGINNINGS_ENV")
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
        .output()
        .expect("check runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(!stdout.contains("ok: "), "{stdout}");
    assert_refusal_line(&stderr);
    assert!(
        stderr.lines().any(|l| l.starts_with("app.yaml:6:3: ")),
        "{stderr}"
    );
}

#[test]
fn a_value_no_configured_extension_sets_is_refused_with_the_values_that_are_set() {
    let error = build_error(&config(false, "value:auth.subjct"));
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(
        error.contains("app.yaml:11:3: `csrf:CsrfExtension` reads the request value `auth.subjct`"),
        "{error}"
    );
    assert!(
        error.contains(
            "no configured extension sets it: configure one that does before it, or correct \
             the name (the configured extensions set: auth.claims, auth.method, auth.roles, \
             auth.scopes, auth.subject, csp.nonce)"
        ),
        "{error}"
    );
}

/// The error `App::build` gives for `yaml` with the routes of [`router`], which must not
/// start.
fn build_error(yaml: &str) -> String {
    ensure_built();
    let config = ConfigDir::new(yaml);
    match App::from_file(config.app_yaml(), None)
        .unwrap()
        .extensions_dir(build_dir())
        .mount(router())
        .build()
    {
        Ok(_) => panic!("must not start:\n{yaml}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn a_setter_listed_first_but_with_a_higher_priority_is_named_with_its_priority() {
    let yaml =
        config(false, "value:auth.subject").replace("api_keys:", "priority: 10\n    api_keys:");
    let error = build_error(&yaml);
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(
        error.contains(
            "app.yaml:12:3: `csrf:CsrfExtension` reads the request value `auth.subject` on route "
        ),
        "{error}"
    );
    assert!(
        error.ends_with(
            "(before it: security:SecurityHeadersExtension); order `auth:AuthExtension` before \
             it (give it a `priority` lower than 0; it has 10)"
        ),
        "{error}"
    );
}

/// A guarded form under `/api` (where `auth` takes part) and a public one.
fn router() -> Router {
    let echo = |request: Request| async move {
        Json(json!({
            "token": request.value("csrf.token"),
            "subject": request.value("auth.subject"),
        }))
    };
    Router::new("")
        .get("/api/form", echo)
        .post("/api/form", echo)
        .get("/public/form", echo)
        .post("/public/form", echo)
}

fn server() -> InProcessServer {
    let (app, _dir) = app_from_yaml(&config(false, "value:auth.subject"));
    InProcessServer::start(app.mount(router()).build().unwrap())
}

/// The token cookie and the token a safe request of `key`'s user was given.
fn token_for(server: &InProcessServer, key: &str) -> (String, String) {
    let answer = client()
        .get(server.url("/api/form"))
        .header("x-api-key", key)
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    let cookie = answer
        .headers()
        .get("set-cookie")
        .expect("a token cookie")
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body: Value = answer.json().unwrap();
    (cookie, body["token"].as_str().unwrap().to_string())
}

fn post_as(server: &InProcessServer, key: &str, cookie: &str, token: &str) -> Response {
    client()
        .post(server.url("/api/form"))
        .header("x-api-key", key)
        .header("cookie", cookie)
        .header("x-csrf-token", token)
        .send()
        .unwrap()
}

#[test]
fn csrf_after_auth_binds_the_token_to_the_user() {
    // Starting at all proves the public routes, where `auth` takes no part and the value is
    // absent by configuration, are not refused.
    let server = server();
    let (cookie, token) = token_for(&server, ALICE_KEY);
    let mine = post_as(&server, ALICE_KEY, &cookie, &token);
    assert_eq!(mine.status(), 200);
    let body: Value = mine.json().unwrap();
    assert_eq!(body["subject"], "alice");

    // Bob replaying Alice's cookie and token: the binding differs, so it is refused.
    assert_eq!(post_as(&server, BOB_KEY, &cookie, &token).status(), 403);
    let (bob_cookie, bob_token) = token_for(&server, BOB_KEY);
    assert_ne!(bob_token, token);
    assert_eq!(
        post_as(&server, BOB_KEY, &bob_cookie, &bob_token).status(),
        200
    );

    // The public route still protects unsafe requests, with a token bound to no one.
    let public = client().post(server.url("/public/form")).send().unwrap();
    assert_eq!(public.status(), 403);
}
