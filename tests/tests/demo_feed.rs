//! The demo's feed of new posts (`GET /api/v1/posts/events`): a client of the running
//! `beginnings-demo` that opened the feed receives a post created after it, as a server-sent
//! event, on an answer that passed the configured extensions (security headers, CORS, rate
//! limit).

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use beginnings_tests::{TestServer, client, workspace_root};
use serde_json::{Value, json};

fn demo_yaml(data_dir: &std::path::Path) -> String {
    let config = workspace_root().join("config");
    format!(
        r#"
database:
  url: "sqlite://{data}/demo.db"
  migrations: "{config}/migrations"
  pool_size: 2
routes:
  patterns:
    "/api/*": {{security_headers: true, cors_enabled: true, rate_limit: true}}
  methods:
    "POST /api/v1/posts": {{auth_required: true}}
extensions:
  "security:SecurityHeadersExtension":
    x_frame_options: DENY
  "cors:CorsExtension":
    allow_origins: ["http://localhost:3000"]
  "auth:AuthExtension":
    jwt:
      algorithms: [HS256]
      secret: "a-test-secret-that-is-long-enough-0123456789"
      issuer: beginnings-demo
  "rate_limit:RateLimitExtension":
    default: {{requests: 100, window_seconds: 60, burst: 50, key: ip}}
"#,
        data = data_dir.display(),
        config = config.display(),
    )
}

/// Opens the feed and hands its head, then its lines, to the receiver.
fn open_feed(url: String) -> mpsc::Receiver<String> {
    let (lines, receiver) = mpsc::channel();
    thread::spawn(move || {
        let response = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap()
            .get(url)
            .header("origin", "http://localhost:3000")
            .send()
            .unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map_or("-".to_owned(), |v| v.to_str().unwrap().to_owned())
        };
        let head = [
            response.status().as_str().to_owned(),
            header("content-type"),
            header("x-frame-options"),
            header("access-control-allow-origin"),
            header("ratelimit-limit"),
        ]
        .join(" ");
        if lines.send(head).is_err() {
            return;
        }
        for line in BufReader::new(response).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

fn next_line(lines: &mpsc::Receiver<String>) -> String {
    lines
        .recv_timeout(Duration::from_secs(30))
        .expect("a line of the feed")
}

#[test]
fn a_post_created_after_the_feed_opened_arrives_on_it() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(&demo_yaml(data.path()));
    let feed = open_feed(server.url("/api/v1/posts/events"));
    assert_eq!(
        next_line(&feed),
        "200 text/event-stream DENY http://localhost:3000 50",
        "the feed's answer passed the security, CORS and rate-limit extensions"
    );

    let http = client();
    let login = http
        .post(server.url("/api/v1/login"))
        .json(&json!({"email": "bob@example.com", "password": "bob-password"}))
        .send()
        .unwrap();
    assert_eq!(login.status(), 200);
    let bearer = login.json::<Value>().unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // The feed subscribes when its answer is made, before its head reached the client:
    // every post created from here on is announced to it.
    let created = http
        .post(server.url("/api/v1/posts"))
        .bearer_auth(&bearer)
        .json(&json!({"title": "Live", "body": "written while you watched"}))
        .send()
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().unwrap()["id"].as_i64().unwrap();

    // Keep-alive comments (`:` and a blank line) may come first on a slow machine.
    let mut line = next_line(&feed);
    while line == ":" || line.is_empty() {
        line = next_line(&feed);
    }
    assert_eq!(line, "event: post");
    assert_eq!(next_line(&feed), format!("id: {id}"));
    let data = next_line(&feed);
    let post: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(post["title"], "Live");
    assert_eq!(post["author"], "Bob");
    assert_eq!(next_line(&feed), "");
}
