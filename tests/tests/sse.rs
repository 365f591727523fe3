//! Server-sent events through a real server: a client that connected first receives an
//! event published after it, through the route's extensions, on a stream that stays open
//! past the keep-alive timeout and carries keep-alive comments while silent.

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use beginnings::routing::{Event, Sse};
use beginnings::{Request, Router, State};
use beginnings_tests::{InProcessServer, app_from_yaml, client};
use tokio::sync::broadcast;

const CONFIG: &str = r#"
app:
  keep_alive_timeout: 1
extensions:
  "security:SecurityHeadersExtension": {}
"#;

struct Feed {
    sender: broadcast::Sender<String>,
}

async fn events(feed: State<Feed>, request: Request) -> Sse {
    let receiver = feed.sender.subscribe();
    let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(text) => return Some((Event::new().event("note").data(text), receiver)),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let every = match request.uri().query() {
        Some("quick") => Duration::from_millis(100),
        _ => Duration::from_secs(60),
    };
    Sse::new(events).keep_alive(every).boxed()
}

async fn publish(feed: State<Feed>, request: Request) -> String {
    let text = String::from_utf8_lossy(request.body()).into_owned();
    let listeners = feed.sender.send(text).unwrap_or(0);
    listeners.to_string()
}

async fn listeners(feed: State<Feed>, _request: Request) -> String {
    feed.sender.receiver_count().to_string()
}

fn server() -> InProcessServer {
    let (app, _dir) = app_from_yaml(CONFIG);
    let (sender, _) = broadcast::channel(16);
    let router = Router::new("/feed")
        .get("/events", events)
        .post("/publish", publish)
        .get("/listeners", listeners)
        .with_state(Feed { sender });
    InProcessServer::start(app.mount(router).build().expect("builds"))
}

/// Opens the stream and reads it line by line on a thread; the lines come out of the
/// receiver, the head's headers out of the first message.
fn subscribe(url: String) -> mpsc::Receiver<String> {
    let (lines, receiver) = mpsc::channel();
    thread::spawn(move || {
        let response = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap()
            .get(url)
            .send()
            .unwrap();
        let head = format!(
            "{} {} {} {}",
            response.status().as_u16(),
            response.headers()["content-type"].to_str().unwrap(),
            response.headers()["cache-control"].to_str().unwrap(),
            response.headers()["x-frame-options"].to_str().unwrap(),
        );
        if lines.send(head).is_err() {
            return;
        }
        for line in BufReader::new(response).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
        let _ = lines.send("<end>".to_owned());
    });
    receiver
}

fn wait_for_listeners(server: &InProcessServer, count: usize) {
    for _ in 0..500 {
        let answer = client().get(server.url("/feed/listeners")).send().unwrap();
        if answer.text().unwrap() == count.to_string() {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
    panic!("the stream never subscribed");
}

fn next_line(lines: &mpsc::Receiver<String>) -> String {
    lines
        .recv_timeout(Duration::from_secs(30))
        .expect("a line of the stream")
}

#[test]
fn an_event_published_after_the_client_connected_arrives() {
    let server = server();
    let lines = subscribe(server.url("/feed/events"));
    assert_eq!(
        next_line(&lines),
        "200 text/event-stream no-cache DENY",
        "the security extension's response hook saw the answer's head"
    );
    wait_for_listeners(&server, 1);
    // Silent for longer than the keep-alive timeout (1 s) and its grace to close: the
    // stream is an answer in flight, not an idle connection.
    thread::sleep(Duration::from_secs(3));
    let published = client()
        .post(server.url("/feed/publish"))
        .body("hello, stream")
        .send()
        .unwrap();
    assert_eq!(published.text().unwrap(), "1", "one listener got it");
    assert_eq!(next_line(&lines), "event: note");
    assert_eq!(next_line(&lines), "data: hello, stream");
    assert_eq!(next_line(&lines), "");

    // A draining server ends the stream rather than wait out its grace for it.
    let started = std::time::Instant::now();
    server.stop();
    eprintln!("stopped in {:?}", started.elapsed());
    assert_eq!(next_line(&lines), "<end>");
}

#[test]
fn a_silent_stream_carries_keep_alive_comments() {
    let server = server();
    let lines = subscribe(server.url("/feed/events?quick"));
    assert!(next_line(&lines).starts_with("200 "));
    assert_eq!(next_line(&lines), ":");
    assert_eq!(next_line(&lines), "");
    wait_for_listeners(&server, 1);
    client()
        .post(server.url("/feed/publish"))
        .body("two\nlines")
        .send()
        .unwrap();
    // Comments may come before the event; skip them.
    let mut line = next_line(&lines);
    while line == ":" || line.is_empty() {
        line = next_line(&lines);
    }
    assert_eq!(line, "event: note");
    assert_eq!(next_line(&lines), "data: two");
    assert_eq!(next_line(&lines), "data: lines");
    let started = std::time::Instant::now();
    server.stop();
    eprintln!("stopped in {:?}", started.elapsed());
}
