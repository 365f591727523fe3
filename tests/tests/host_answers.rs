//! Answers the server makes itself (404, 405, 413, 504, and a 503 on a store outage) pass
//! through the extensions the path is configured with: a cross-origin request under
//! `/api/*` reads them with CORS and security headers as it reads a handler's answer.
//! HEAD answers carry no body, over HTTP/1.1 and HTTP/2.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use beginnings_tests::{TestServer, client};
use reqwest::blocking::Response;

const ORIGIN: &str = "https://app.example.com";

const CONFIG: &str = r#"
app:
  name: host-answers
  max_body_bytes: 1024
routes:
  patterns:
    "/**": {security_headers: false}
    "/api/*":
      security_headers: true
      cors: {allow_origins: ["https://app.example.com"]}
    "/api/v1/slow": {timeout: 1}
extensions:
  "cors:CorsExtension": {}
  "security:SecurityHeadersExtension": {}
"#;

/// Asserts the answer went through CORS (the origin allowed) and the security headers.
fn assert_marked(answer: &Response, what: &str) {
    let headers = answer.headers();
    assert_eq!(
        headers
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some(ORIGIN),
        "{what}: {headers:?}"
    );
    assert_eq!(
        headers
            .get("x-content-type-options")
            .map(|v| v.to_str().unwrap()),
        Some("nosniff"),
        "{what}: {headers:?}"
    );
}

fn error_status(answer: Response) -> u64 {
    let body: serde_json::Value = answer.json().unwrap();
    body["error"]["status"].as_u64().unwrap_or(0)
}

#[test]
fn not_found_and_method_not_allowed_pass_the_paths_extensions() {
    let server = TestServer::start(CONFIG);
    let http = client();

    let missing = http
        .get(server.url("/api/v1/nothing-here"))
        .header("origin", ORIGIN)
        .send()
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_marked(&missing, "404 under /api/*");
    assert_eq!(error_status(missing), 404);

    // A browser's error page gets the security headers too.
    let page = http
        .get(server.url("/api/v1/nothing-here"))
        .header("origin", ORIGIN)
        .header("accept", "text/html,*/*;q=0.8")
        .send()
        .unwrap();
    assert_eq!(page.status(), 404);
    assert_marked(&page, "HTML 404 under /api/*");

    let wrong = http
        .delete(server.url("/api/v1/users"))
        .header("origin", ORIGIN)
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 405);
    assert_eq!(wrong.headers()["allow"], "GET, POST, HEAD, OPTIONS");
    assert_marked(&wrong, "405 under /api/*");
    assert_eq!(error_status(wrong), 405);

    // Outside /api/* the path's configuration has neither.
    let elsewhere = http
        .get(server.url("/nothing-here"))
        .header("origin", ORIGIN)
        .send()
        .unwrap();
    assert_eq!(elsewhere.status(), 404);
    assert!(
        elsewhere
            .headers()
            .get("access-control-allow-origin")
            .is_none()
            && elsewhere.headers().get("x-content-type-options").is_none(),
        "{:?}",
        elsewhere.headers()
    );

    // An origin CORS does not allow is not marked; the security headers still come.
    let foreign = http
        .get(server.url("/api/v1/nothing-here"))
        .header("origin", "https://evil.example.net")
        .send()
        .unwrap();
    assert_eq!(foreign.status(), 404);
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert_eq!(foreign.headers()["x-content-type-options"], "nosniff");

    // A preflight for a path without a route is answered by CORS, as for a route.
    let preflight = http
        .request(reqwest::Method::OPTIONS, server.url("/api/v1/nothing-here"))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "GET")
        .send()
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], ORIGIN);
}

#[test]
fn refused_bodies_pass_the_routes_extensions() {
    let server = TestServer::start(CONFIG);

    // A declared length over the limit is refused before the body is read.
    let declared = client()
        .post(server.url("/api/v1/users"))
        .header("origin", ORIGIN)
        .header("content-type", "application/json")
        .body(vec![b'a'; 5000])
        .send()
        .unwrap();
    assert_eq!(declared.status(), 413);
    assert_marked(&declared, "413 on a declared length");

    // Without a declared length the body is counted while it is read, after the request
    // hooks ran. A raw socket sends it whole before reading the answer.
    let mut raw = TcpStream::connect(server.addr()).unwrap();
    let mut request = format!(
        "POST /api/v1/users HTTP/1.1\r\nHost: x\r\nOrigin: {ORIGIN}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..5 {
        request.extend_from_slice(b"3e8\r\n");
        request.extend_from_slice(&[b'b'; 1000]);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    raw.write_all(&request).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = read_head(&mut raw);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains(&format!("access-control-allow-origin: {ORIGIN}\r\n")),
        "{head}"
    );
    assert!(
        lower.contains("x-content-type-options: nosniff\r\n"),
        "{head}"
    );
}

/// Reads an answer's head from a raw HTTP/1.1 connection.
fn read_head(raw: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match raw.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            other => panic!(
                "the connection ended before the head did ({other:?}): {}",
                String::from_utf8_lossy(&head)
            ),
        }
    }
    String::from_utf8(head).unwrap()
}

#[test]
fn a_timed_out_request_passes_the_routes_extensions() {
    let server = TestServer::start(CONFIG);
    let slow = client()
        .get(server.url("/api/v1/slow?ms=5000"))
        .header("origin", ORIGIN)
        .send()
        .unwrap();
    assert_eq!(slow.status(), 504);
    assert_marked(&slow, "504 on the route's timeout");
    assert_eq!(error_status(slow), 504);
}

#[test]
fn a_store_outage_answer_passes_the_extensions_before_it() {
    // Nothing listens on port 1: the rate limit cannot count and, `closed`, answers 503.
    let server = TestServer::start(
        r#"
app:
  shared_store: "redis://127.0.0.1:1/0"
routes:
  patterns:
    "/api/*":
      cors: {allow_origins: ["https://app.example.com"]}
      rate_limit: {requests: 5, window_seconds: 60}
extensions:
  "cors:CorsExtension": {}
  "security:SecurityHeadersExtension": {}
  "rate_limit:RateLimitExtension":
    store: shared
    on_store_error: closed
"#,
    );
    let refused = client()
        .get(server.url("/api/v1/users"))
        .header("origin", ORIGIN)
        .send()
        .unwrap();
    assert_eq!(refused.status(), 503);
    assert_marked(&refused, "503 of the rate limit");
}

#[test]
fn head_answers_carry_no_body_over_http2_and_http1() {
    let server = TestServer::start(CONFIG);
    let get = client().get(server.url("/api/v1/users")).send().unwrap();
    assert_eq!(get.status(), 200);
    let length = get.bytes().unwrap().len();
    assert!(length > 0);

    let h2 = reqwest::blocking::Client::builder()
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let http1 = client();
    for (name, http, version) in [
        ("HTTP/2", &h2, reqwest::Version::HTTP_2),
        ("HTTP/1.1", &http1, reqwest::Version::HTTP_11),
    ] {
        let head = http.head(server.url("/api/v1/users")).send().unwrap();
        assert_eq!(head.version(), version);
        assert_eq!(head.status(), 200, "{name}");
        assert_eq!(
            head.headers()["content-length"],
            length.to_string().as_str(),
            "{name}: the GET answer's length"
        );
        assert_eq!(head.headers()["x-content-type-options"], "nosniff");
        let body = head.bytes().unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert!(body.is_empty(), "{name}: {body:?}");

        let missing = http
            .head(server.url("/api/v1/nothing-here"))
            .header("origin", ORIGIN)
            .send()
            .unwrap();
        assert_eq!(missing.status(), 404, "{name}");
        assert_marked(&missing, "HEAD 404");
        let body = missing.bytes().unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert!(body.is_empty(), "{name}: {body:?}");

        let health = http.head(server.url("/health")).send().unwrap();
        assert_eq!(health.status(), 200, "{name}");
        let body = health.bytes().unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert!(body.is_empty(), "{name}: {body:?}");
    }
}
