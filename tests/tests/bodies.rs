//! Request bodies: a filter that declares it reads the body gets it buffered (up to the
//! limit) before its hook; other filters never cause buffering, so an early answer does not
//! wait for a body at all.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use beginnings::{Json, Request, Router};
use beginnings_tests::{InProcessServer, app_from_yaml, client};
use serde_json::json;

const CONFIG: &str = r#"
routes:
  patterns:
    "/checked/*": {body_check: true}
extensions:
  "fixture_pipeline:Alpha": {}
  "fixture_pipeline:BodyCheck": {}
"#;

fn router() -> Router {
    let echo = |request: Request| async move {
        Json(json!({
            "length": request.value("body.length"),
            "body": String::from_utf8_lossy(request.body()),
        }))
    };
    Router::new("")
        .post("/checked/x", echo)
        .post("/plain/x", echo)
}

#[test]
fn a_filter_that_reads_the_body_gets_it_and_the_handler_still_does() {
    let (app, _dir) = app_from_yaml(CONFIG);
    let server = InProcessServer::start(app.mount(router()).build().unwrap());
    let http = client();
    let response = http
        .post(server.url("/checked/x"))
        .body("hello body")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(body["length"], "10");
    assert_eq!(body["body"], "hello body");

    let refused = http
        .post(server.url("/checked/x"))
        .body("this is forbidden")
        .send()
        .unwrap();
    assert_eq!(refused.status(), 403);

    let plain: serde_json::Value = http
        .post(server.url("/plain/x"))
        .body("abc")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        plain["length"],
        serde_json::Value::Null,
        "BodyCheck is not on /plain"
    );
    assert_eq!(plain["body"], "abc");
}

/// Sends a request head announcing a large body, and only a few bytes of it.
fn send_partial(base: &str, path: &str, extra_header: &str) -> String {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000000\r\n{extra_header}\r\n0123456789"
    )
    .unwrap();
    let mut buffer = [0u8; 1024];
    let read = stream.read(&mut buffer).unwrap_or(0);
    String::from_utf8_lossy(&buffer[..read]).into_owned()
}

#[test]
fn an_early_answer_does_not_wait_for_the_body() {
    let (app, _dir) = app_from_yaml(CONFIG);
    let server = InProcessServer::start(app.mount(router()).build().unwrap());
    // Alpha answers early; no filter on /plain reads the body, so nothing waits for it.
    let answer = send_partial(&server.base, "/plain/x", "x-stop: alpha\r\n");
    assert!(
        answer.starts_with("HTTP/1.1 418"),
        "answered at once: {answer:?}"
    );
}

#[test]
fn a_body_over_the_limit_is_refused_before_the_hook() {
    let (app, _dir) = app_from_yaml(CONFIG);
    let server = InProcessServer::start(app.mount(router()).build().unwrap());
    let big = vec![b'a'; 3 * 1024 * 1024];
    let response = client()
        .post(server.url("/checked/x"))
        .body(big)
        .send()
        .unwrap();
    assert_eq!(response.status(), 413);
}
