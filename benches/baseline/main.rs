//! The bare-hyper baseline of the load benchmark: the two routes the benchmark drives
//! (`GET /health` and `GET /api/v1/users/{id}`), served by hyper and hyper-util the way the
//! Beginnings server serves them (HTTP/1.1 + h2c auto builder, TCP_NODELAY, a tokio runtime
//! with one worker per core it may run on), with no framework: no routing table, no
//! extensions, no limits. What a request costs here is the floor the runtime is compared to.
//!
//! `baseline [--bind HOST:PORT]` prints `listening on http://ADDR` like `beginnings serve`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use serde::Serialize;
use tokio::net::TcpListener;

/// The same shape as the demo application's user, so both answers are byte-for-byte equal.
#[derive(Clone, Serialize)]
struct User {
    id: u64,
    name: String,
    email: String,
}

type Users = Arc<RwLock<BTreeMap<u64, User>>>;

/// The user the load benchmark creates in the demo before measuring it.
fn seeded() -> Users {
    let user = User {
        id: 1,
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
    };
    Arc::new(RwLock::new(BTreeMap::from([(1, user)])))
}

fn json(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"error": {"status": status.as_u16(), "message": message}});
    json(status, serde_json::to_vec(&body).unwrap_or_default())
}

/// The work the demo's handlers do: a JSON body for /health; a parsed id, a look-up under a
/// read lock, a clone and a serialization for a user.
fn handle(users: &Users, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET {
        return error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    }
    let path = request.uri().path();
    if path == "/health" {
        let body = serde_json::json!({"status": "ok"});
        return json(
            StatusCode::OK,
            serde_json::to_vec(&body).unwrap_or_default(),
        );
    }
    let Some(id) = path.strip_prefix("/api/v1/users/") else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    let found = id.parse::<u64>().ok().and_then(|id| {
        let users = users
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        users.get(&id).cloned()
    });
    match found {
        Some(user) => json(
            StatusCode::OK,
            serde_json::to_vec(&user).unwrap_or_default(),
        ),
        None => error(StatusCode::NOT_FOUND, "no such user"),
    }
}

fn bind_address() -> String {
    let mut args = std::env::args().skip(1);
    let mut bind = "127.0.0.1:0".to_string();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bind" => bind = args.next().unwrap_or(bind),
            other => {
                eprintln!(
                    "baseline: unknown argument `{other}` (usage: baseline [--bind HOST:PORT])"
                );
                std::process::exit(1);
            }
        }
    }
    bind
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind(bind_address()).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let users = seeded();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    builder.http2().timer(TokioTimer::new());
    loop {
        let (stream, _peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let users = users.clone();
        let service = hyper::service::service_fn(move |request| {
            let response = handle(&users, &request);
            async move { Ok::<_, Infallible>(response) }
        });
        let builder = builder.clone();
        tokio::spawn(async move {
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
