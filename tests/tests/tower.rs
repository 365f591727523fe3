//! The tower ecosystem both ways, through the real loader, real servers and real requests:
//! an axum router mounted under `/legacy` of a Beginnings app (`Router::nest_service`), and
//! a plain axum app served by `axum::serve` behind `beginnings::tower::ExtensionLayer`. Both
//! get the same answers from the same configuration: the security headers and the auth of
//! their paths' patterns, the body-reading extension where a pattern puts it, bodies
//! streamed both ways, and chains kept per pattern match, never per path.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Extension;
use axum::body::Body as AxumBody;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::{get, post};
use beginnings::Router;
use beginnings::routing::ExtensionValues;
use beginnings::telemetry::metrics::Registry;
use beginnings::tower::ExtensionLayer;
use beginnings_tests::{InProcessServer, app_from_yaml, client};
use bytes::Bytes;
use http_body_util::BodyExt;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;
use tokio::sync::Notify;

const SECRET: &str = "a-test-secret-of-at-least-32-bytes!";
const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "beginnings-tests";

/// `/legacy` needs a token, except under `/legacy/open` (bodies up to 1,000 bytes) and
/// `/legacy/checked`, where the body-reading fixture runs instead.
fn config() -> String {
    format!(
        r#"
routes:
  patterns:
    "/legacy/**": {{auth_required: true}}
    "/legacy/open/**": {{auth_required: false, max_body_bytes: 1000}}
    "/legacy/checked/**": {{auth_required: false, body_check: true}}
extensions:
  "security:SecurityHeadersExtension": {{}}
  "auth:AuthExtension":
    jwt:
      algorithms: [HS256]
      secret: "{SECRET}"
      issuer: "{ISSUER}"
      audience: "{AUDIENCE}"
  "fixture_pipeline:BodyCheck": {{}}
"#
    )
}

fn token() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "sub": "user-42", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600,
    });
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    encode(&Header::default(), &claims, &key).unwrap()
}

/// The application both directions serve under `/legacy`. `release` lets `/open/stream`
/// send its second chunk.
fn legacy(release: Arc<Notify>) -> axum::Router {
    axum::Router::new()
        .route("/", get(|| async { "legacy root" }))
        .route(
            "/hello",
            get(|| async { ([("x-from", "axum")], "hello from axum") }),
        )
        .route(
            "/echo/{*rest}",
            get(|uri: Uri| async move { uri.to_string() }),
        )
        .route("/me", get(me))
        .route("/open/first-chunk", post(first_chunk))
        .route("/open/stream", get(two_chunks))
        .route(
            "/checked/length",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .fallback(|uri: Uri| async move { (StatusCode::NOT_FOUND, format!("axum has no {uri}")) })
        .with_state(release)
}

/// Who the auth extension in front said the caller is.
async fn me(values: Option<Extension<ExtensionValues>>) -> String {
    let subject = values
        .as_ref()
        .and_then(|values| values.get("auth.subject"));
    format!("subject: {}", subject.unwrap_or("none"))
}

/// Answers with the first chunk of the request body, before the rest has come.
async fn first_chunk(body: AxumBody) -> String {
    let mut body = body;
    loop {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    return format!("first chunk: {}", String::from_utf8_lossy(&data));
                }
            }
            _ => return "no chunk".into(),
        }
    }
}

/// Sends `first`, then `second` once the test has seen `first` and says so.
async fn two_chunks(State(release): State<Arc<Notify>>) -> AxumBody {
    let chunks = futures_util::stream::unfold(0, move |step| {
        let release = release.clone();
        async move {
            match step {
                0 => Some((Ok::<_, std::io::Error>(Bytes::from("first;")), 1)),
                1 => {
                    release.notified().await;
                    Some((Ok(Bytes::from("second;")), 2))
                }
                _ => None,
            }
        }
    });
    AxumBody::from_stream(chunks)
}

/// The same answers, whichever way the extensions stand in front of the axum app.
fn check_answers(base: &str) {
    let http = client();
    let get = |path: &str, token: Option<&str>| {
        let mut request = http.get(format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().unwrap()
    };
    let nosniff = |response: &reqwest::blocking::Response| {
        response
            .headers()
            .get("x-content-type-options")
            .map(|value| value.to_str().unwrap().to_string())
    };

    // No token: the auth extension answers, the axum handler is never called.
    let refused = get("/legacy/hello", None);
    assert_eq!(refused.status(), 401, "{base}");
    assert!(refused.headers().contains_key("www-authenticate"));
    assert_eq!(nosniff(&refused).as_deref(), Some("nosniff"));
    assert!(refused.headers().get("x-from").is_none());

    // A token: the axum handler answers, with its headers and the security headers.
    let token = token();
    let answered = get("/legacy/hello", Some(&token));
    assert_eq!(answered.status(), 200);
    assert_eq!(answered.headers()["x-from"], "axum");
    assert_eq!(nosniff(&answered).as_deref(), Some("nosniff"));
    assert!(answered.headers().contains_key("x-request-id"));
    assert_eq!(answered.text().unwrap(), "hello from axum");

    // The prefix is taken off the path the axum app sees; the query stays.
    let echoed = get("/legacy/echo/a/b?x=1", Some(&token));
    assert_eq!(echoed.text().unwrap(), "/echo/a/b?x=1");
    assert_eq!(get("/legacy", Some(&token)).text().unwrap(), "legacy root");
    // What the extensions in front attached reaches the app.
    let me = get("/legacy/me", Some(&token)).text().unwrap();
    assert_eq!(me, "subject: user-42");
    assert_eq!(get("/legacy", None).status(), 401);

    // A more specific pattern lifts the auth; the app's own 404 still gets the headers.
    let missing = get("/legacy/open/nothing", None);
    assert_eq!(missing.status(), 404);
    assert_eq!(nosniff(&missing).as_deref(), Some("nosniff"));
    assert_eq!(missing.text().unwrap(), "axum has no /open/nothing");

    // Where an extension reads the body, it gets it first and the app gets it whole after.
    let post = |body: &'static str| {
        (http.post(format!("{base}/legacy/checked/length")))
            .body(body)
            .send()
            .unwrap()
    };
    let length = post("hello body");
    assert_eq!(length.status(), 200);
    assert_eq!(length.text().unwrap(), "10");
    let forbidden = post("this is forbidden");
    assert_eq!(forbidden.status(), 403);
    assert_eq!(nosniff(&forbidden).as_deref(), Some("nosniff"));

    // A declared body over the path's `max_body_bytes` is refused before the app sees it.
    let large = (http.post(format!("{base}/legacy/open/first-chunk")))
        .body(vec![b'x'; 2_000])
        .send()
        .unwrap();
    assert_eq!(large.status(), 413);
    assert_eq!(nosniff(&large).as_deref(), Some("nosniff"));
}

/// Bodies stream both ways: the app answers from the first chunk of a body the client has
/// not finished, and the client reads the first chunk of an answer the app has not
/// finished. Buffering on either side would leave the read waiting until its timeout.
fn check_streaming(base: &str, release: &Notify) {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST /legacy/open/first-chunk HTTP/1.1\r\nhost: {addr}\r\n\
         transfer-encoding: chunked\r\n\r\n4\r\nping\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let seen = read_until(&mut stream, "first chunk: ping");
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");

    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!("GET /legacy/open/stream HTTP/1.1\r\nhost: {addr}\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let seen = read_until(&mut stream, "first;");
    assert!(!seen.contains("second;"), "{seen}");
    assert!(
        seen.to_ascii_lowercase()
            .contains("x-content-type-options: nosniff")
    );
    release.notify_one();
    read_until(&mut stream, "second;");
}

/// Reads from `stream` until `needle` has come; fails when the stream ends or times out
/// first.
fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&seen).into_owned();
        if text.contains(needle) {
            return text;
        }
        match stream.read(&mut buffer) {
            Ok(0) => panic!("the connection ended before {needle:?}: {text}"),
            Ok(read) => seen.extend_from_slice(&buffer[..read]),
            Err(error) => panic!("no {needle:?} came ({error}): {text}"),
        }
    }
}

/// How many chains were built for paths without a route's chain, and how many pattern
/// matches are kept with them.
fn path_chains(metrics: &Registry) -> (i64, i64) {
    let gauge = |wanted: &str| {
        (metrics.gauges().into_iter())
            .find(|(name, _, _)| name == wanted)
            .map(|(_, _, value)| value)
            .unwrap_or_else(|| panic!("the gauge {wanted}"))
    };
    (
        gauge("beginnings_path_chains"),
        gauge("beginnings_path_matches"),
    )
}

/// Requests 2,000 paths nobody configured under `/legacy` (with and without a token, under
/// the open part too) and returns how many chains there were before and after.
fn made_up_paths(base: &str, metrics: &Registry) -> ((i64, i64), (i64, i64)) {
    let http = client();
    let token = token();
    let before = path_chains(metrics);
    for index in 0..2_000 {
        let path = match index % 3 {
            0 => format!("/legacy/made-up/{index}"),
            1 => format!("/legacy/open/{index}/x"),
            _ => format!("/legacy/echo/{index}"),
        };
        let status = http
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status();
        assert!(status == 200 || status == 404, "{path}: {status}");
    }
    (before, path_chains(metrics))
}

#[test]
fn an_axum_router_mounted_under_legacy_gets_the_extensions_of_its_patterns() {
    let (app, _dir) = app_from_yaml(&config());
    let release = Arc::new(Notify::new());
    let router: Router = Router::new("")
        .get("/native", |_request| async { "native" })
        .nest_service("/legacy", legacy(release.clone()));
    let server = InProcessServer::start(app.mount(router).build().unwrap());
    check_answers(&server.base);
    check_streaming(&server.base, &release);

    // The application's own routes stay its own.
    let native = client().get(server.url("/native")).send().unwrap();
    assert_eq!(native.text().unwrap(), "native");

    let (before, after) = made_up_paths(&server.base, server.metrics());
    println!(
        "mounted service: (path chains, path matches) {before:?} before 2,000 made-up paths, \
         {after:?} after"
    );
    // One chain per pattern the requests matched (`/legacy/**`, its open and checked parts).
    assert!(before.0 > 0 && before.0 <= 4 && before.1 <= 4, "{before:?}");
    assert_eq!(before, after, "made-up paths grew the chain cache");
}

#[test]
fn the_tower_layer_gives_a_plain_axum_app_the_same_answers() {
    let (app, _dir) = app_from_yaml(&config());
    let release = Arc::new(Notify::new());
    let axum_app = axum::Router::new().nest("/legacy", legacy(release.clone()));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = std::thread::spawn(move || {
        let tokio = beginnings::tokio_runtime(Some(2)).unwrap();
        tokio.block_on(async move {
            let layer = ExtensionLayer::from_app(app).expect("the extensions start");
            let metrics = layer.metrics().clone();
            let served = axum_app.layer(layer);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            ready_tx.send((base, metrics)).unwrap();
            axum::serve(listener, served)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
        });
    });
    let (base, metrics) = ready_rx.recv().expect("axum serves");
    check_answers(&base);
    check_streaming(&base, &release);

    let (before, after) = made_up_paths(&base, &metrics);
    println!(
        "tower layer: (path chains, path matches) {before:?} before 2,000 made-up paths, \
         {after:?} after"
    );
    assert!(before.0 > 0 && before.0 <= 4 && before.1 <= 4, "{before:?}");
    assert_eq!(before, after, "made-up paths grew the chain cache");
    stop_tx.send(()).unwrap();
    serving.join().unwrap();
}
