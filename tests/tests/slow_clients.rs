//! Clients that would hold a connection forever are cut off, each by its documented bound:
//! a reader that never reads its answer (`app.send_timeout`), a body that stops or trickles
//! (`app.client_body_timeout`, `app.client_body_min_rate`), an HTTP/2 client that never
//! answers the PING of the GOAWAY it was sent, and a connection that sends no first request
//! or a head that never ends, while `keep_alive_timeout` is `null`
//! (`app.header_read_timeout`). Raw sockets only: a client library would read, answer PINGs
//! and send whole bodies.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use beginnings::{Json, Request, Router};
use beginnings_tests::{InProcessServer, app_from_yaml, client};
use serde_json::json;

/// Bigger than what the socket buffers of both ends can hold on loopback (the reader's
/// receive buffer is fixed small: autotuned, it may grow to tens of MiB).
const BIG_ANSWER: usize = 16 * 1024 * 1024;

/// How long any test waits for the server before it counts as never closing.
const PATIENCE: Duration = Duration::from_secs(15);

fn router() -> Router {
    Router::new("")
        .get(
            "/big",
            |_request: Request| async move { "x".repeat(BIG_ANSWER) },
        )
        .get("/small", |_request: Request| async move { "small" })
        .post("/echo", |request: Request| async move {
            Json(json!({"length": request.body().len()}))
        })
}

fn start(app: &str) -> InProcessServer {
    let yaml = format!("app:\n  shutdown_grace_seconds: 1\n{app}");
    let (app, _dir) = app_from_yaml(&yaml);
    InProcessServer::start(app.mount(router()).build().unwrap())
}

/// A connection with a small receive buffer, for a client that does not read.
fn connect_small_window(server: &InProcessServer) -> TcpStream {
    let addr = server.base.trim_start_matches("http://").parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(64 * 1024).unwrap();
        socket.connect(addr).await.unwrap()
    });
    let stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

fn connect(server: &InProcessServer) -> TcpStream {
    let stream = TcpStream::connect(server.base.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// Reads until the server closes the connection; everything read. Panics when the server
/// keeps it open past [`PATIENCE`].
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut read = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return read,
            Ok(n) => read.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == ErrorKind::ConnectionReset => return read,
            Err(error) => panic!("the server kept the connection open: {error}"),
        }
    }
}

/// Sends `GET /small` on a new connection and reads its answer, which must come within
/// [`PATIENCE`]; the connection is kept open (it holds a `max_connections` slot).
fn served_and_held(server: &InProcessServer) -> TcpStream {
    let mut stream = connect(server);
    stream
        .write_all(b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = [0u8; 512];
    let read = stream
        .read(&mut answer)
        .expect("locked out by two readers that never read");
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    stream
}

#[test]
fn readers_that_never_read_are_cut_and_free_their_connection_slots() {
    let server = start(
        "  max_connections: 2\n  send_timeout: 1\n  keep_alive_timeout: 60\n  header_read_timeout: 60\n",
    );
    // Two clients take both slots with a large answer they never read.
    let mut readers: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut stream = connect_small_window(&server);
            stream
                .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            stream
        })
        .collect();
    // Two more clients are served, each keeping its connection (and slot): both readers
    // have been cut off.
    let _third = served_and_held(&server);
    let _fourth = served_and_held(&server);
    // The readers' connections were closed with their answers cut short.
    for reader in &mut readers {
        let read = read_until_closed(reader);
        assert!(
            read.starts_with(b"HTTP/1.1 200"),
            "{:?}",
            &read[..read.len().min(64)]
        );
        assert!(read.len() < BIG_ANSWER, "the whole answer was sent");
    }
}

/// Sends a request head for a body of `length` bytes and `sent` of them.
fn start_body(server: &InProcessServer, length: usize, sent: &[u8]) -> TcpStream {
    let mut stream = connect(server);
    write!(
        stream,
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
    )
    .unwrap();
    stream.write_all(sent).unwrap();
    stream
}

fn assert_answered_408_and_closed(stream: &mut TcpStream) {
    let answer = String::from_utf8_lossy(&read_until_closed(stream)).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request body timed out"), "{answer}");
}

#[test]
fn a_body_that_stops_is_answered_408_and_closed() {
    let server = start("  client_body_timeout: 1\n  client_body_min_rate: null\n");
    let mut stream = start_body(&server, 100, b"0123456789");
    assert_answered_408_and_closed(&mut stream);
    // A body that arrives whole is read as before.
    let mut whole = start_body(&server, 3, b"abc");
    let mut answer = [0u8; 512];
    let read = whole.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"length\":3"), "{answer}");
}

#[test]
fn a_body_trickling_below_the_minimum_rate_is_answered_408() {
    // Each byte comes well within client_body_timeout, ten a second: far below 100 a second.
    let server = start("  client_body_timeout: 1\n  client_body_min_rate: 100\n");
    let mut stream = start_body(&server, 1000, b"");
    let mut trickle = stream.try_clone().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    let writer = thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) && trickle.write_all(b"a").is_ok() {
            thread::sleep(Duration::from_millis(100));
        }
    });
    assert_answered_408_and_closed(&mut stream);
    done.store(true, Ordering::Relaxed);
    writer.join().unwrap();
}

/// An HTTP/2 frame: 24-bit length, type, flags, stream id, payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = payload.len() as u32;
    let mut bytes = length.to_be_bytes()[1..].to_vec();
    bytes.extend_from_slice(&[kind, flags]);
    bytes.extend_from_slice(&stream.to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const SETTINGS: u8 = 0x4;
const HEADERS: u8 = 0x1;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;

/// Reads frames until the server closes the connection; the types of the frames, in order.
/// Answers nothing (not even a PING).
fn frame_types_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let bytes = read_until_closed(stream);
    let mut types = Vec::new();
    let mut rest = &bytes[..];
    while rest.len() >= 9 {
        let length = u32::from_be_bytes([0, rest[0], rest[1], rest[2]]) as usize;
        types.push(rest[3]);
        rest = &rest[(9 + length).min(rest.len())..];
    }
    types
}

#[test]
fn an_http2_client_that_never_answers_the_goaway_ping_is_dropped() {
    let server = start("  keep_alive_timeout: 1\n  header_read_timeout: 60\n");
    let mut stream = connect(&server);
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(SETTINGS, 0, 0, &[]));
    // GET /small: :method GET and :scheme http from the static table, :path /small and
    // :authority x as literals; END_STREAM | END_HEADERS.
    let mut block = vec![0x82, 0x86, 0x44, 6];
    block.extend_from_slice(b"/small");
    block.extend_from_slice(&[0x41, 1, b'x']);
    hello.extend(frame(HEADERS, 0x5, 1, &block));
    stream.write_all(&hello).unwrap();
    let types = frame_types_until_closed(&mut stream);
    let goaway = types.iter().position(|t| *t == GOAWAY);
    assert!(goaway.is_some(), "no GOAWAY before the close: {types:?}");
    assert!(
        types[goaway.unwrap()..].contains(&PING),
        "the GOAWAY came without its PING: {types:?}"
    );
    assert!(
        types.contains(&HEADERS),
        "the request was answered: {types:?}"
    );
}

#[test]
fn an_http2_answer_held_back_by_a_zero_window_does_not_pin_its_connection() {
    // The client grants no stream window: the answer's data can never be sent, and no write
    // blocks (send_timeout cannot see it). The idle close bounds it.
    let server = start("  keep_alive_timeout: 1\n  header_read_timeout: 60\n  send_timeout: 60\n");
    let mut stream = connect(&server);
    let mut hello = PREFACE.to_vec();
    // SETTINGS_INITIAL_WINDOW_SIZE (0x4) = 0.
    hello.extend(frame(SETTINGS, 0, 0, &[0, 4, 0, 0, 0, 0]));
    let mut block = vec![0x82, 0x86, 0x44, 4];
    block.extend_from_slice(b"/big");
    block.extend_from_slice(&[0x41, 1, b'x']);
    hello.extend(frame(HEADERS, 0x5, 1, &block));
    stream.write_all(&hello).unwrap();
    let types = frame_types_until_closed(&mut stream);
    assert!(
        types.contains(&HEADERS),
        "the answer was started: {types:?}"
    );
    assert!(types.contains(&GOAWAY), "{types:?}");
}

#[test]
fn without_a_keep_alive_timeout_a_connection_without_a_first_request_is_closed() {
    let server = start("  keep_alive_timeout: null\n  header_read_timeout: 1\n");
    // Nothing at all.
    let mut silent = connect(&server);
    assert!(read_until_closed(&mut silent).is_empty());
    // Half the HTTP/2 preface.
    let mut half = connect(&server);
    half.write_all(&PREFACE[..16]).unwrap();
    assert!(read_until_closed(&mut half).is_empty());
    // The whole preface and settings, then no stream (and no answer to the GOAWAY's PING).
    let mut idle_h2 = connect(&server);
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(SETTINGS, 0, 0, &[]));
    idle_h2.write_all(&hello).unwrap();
    let types = frame_types_until_closed(&mut idle_h2);
    assert!(types.contains(&GOAWAY), "{types:?}");
    // Served connections are not cut by the first-request bound.
    assert_eq!(
        client().get(server.url("/small")).send().unwrap().status(),
        200
    );
}

#[test]
fn without_a_keep_alive_timeout_every_http1_head_is_bounded_by_the_header_read_timeout() {
    let server = start("  keep_alive_timeout: null\n  header_read_timeout: 1\n");
    // Half a first head, then nothing.
    let mut first = connect(&server);
    first
        .write_all(b"GET /small HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    assert!(read_until_closed(&mut first).is_empty());
    // Served once, then half the next head.
    let mut second = served_and_held(&server);
    second.write_all(b"GET /small HTTP/1.1\r\n").unwrap();
    assert!(read_until_closed(&mut second).is_empty());
    // Served once, then nothing: the same clock runs while it waits for its next request.
    let mut kept = served_and_held(&server);
    assert!(read_until_closed(&mut kept).is_empty());
    assert_eq!(
        client().get(server.url("/small")).send().unwrap().status(),
        200
    );
}

#[test]
fn an_answer_still_streaming_out_is_not_cut_by_the_idle_close() {
    // The handler returns at once; writing its answer out to a reader that takes its time
    // lasts several keep-alive timeouts. The connection is told to close when idle, yet the
    // answer arrives whole.
    let server = start("  keep_alive_timeout: 1\n  send_timeout: 5\n");
    let mut reader = connect_small_window(&server);
    reader
        .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut read = 0usize;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(error) => panic!("after {read} bytes: {error}"),
        }
        // A reader paced at about 3 MiB a second: the answer takes over 5 s.
        thread::sleep(Duration::from_millis(20));
    }
    assert!(read > BIG_ANSWER, "the answer was cut after {read} bytes");
}
