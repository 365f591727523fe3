//! `rate_limit:RateLimitExtension` through the real loader and a real server: limits per
//! route and client, 429 answers, the RateLimit-* headers, X-Forwarded-For only from
//! trusted proxies, keys by header, bursts and the bounded key table.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use beginnings::{Json, Request, Router};
use beginnings_tests::{
    InProcessServer, TestServer, app_from_yaml, client, start_expecting_failure,
};
use jsonwebtoken::{EncodingKey, Header, encode};
use reqwest::blocking::Response;
use serde_json::{Value, json};

const ROUTES: &str = r#"
routes:
  exact:
    "/rl/a": {rate_limit: 3}
    "/rl/b": {rate_limit: 3}
    "/rl/one": {rate_limit: 1}
    "/rl/burst": {rate_limit: {requests: 1, window_seconds: 60, burst: 3}}
    "/rl/by-client": {rate_limit: {requests: 2, key: "header:X-Client"}}
    "/rl/by-value": {rate_limit: {requests: 2, key: "header:X-Client", per_address: 100}}
"#;

fn start(extension: &str) -> InProcessServer {
    let yaml = format!("{ROUTES}extensions:\n  \"rate_limit:RateLimitExtension\":\n{extension}");
    let (app, _dir) = app_from_yaml(&yaml);
    let mut router = Router::new("/rl");
    for path in [
        "/a",
        "/b",
        "/one",
        "/burst",
        "/by-client",
        "/by-value",
        "/free",
    ] {
        router = router.get(path, |_request: Request| async {
            Json(json!({"ok": true}))
        });
    }
    router = router.post("/a", |_request: Request| async {
        Json(json!({"ok": true}))
    });
    InProcessServer::start(app.mount(router).build().unwrap())
}

fn get(server: &InProcessServer, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = client().get(server.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().unwrap()
}

fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("{name} is set"))
        .to_str()
        .unwrap()
        .to_string()
}

fn number(response: &Response, name: &str) -> u64 {
    header(response, name).parse().unwrap()
}

#[test]
fn three_allowed_then_429_with_retry_after_and_ratelimit_headers() {
    let server = start("    {}\n");
    for _ in 0..3 {
        assert_eq!(get(&server, "/rl/a", &[]).status(), 200);
    }
    let refused = get(&server, "/rl/a", &[]);
    assert_eq!(refused.status(), 429);
    let retry_after = number(&refused, "retry-after");
    assert!(
        (1..=20).contains(&retry_after),
        "one request every 20 s: {retry_after}"
    );
    assert_eq!(header(&refused, "ratelimit-limit"), "3");
    assert_eq!(header(&refused, "ratelimit-remaining"), "0");
    assert!(number(&refused, "ratelimit-reset") >= retry_after);
    assert_eq!(header(&refused, "ratelimit-policy"), "3;w=60");
    let body: Value = refused.json().unwrap();
    assert_eq!(body["error"]["status"], 429);
}

#[test]
fn allowed_answers_carry_the_ratelimit_headers() {
    let server = start("    {}\n");
    for expected in ["2", "1", "0"] {
        let response = get(&server, "/rl/a", &[]);
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "ratelimit-limit"), "3");
        assert_eq!(header(&response, "ratelimit-remaining"), expected);
        let reset = number(&response, "ratelimit-reset");
        assert!((1..=60).contains(&reset), "reset {reset}");
        assert_eq!(header(&response, "ratelimit-policy"), "3;w=60");
    }
    let free = get(&server, "/rl/free", &[]);
    assert_eq!(free.status(), 200);
    assert!(
        free.headers().get("ratelimit-limit").is_none(),
        "a route without rate_limit is not limited"
    );
}

#[test]
fn each_route_counts_on_its_own() {
    // /rl/a and /rl/b have the same settings, so they share one filter: still two limits.
    let server = start("    {}\n");
    for _ in 0..3 {
        assert_eq!(get(&server, "/rl/a", &[]).status(), 200);
    }
    assert_eq!(get(&server, "/rl/a", &[]).status(), 429);
    let other = get(&server, "/rl/b", &[]);
    assert_eq!(other.status(), 200);
    assert_eq!(header(&other, "ratelimit-remaining"), "2");
    let post = client().post(server.url("/rl/a")).send().unwrap();
    assert_eq!(post.status(), 200, "POST /rl/a is a route of its own");
    assert_eq!(header(&post, "ratelimit-remaining"), "2");
}

#[test]
fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    // The test client is 127.0.0.1, which is not a trusted proxy here.
    let server = start("    trusted_proxies: [\"10.0.0.0/8\"]\n");
    assert_eq!(
        get(&server, "/rl/one", &[("x-forwarded-for", "1.1.1.1")]).status(),
        200
    );
    for forged in ["2.2.2.2", "3.3.3.3, 4.4.4.4", "10.0.0.1"] {
        assert_eq!(
            get(&server, "/rl/one", &[("x-forwarded-for", forged)]).status(),
            429,
            "`{forged}` must not buy a fresh limit"
        );
    }
}

#[test]
fn forwarded_for_from_a_trusted_peer_is_walked_from_the_right() {
    let server = start("    trusted_proxies: [\"127.0.0.0/8\"]\n");
    let xff = |value| [("x-forwarded-for", value)];
    assert_eq!(
        get(&server, "/rl/one", &xff("1.1.1.1, 2.2.2.2")).status(),
        200
    );
    assert_eq!(
        get(&server, "/rl/one", &xff("9.9.9.9, 2.2.2.2")).status(),
        429,
        "the rightmost untrusted address (2.2.2.2) is the client"
    );
    assert_eq!(
        get(&server, "/rl/one", &xff("1.1.1.1, 3.3.3.3")).status(),
        200
    );
    assert_eq!(
        get(&server, "/rl/one", &[]).status(),
        200,
        "no header: the peer itself"
    );
    drop(server);

    let server = start("    trusted_proxies: [\"127.0.0.0/8\", \"2.2.2.2\"]\n");
    assert_eq!(
        get(&server, "/rl/one", &xff("1.1.1.1, 2.2.2.2")).status(),
        200
    );
    assert_eq!(
        get(&server, "/rl/one", &xff("1.1.1.1, 2.2.2.2")).status(),
        429
    );
    assert_eq!(
        get(&server, "/rl/one", &xff("5.5.5.5, 2.2.2.2")).status(),
        200,
        "2.2.2.2 is trusted, so the walk goes on to 5.5.5.5"
    );
}

#[test]
fn a_header_key_limits_each_value_apart() {
    // Every request comes from 127.0.0.1, which may send 100 over all its values.
    let server = start("    {}\n");
    let alice = [("x-client", "alice")];
    assert_eq!(get(&server, "/rl/by-value", &alice).status(), 200);
    assert_eq!(get(&server, "/rl/by-value", &alice).status(), 200);
    assert_eq!(get(&server, "/rl/by-value", &alice).status(), 429);
    assert_eq!(
        get(&server, "/rl/by-value", &[("x-client", "bob")]).status(),
        200
    );
    assert_eq!(
        get(&server, "/rl/by-value", &[]).status(),
        200,
        "without the header the client address is the key"
    );
}

const JWT_SECRET: &str = "a-rate-limit-secret-of-32-bytes-or-more";

/// An HS256 token for `subject`; `jti` tells two tokens of one subject apart.
fn user_token(subject: &str, jti: &str) -> String {
    let claims = json!({"sub": subject, "jti": jti, "exp": 4_102_444_800u64});
    let key = EncodingKey::from_secret(JWT_SECRET.as_bytes());
    format!(
        "Bearer {}",
        encode(&Header::default(), &claims, &key).unwrap()
    )
}

#[test]
fn a_user_key_gives_each_authenticated_user_a_budget_of_their_own() {
    // Auth runs first and sets `auth.subject`; every request comes from 127.0.0.1.
    let yaml = format!(
        r#"
routes:
  exact:
    "/rl/me": {{auth_required: true, rate_limit: {{requests: 2, key: user}}}}
extensions:
  "auth:AuthExtension":
    jwt: {{algorithms: [HS256], secret: "{JWT_SECRET}"}}
  "rate_limit:RateLimitExtension": {{}}
"#
    );
    let (app, _dir) = app_from_yaml(&yaml);
    let router = Router::new("/rl").get("/me", |request: Request| async move {
        Json(json!({"subject": request.value("auth.subject")}))
    });
    let server = InProcessServer::start(app.mount(router).build().unwrap());
    let as_user = |token: &str| get(&server, "/rl/me", &[("authorization", token)]);

    let alice = user_token("alice", "1");
    for expected in ["1", "0"] {
        let response = as_user(&alice);
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "ratelimit-remaining"), expected);
        assert_eq!(response.json::<Value>().unwrap()["subject"], "alice");
    }
    assert_eq!(as_user(&alice).status(), 429, "alice used her two requests");
    assert_eq!(
        as_user(&user_token("alice", "2")).status(),
        429,
        "a new token of the same user does not buy a fresh limit"
    );

    // Same address, another user: a budget of its own.
    let bob = user_token("bob", "1");
    for expected in ["1", "0"] {
        let response = as_user(&bob);
        assert_eq!(response.status(), 200, "bob is not limited by alice");
        assert_eq!(header(&response, "ratelimit-remaining"), expected);
    }
    assert_eq!(as_user(&bob).status(), 429);
}

#[test]
fn a_burst_above_the_rate_is_let_through_at_once() {
    let server = start("    {}\n");
    for expected in ["2", "1", "0"] {
        let response = get(&server, "/rl/burst", &[]);
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "ratelimit-limit"), "3");
        assert_eq!(header(&response, "ratelimit-remaining"), expected);
        assert_eq!(header(&response, "ratelimit-policy"), "1;w=60;burst=3");
    }
    let refused = get(&server, "/rl/burst", &[]);
    assert_eq!(refused.status(), 429);
    let retry_after = number(&refused, "retry-after");
    assert!(
        (30..=60).contains(&retry_after),
        "after the burst, the sustained rate: one a minute ({retry_after})"
    );
}

#[test]
fn a_full_key_table_never_refuses_a_newcomer() {
    // Room for two clients of /rl/a (counted per address).
    let server = start("    trusted_proxies: [\"127.0.0.0/8\"]\n    max_keys: 2\n");
    let from = |address| [("x-forwarded-for", address)];
    for address in ["1.1.1.1", "2.2.2.2"] {
        for _ in 0..3 {
            assert_eq!(get(&server, "/rl/a", &from(address)).status(), 200);
        }
        assert_eq!(get(&server, "/rl/a", &from(address)).status(), 429);
    }
    // The table is full of clients that used their whole limit (nothing is idle): each
    // newcomer still gets a cell of its own and its whole limit, the least recently used
    // client's cell making room.
    for address in ["3.3.3.3", "4.4.4.4", "5.5.5.5", "6.6.6.6"] {
        for expected in ["2", "1", "0"] {
            let response = get(&server, "/rl/a", &from(address));
            assert_eq!(response.status(), 200, "{address} is new");
            assert_eq!(header(&response, "ratelimit-remaining"), expected);
        }
        assert_eq!(get(&server, "/rl/a", &from(address)).status(), 429);
    }
    // A sweep counts the cells themselves (and forgets none here: no bucket has refilled).
    let kept = server
        .extension("rate_limit:RateLimitExtension")
        .command("sweep", &json!({}));
    assert_eq!(kept.unwrap()["keys"], 2, "the table stays bounded");
}

#[test]
fn rotating_a_header_value_does_not_escape_the_address_limit() {
    // Every request comes from 127.0.0.1 with a new X-Client value.
    let server = start("    max_keys: 4\n");
    for n in 0..2 {
        let value = format!("made-up-{n}");
        assert_eq!(
            get(&server, "/rl/by-client", &[("x-client", &value)]).status(),
            200
        );
    }
    for n in 2..10 {
        let value = format!("made-up-{n}");
        assert_eq!(
            get(&server, "/rl/by-client", &[("x-client", &value)]).status(),
            429,
            "a new value does not buy a fresh limit from the same address"
        );
    }
    // Nor does a forwarded address the server does not believe.
    let other = client()
        .get(server.url("/rl/by-client"))
        .header("x-client", "someone")
        .header("x-forwarded-for", "9.9.9.9")
        .send()
        .unwrap();
    assert_eq!(
        other.status(),
        429,
        "X-Forwarded-For from an untrusted peer is no other client"
    );
    // A sweep counts the cells themselves (none has refilled yet).
    let kept = server
        .extension("rate_limit:RateLimitExtension")
        .command("sweep", &json!({}));
    assert_eq!(
        kept.unwrap()["keys"],
        3,
        "the address's cell and its two values: refused values take no cell"
    );
}

#[test]
fn per_address_lets_several_values_share_one_address() {
    let yaml = r#"
routes:
  exact:
    "/rl/keyed": {rate_limit: {requests: 2, key: api_key, per_address: 5}}
extensions:
  "rate_limit:RateLimitExtension": {}
"#;
    let (app, _dir) = app_from_yaml(yaml);
    let router = Router::new("/rl").get("/keyed", |_request: Request| async { "ok" });
    let server = InProcessServer::start(app.mount(router).build().unwrap());
    let with_key = |key: &str| get(&server, "/rl/keyed", &[("x-api-key", key)]);
    assert_eq!(with_key("k1").status(), 200);
    assert_eq!(with_key("k1").status(), 200);
    assert_eq!(with_key("k1").status(), 429, "each key keeps its own limit");
    assert_eq!(with_key("k2").status(), 200);
    assert_eq!(with_key("k2").status(), 200);
    assert_eq!(
        with_key("k3").status(),
        429,
        "the address sent its five (the refused one counted too)"
    );
}

#[test]
fn head_and_get_share_one_allowance() {
    let server = start("    {}\n");
    let head = || client().head(server.url("/rl/a")).send().unwrap();
    let response = head();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "ratelimit-remaining"), "2");
    assert_eq!(
        header(&get(&server, "/rl/a", &[]), "ratelimit-remaining"),
        "1"
    );
    assert_eq!(head().status(), 200);
    assert_eq!(get(&server, "/rl/a", &[]).status(), 429);
    assert_eq!(head().status(), 429, "HEAD is a GET without the body");
}

/// Sends a GET over a raw HTTP/1.1 socket with `headers` written one line each (a client
/// library may fold repeated headers into one line); the status.
fn raw_get(server: &InProcessServer, path: &str, headers: &[(&str, &str)]) -> u16 {
    let addr = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP/1.1 answer: {answer:?}"))
}

#[test]
fn every_forwarded_for_line_is_read_in_order() {
    let server = start("    trusted_proxies: [\"127.0.0.0/8\"]\n");
    // The client's proxy wrote the first line, ours (trusted: 127.0.0.1) added a second:
    // the client is the rightmost address, on the last line.
    let lines = |first, last| [("X-Forwarded-For", first), ("X-Forwarded-For", last)];
    assert_eq!(
        raw_get(&server, "/rl/one", &lines("9.9.9.9", "2.2.2.2")),
        200
    );
    assert_eq!(
        raw_get(&server, "/rl/one", &lines("1.1.1.1", "2.2.2.2")),
        429,
        "2.2.2.2 is the client both times, whatever the first line says"
    );
    assert_eq!(
        raw_get(&server, "/rl/one", &lines("2.2.2.2", "3.3.3.3")),
        200
    );
}

#[test]
fn a_window_past_the_bound_stops_the_server_from_starting() {
    for (setting, key) in [
        (
            "{requests: 5, window_seconds: 18446744073709551615}",
            "window_seconds",
        ),
        ("{requests: 1, window_seconds: 31536001}", "window_seconds"),
        ("{requests: 1, window_seconds: 31536000, burst: 2}", "burst"),
    ] {
        let yaml = format!(
            "routes:\n  exact:\n    \"/api/v1/users\": {{rate_limit: {setting}}}\n\
             extensions:\n  \"rate_limit:RateLimitExtension\": {{}}\n"
        );
        let failed = start_expecting_failure(&yaml, &[]);
        assert!(!failed.status.success(), "{setting}");
        assert!(
            failed.stderr.contains(&format!("{key}: "))
                && failed.stderr.contains("31536000")
                && failed.stderr.contains("/api/v1/users"),
            "{setting}: {}",
            failed.stderr
        );
        assert!(!failed.stderr.contains("panic"), "{}", failed.stderr);
    }
    // The default's window is checked when the extension starts, before any route.
    let failed = start_expecting_failure(
        "extensions:\n  \"rate_limit:RateLimitExtension\": \
         {default: {requests: 5, window_seconds: 99999999999}}\n",
        &[],
    );
    assert!(!failed.status.success());
    assert!(
        failed
            .stderr
            .contains("default.window_seconds: 99999999999 is more than 31536000"),
        "{}",
        failed.stderr
    );
}

#[test]
fn preflights_are_not_counted() {
    let server = start("    {}\n");
    for _ in 0..3 {
        let preflight = client()
            .request(reqwest::Method::OPTIONS, server.url("/rl/one"))
            .send()
            .unwrap();
        assert!(preflight.status().is_success());
    }
    assert_eq!(get(&server, "/rl/one", &[]).status(), 200);
}

#[test]
fn bad_settings_are_configuration_errors() {
    let cases = [
        ("{rate_limit: true}", "needs a `default`"),
        ("{rate_limit: {requests: 5, key: cookie}}", "is not a key"),
        ("{rate_limit: 0}", "requests: must be at least 1"),
        (
            "{rate_limit: {requests: 5, per: 60}}",
            "unknown field `per`",
        ),
    ];
    for (setting, expected) in cases {
        let yaml = format!(
            "routes:\n  exact:\n    \"/rl/a\": {setting}\nextensions:\n  \"rate_limit:RateLimitExtension\": {{}}\n"
        );
        let (app, _dir) = app_from_yaml(&yaml);
        let router = Router::new("/rl").get("/a", |_request: Request| async { "ok" });
        let error = app
            .mount(router)
            .build()
            .err()
            .expect("refused")
            .to_string();
        assert!(
            error.contains("rate_limit") && error.contains(expected),
            "{setting}: {error}"
        );
    }
    let yaml =
        "extensions:\n  \"rate_limit:RateLimitExtension\": {trusted_proxies: [\"not-an-ip\"]}\n";
    let (app, _dir) = app_from_yaml(yaml);
    let error = app.build().err().expect("refused").to_string();
    assert!(error.contains("trusted_proxies"), "{error}");
    for (entry, key) in [
        ("{store: redis}", "store"),
        ("{store: shared, on_store_error: maybe}", "on_store_error"),
    ] {
        let yaml = format!("extensions:\n  \"rate_limit:RateLimitExtension\": {entry}\n");
        let (app, _dir) = app_from_yaml(&yaml);
        let error = app.build().err().expect("refused").to_string();
        assert!(
            error.contains(key) && error.contains("unknown variant"),
            "{error}"
        );
    }
}

#[test]
fn the_shared_store_counts_head_with_get_and_bounds_rotating_values_too() {
    // The demo's /api/v1/slow answers without a database.
    let server = TestServer::start(
        r#"
app:
  shared_store: memory
routes:
  exact:
    "/api/v1/slow": {rate_limit: {requests: 2, key: "header:X-Client"}}
extensions:
  "rate_limit:RateLimitExtension": {store: shared}
"#,
    );
    let url = server.url("/api/v1/slow?ms=0");
    let send = |method: reqwest::Method, value: &str| {
        client()
            .request(method, &url)
            .header("x-client", value)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(send(reqwest::Method::HEAD, "a"), 200);
    assert_eq!(send(reqwest::Method::GET, "a"), 200);
    assert_eq!(
        send(reqwest::Method::HEAD, "a"),
        429,
        "HEAD and GET share one bucket"
    );
    for value in ["b", "c", "d"] {
        assert_eq!(
            send(reqwest::Method::GET, value),
            429,
            "{value}: a new value does not buy a fresh limit from the same address"
        );
    }
}
