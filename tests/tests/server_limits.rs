//! The server's answers and limits, black-box: a real `beginnings-demo` on 127.0.0.1.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use beginnings_tests::TestServer as Proc;
use beginnings_tests::client;

const LIMITS: &str = r#"
app:
  name: limits
  host: 127.0.0.1
  max_body_bytes: 1024
  max_header_bytes: 8192
  header_read_timeout: 1
  keep_alive_timeout: 1
routes:
  patterns:
    "/api/*": {security_headers: true}
    "/api/v1/slow": {timeout: 1}
  methods:
    "POST /api/v1/users": {max_body_bytes: 4096}
extensions:
  "security:SecurityHeadersExtension": {x_frame_options: DENY}
"#;

fn error_status(body: &serde_json::Value) -> u64 {
    body["error"]["status"].as_u64().unwrap_or(0)
}

#[test]
fn each_error_status_is_answered_in_the_json_shape() {
    let server = Proc::start(LIMITS);
    let http = client();

    // 413: over the app limit on a route without its own, and over a route's own limit.
    let big = http
        .get(server.url("/api/v1/users"))
        .body(vec![b'a'; 2000])
        .send()
        .unwrap();
    assert_eq!(big.status(), 413);
    assert_eq!(error_status(&big.json().unwrap()), 413);
    let within_route_limit = http
        .post(server.url("/api/v1/users"))
        .body(vec![b'a'; 2000])
        .send()
        .unwrap();
    assert_eq!(
        within_route_limit.status(),
        400,
        "read, then refused as JSON"
    );
    let over_route_limit = http
        .post(server.url("/api/v1/users"))
        .body(vec![b'a'; 5000])
        .send()
        .unwrap();
    assert_eq!(over_route_limit.status(), 413);
    // Without a declared length the body is counted while it is read. A raw socket
    // sends it whole before reading, as a client library may give up sending once the
    // server has answered.
    let mut raw = TcpStream::connect(server.addr()).unwrap();
    let mut request =
        b"POST /api/v1/users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..5 {
        request.extend_from_slice(b"3e8\r\n");
        request.extend_from_slice(&[b'b'; 1000]);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    raw.write_all(&request).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut answer = [0u8; 64];
    let read = raw.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // 504: the route's timeout (1 s) is shorter than the handler.
    let slow = http.get(server.url("/api/v1/slow?ms=3000")).send().unwrap();
    assert_eq!(slow.status(), 504);
    assert_eq!(error_status(&slow.json().unwrap()), 504);

    // 404 and 405 with Allow.
    let missing = http.get(server.url("/nowhere")).send().unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(error_status(&missing.json().unwrap()), 404);
    let wrong = http.delete(server.url("/api/v1/users")).send().unwrap();
    assert_eq!(wrong.status(), 405);
    assert_eq!(wrong.headers()["allow"], "GET, POST, HEAD, OPTIONS");

    // HEAD is answered by the GET route, without a body.
    let head = http.head(server.url("/api/v1/users")).send().unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["x-frame-options"], "DENY");
    assert!(head.bytes().unwrap().is_empty());
}

#[test]
fn oversized_headers_are_answered_431() {
    let server = Proc::start(LIMITS);
    let response = client()
        .get(server.url("/api/v1/users"))
        .header("x-padding", "p".repeat(10_000))
        .send()
        .unwrap();
    assert_eq!(response.status(), 431);
    // The same request within the limit is served.
    let fine = client()
        .get(server.url("/api/v1/users"))
        .header("x-padding", "p".repeat(1_000))
        .send()
        .unwrap();
    assert_eq!(fine.status(), 200);
}

#[test]
fn browsers_get_an_html_error_page_and_api_clients_json() {
    let server = Proc::start(LIMITS);
    let http = client();
    let page = http
        .get(server.url("/nowhere/%3Cscript%3E"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .unwrap();
    assert_eq!(page.status(), 404);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let text = page.text().unwrap();
    assert!(text.contains("<h1>404 Not Found</h1>"), "{text}");
    assert!(!text.contains("<script>"), "{text}");
    let api = http
        .get(server.url("/nowhere"))
        .header("accept", "application/json")
        .send()
        .unwrap();
    assert_eq!(api.headers()["content-type"], "application/json");
}

#[test]
fn h2c_and_http1_are_served_on_one_port() {
    let server = Proc::start(LIMITS);
    let h1 = client().get(server.url("/api/v1/users")).send().unwrap();
    assert_eq!(h1.version(), reqwest::Version::HTTP_11);
    assert_eq!(h1.status(), 200);
    let h2 = reqwest::blocking::Client::builder()
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let response = h2.get(server.url("/api/v1/users")).send().unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-frame-options"], "DENY");
}

/// Reads until the server closes the connection; how long that took.
fn time_until_closed(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return started.elapsed(),
            Ok(_) => continue,
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {
                return started.elapsed();
            }
            Err(error) => panic!("the server kept the connection open: {error}"),
        }
    }
}

#[test]
fn slow_and_silent_clients_are_closed() {
    let server = Proc::start(LIMITS);
    // Half a request head, then nothing: closed by header_read_timeout (1 s).
    let mut slow = TcpStream::connect(server.addr()).unwrap();
    slow.write_all(b"GET /api/v1/users HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let waited = time_until_closed(&mut slow);
    assert!(waited < Duration::from_secs(8), "closed after {waited:?}");
    // Nothing at all: closed by keep_alive_timeout (1 s).
    let mut silent = TcpStream::connect(server.addr()).unwrap();
    let waited = time_until_closed(&mut silent);
    assert!(waited < Duration::from_secs(8), "closed after {waited:?}");
    // The server goes on serving.
    assert_eq!(
        client()
            .get(server.url("/api/v1/users"))
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn request_ids_are_kept_when_sane_and_echoed() {
    let server = Proc::start(LIMITS);
    let http = client();
    let kept = http
        .get(server.url("/api/v1/users"))
        .header("x-request-id", "trace-42.a_b")
        .send()
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "trace-42.a_b");
    let replaced = http
        .get(server.url("/api/v1/users"))
        .header("x-request-id", "no spaces <allowed>")
        .send()
        .unwrap();
    let id = replaced.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 32, "{id}");
    let generated = http.get(server.url("/nowhere")).send().unwrap();
    assert!(generated.headers().contains_key("x-request-id"));
    // One access-log line per request, with the route template and the id.
    assert!(
        server.wait_for_log_count("request_id=\"trace-42.a_b\"", 1, Duration::from_secs(5)),
        "{}",
        server.log()
    );
    let log = server.log();
    let line = log.lines().find(|l| l.contains("trace-42.a_b")).unwrap();
    for field in [
        "method=GET",
        "route=\"/api/v1/users\"",
        "status=200",
        "bytes=",
        "peer=127.0.0.1:",
        "duration_ms=",
    ] {
        assert!(line.contains(field), "{field} missing in {line}");
    }
}

#[test]
fn the_ready_probe_skips_extensions_and_a_mounted_health_route_does_not() {
    let server = Proc::start(&LIMITS.replace("\"/api/*\"", "\"/*\""));
    let http = client();
    let ready = http
        .get(server.url("/ready"))
        .header("x-request-id", "probe-1")
        .send()
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert!(ready.headers().get("x-frame-options").is_none());
    assert_eq!(
        ready.json::<serde_json::Value>().unwrap()["status"],
        "ready"
    );
    // The demo mounts /health itself, so it runs the chain its route configuration selects.
    let health = http.get(server.url("/health")).send().unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers()["x-frame-options"], "DENY");
    assert_eq!(health.json::<serde_json::Value>().unwrap()["status"], "ok");
    assert!(server.wait_for_log_count("route=\"/health\"", 1, Duration::from_secs(5)));
    assert!(!server.log().contains("probe-1"), "probes are not logged");
}

#[test]
fn no_access_log_flag_wins_over_the_configuration() {
    let server = Proc::start_with(LIMITS, &["--no-access-log"]);
    let response = client()
        .get(server.url("/api/v1/users"))
        .header("x-request-id", "quiet-1")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    // The server writes its log in order: once a line it writes later (a reload's) arrived,
    // an access line for the request would have arrived before it.
    server.signal("HUP");
    assert!(server.wait_for_log_count("configuration reloaded", 1, Duration::from_secs(10)));
    assert!(!server.log().contains("quiet-1"), "{}", server.log());
}

#[test]
fn beyond_max_connections_new_connections_wait() {
    let server = Proc::start(&LIMITS.replace(
        "keep_alive_timeout: 1",
        "keep_alive_timeout: 30\n  max_connections: 1",
    ));
    // The one slot: a kept-alive connection that has been served once.
    let mut held = TcpStream::connect(server.addr()).unwrap();
    held.write_all(b"GET /api/v1/users HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buffer = [0u8; 4096];
    held.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let read = held.read(&mut buffer).unwrap();
    assert!(buffer[..read].starts_with(b"HTTP/1.1 200"));
    let (done_tx, done_rx) = mpsc::channel();
    let url = server.url("/api/v1/users");
    thread::spawn(move || {
        let status = client().get(url).send().map(|r| r.status().as_u16());
        let _ = done_tx.send(status);
    });
    // While the slot is taken the second connection waits in the backlog.
    assert!(
        done_rx.recv_timeout(Duration::from_millis(700)).is_err(),
        "a second connection was served beyond max_connections: 1"
    );
    drop(held);
    let status = done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("served once the slot was free");
    assert_eq!(status.unwrap(), 200);
}

#[test]
fn json_log_format_writes_one_object_per_line() {
    let server = Proc::start(&LIMITS.replace("name: limits", "name: limits\n  log_format: json"));
    let response = client()
        .get(server.url("/api/v1/users"))
        .header("x-request-id", "json-line-1")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(server.wait_for_log_count("json-line-1", 1, Duration::from_secs(5)));
    let log = server.log();
    let line = log.lines().find(|l| l.contains("json-line-1")).unwrap();
    let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON object");
    assert_eq!(entry["target"], "beginnings::access");
    assert_eq!(entry["fields"]["route"], "/api/v1/users");
    assert_eq!(entry["fields"]["status"], 200);
}
