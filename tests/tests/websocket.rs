//! WebSocket upgrades from handlers, with a real `tokio-tungstenite` client: the demo's echo
//! endpoint (the `beginnings-demo` binary, the real auth and security-headers libraries)
//! behind its configured extensions, its size and idle limits from the configuration, and an
//! in-process server for what an upgraded connection keeps of its HTTP connection (its
//! connection count, its place in a graceful shutdown, the send timeout).

use std::time::Duration;

use beginnings::websocket::{Message as ServerMessage, WebSocket};
use beginnings::{IntoResponse, Request, Response, Router};
use beginnings_tests::{InProcessServer, TestServer, app_from_yaml};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

const SECRET: &str = "a-test-secret-that-is-long-enough-0123456789";

/// A bound on every wait of a test, so a broken server fails it rather than hanging it.
const PATIENCE: Duration = Duration::from_secs(30);

/// The demo's extensions and its echo route's settings, with `app` keys added.
fn demo_yaml(app: &str) -> String {
    format!(
        r#"
app:
{app}
routes:
  patterns:
    "/api/*": {{security_headers: true}}
  methods:
    "GET /api/v1/echo": {{auth_required: true}}
extensions:
  "security:SecurityHeadersExtension": {{}}
  "auth:AuthExtension":
    jwt:
      algorithms: [HS256]
      secret: "{SECRET}"
      issuer: beginnings-demo
"#
    )
}

/// A token the demo's auth configuration accepts, for `subject`.
fn token(subject: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"sub": subject, "iss": "beginnings-demo", "exp": now + 600});
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
}

fn ws_url(base: &str, path: &str) -> String {
    format!("{}{path}", base.replacen("http://", "ws://", 1))
}

/// Opens a WebSocket to `path`, with a bearer `token` when given.
async fn connect(
    base: &str,
    path: &str,
    token: Option<&str>,
) -> Result<(Client, http::Response<Option<Vec<u8>>>), WsError> {
    let mut request = ws_url(base, path).into_client_request().unwrap();
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().unwrap();
        request.headers_mut().insert("authorization", value);
    }
    tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(request))
        .await
        .expect("the handshake ends")
}

async fn next(client: &mut Client) -> Option<Result<Message, WsError>> {
    tokio::time::timeout(PATIENCE, client.next())
        .await
        .expect("the server sends something or closes")
}

/// The close frame the server ends the session with (messages before it are skipped).
async fn close_code(client: &mut Client) -> CloseCode {
    loop {
        match next(client).await {
            Some(Ok(Message::Close(Some(frame)))) => return frame.code,
            Some(Ok(Message::Close(None))) => panic!("a close frame without a code"),
            Some(Ok(_)) => continue,
            other => panic!("the session ended without a close frame: {other:?}"),
        }
    }
}

async fn greeted(client: &mut Client, subject: &str) {
    match next(client).await {
        Some(Ok(Message::Text(text))) => assert_eq!(text.as_str(), format!("hello {subject}")),
        other => panic!("expected the greeting, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_echo_exchanges_text_and_binary_behind_auth_and_security_headers() {
    let server = TestServer::start(&demo_yaml("  name: websocket-demo"));
    let (mut client, answer) = connect(&server.base, "/api/v1/echo", Some(&token("ada")))
        .await
        .expect("the upgrade is accepted with a token");
    assert_eq!(answer.status(), 101);
    // The 101 passed the response hooks: the security extension's headers are on it, and
    // the upgrade still works.
    assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
    assert!(answer.headers().contains_key("x-request-id"));
    // The handler saw the subject the auth extension attached.
    greeted(&mut client, "ada").await;
    client
        .send(Message::text("ping over websocket"))
        .await
        .unwrap();
    match next(&mut client).await {
        Some(Ok(Message::Text(text))) => assert_eq!(text.as_str(), "ping over websocket"),
        other => panic!("expected the text back, got {other:?}"),
    }
    let bytes: Vec<u8> = (0..=255).collect();
    client.send(Message::binary(bytes.clone())).await.unwrap();
    match next(&mut client).await {
        Some(Ok(Message::Binary(echoed))) => assert_eq!(echoed.as_ref(), bytes.as_slice()),
        other => panic!("expected the bytes back, got {other:?}"),
    }
    // A client's close is answered with a close, then the server ends the connection.
    client.close(None).await.unwrap();
    match next(&mut client).await {
        Some(Ok(Message::Close(_))) => {}
        other => panic!("expected the close answered, got {other:?}"),
    }
    assert!(next(&mut client).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_the_auth_extension_refuses_the_upgrade() {
    let server = TestServer::start(&demo_yaml("  name: websocket-demo"));
    for token in [None, Some("not-a-token")] {
        match connect(&server.base, "/api/v1/echo", token).await {
            Err(WsError::Http(answer)) => {
                assert_eq!(answer.status(), 401, "token {token:?}");
                assert!(answer.headers().contains_key("www-authenticate"));
                assert!(!answer.headers().contains_key("sec-websocket-accept"));
                // Refused answers get the security headers too.
                assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
            }
            other => panic!("expected a 401 refusal, got {:?}", other.map(|(_, a)| a)),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_is_not_an_upgrade_gets_a_clear_4xx() {
    let server = TestServer::start(&demo_yaml("  name: websocket-demo"));
    let http = reqwest::Client::new();
    let bearer = format!("Bearer {}", token("ada"));
    let plain = http
        .get(server.url("/api/v1/echo"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 426);
    assert_eq!(plain.headers()["upgrade"], "websocket");
    let body: serde_json::Value = plain.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("Upgrade: websocket"), "{message}");
    // An upgrade without a key is malformed.
    let keyless = http
        .get(server.url("/api/v1/echo"))
        .header("authorization", &bearer)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .send()
        .await
        .unwrap();
    assert_eq!(keyless.status(), 400);
    // Another version is refused naming the one spoken.
    let old = http
        .get(server.url("/api/v1/echo"))
        .header("authorization", &bearer)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "8")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 426);
    assert_eq!(old.headers()["sec-websocket-version"], "13");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_configured_size_closes_the_socket_with_1009() {
    let server = TestServer::start(&demo_yaml("  websocket_max_message_bytes: 1024"));
    let (mut client, _) = connect(&server.base, "/api/v1/echo", Some(&token("ada")))
        .await
        .unwrap();
    greeted(&mut client, "ada").await;
    // At the limit: echoed.
    client.send(Message::binary(vec![7u8; 1024])).await.unwrap();
    match next(&mut client).await {
        Some(Ok(Message::Binary(echoed))) => assert_eq!(echoed.len(), 1024),
        other => panic!("expected 1024 bytes back, got {other:?}"),
    }
    // Over it: closed with "message too big".
    client
        .send(Message::binary(vec![7u8; 64 * 1024]))
        .await
        .unwrap();
    assert_eq!(close_code(&mut client).await, CloseCode::Size);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_socket_is_closed_with_1001() {
    let server = TestServer::start(&demo_yaml("  websocket_idle_timeout: 1"));
    let (mut client, _) = connect(&server.base, "/api/v1/echo", Some(&token("ada")))
        .await
        .unwrap();
    greeted(&mut client, "ada").await;
    // Nothing more is sent either way: the server closes the socket as going away.
    assert_eq!(close_code(&mut client).await, CloseCode::Away);
}

/// An echo session for the in-process server.
async fn echo(mut request: Request) -> Response {
    match request.websocket() {
        Ok(upgrade) => upgrade.on_upgrade(|mut socket: WebSocket| async move {
            while let Some(message) = socket.recv().await {
                if socket.send(message).await.is_err() {
                    return;
                }
            }
        }),
        Err(refused) => refused.into_response(),
    }
}

fn open_connections(server: &InProcessServer) -> i64 {
    server
        .metrics()
        .gauges()
        .into_iter()
        .find(|(name, _, _)| name == "http_open_connections")
        .map_or(0, |(_, _, value)| value)
}

async fn echoes(client: &mut Client, text: &str) {
    client.send(Message::text(text)).await.unwrap();
    match next(client).await {
        Some(Ok(Message::Text(echoed))) => assert_eq!(echoed.as_str(), text),
        other => panic!("expected {text:?} back, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_connection_keeps_its_connection_slot_until_it_closes() {
    let (app, _dir) = app_from_yaml("app:\n  max_connections: 1\n");
    let server =
        InProcessServer::start(app.mount(Router::new("").get("/ws", echo)).build().unwrap());
    let (mut client, _) = connect(&server.base, "/ws", None).await.unwrap();
    // hyper is done with the connection once it handed it over; the session still counts.
    echoes(&mut client, "still counted").await;
    assert_eq!(open_connections(&server), 1);
    client.close(None).await.unwrap();
    while next(&mut client).await.is_some() {}
    // Its slot is free again: the one connection allowed is served.
    let answer = tokio::time::timeout(PATIENCE, reqwest::get(server.url("/health")))
        .await
        .expect("a connection is served once the socket closed")
        .unwrap();
    assert_eq!(answer.status(), 200);
}

/// Sends 64 KiB messages until the client stops taking them.
async fn flood(mut request: Request) -> Response {
    match request.websocket() {
        Ok(upgrade) => upgrade.on_upgrade(|mut socket: WebSocket| async move {
            let chunk = bytes::Bytes::from(vec![0u8; 64 * 1024]);
            while socket
                .send(ServerMessage::Binary(chunk.clone()))
                .await
                .is_ok()
            {}
        }),
        Err(refused) => refused.into_response(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_by_the_send_timeout() {
    let (app, _dir) = app_from_yaml("app:\n  send_timeout: 1\n");
    let router = Router::new("").get("/flood", flood);
    let server = InProcessServer::start(app.mount(router).build().unwrap());
    // The client reads nothing after the handshake.
    let (client, _) = connect(&server.base, "/flood", None).await.unwrap();
    let waiting = std::time::Instant::now();
    while open_connections(&server) > 0 {
        assert!(
            waiting.elapsed() < PATIENCE,
            "the session still holds its connection"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(client);
}

/// The server runs on the test's own runtime, which outlives it: a session the server left
/// running after its shutdown would still answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_lets_a_socket_run_for_the_grace_and_then_drops_it() {
    let (app, _dir) = app_from_yaml("app:\n  shutdown_grace_seconds: 5\n");
    let runtime = app.mount(Router::new("").get("/ws", echo)).build().unwrap();
    let server = runtime.bind(Some("127.0.0.1:0")).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    let (stop, stopping) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async {
        let _ = stopping.await;
    }));
    let (mut client, _) = connect(&base, "/ws", None).await.unwrap();
    echoes(&mut client, "before").await;
    stop.send(()).unwrap();
    // Well into the drain (a server that did not count the session would have finished
    // draining by now), the session still works and the server still waits for it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    echoes(&mut client, "while draining").await;
    assert!(!serving.is_finished(), "the drain waits for the session");
    // At the end of the grace the server drops it and stops.
    tokio::time::timeout(PATIENCE, serving)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
    client.send(Message::text("after")).await.ok();
    loop {
        match next(&mut client).await {
            Some(Ok(Message::Text(text))) => panic!("the session outlived the server: {text}"),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break,
        }
    }
}
