//! The axum baseline of the load benchmark: the two routes of the bare-hyper baseline
//! (`benches/baseline`), with the same answers byte for byte and the same handler work, on
//! axum as its users run it (`axum::serve`, TCP_NODELAY, a tokio runtime with one worker per
//! core it may run on, as the baseline and Beginnings build theirs).
//!
//! With `--layers TOKEN` the users route runs through five middlewares doing what
//! Beginnings' five extensions do in the benchmark's scenario C, in the same order:
//! 1% timing, the security extension's default headers (tower-http `SetResponseHeaderLayer`),
//! CORS for `https://app.example.com` (tower-http `CorsLayer`), a per-client request counter
//! that never refuses and sets the `RateLimit-*` headers, and a bearer check accepting
//! exactly `TOKEN` (tower-http `ValidateRequestHeaderLayer`). `GET /health` is
//! answered outside them, as Beginnings answers its probe ahead of every extension.
//!
//! `axum-baseline [--bind HOST:PORT] [--layers TOKEN]` prints `listening on http://ADDR`.

mod layers;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use clap::Parser;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::cors::CorsLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::validate_request::{ValidateRequest, ValidateRequestHeaderLayer};

use layers::{RequestCountLayer, SampledTimingLayer};

/// The origin `config/benchmark.yaml` allows, which the load benchmark sends.
const ALLOWED_ORIGIN: &str = "https://app.example.com";
/// The benchmark configuration's rate limit: counted, never reached.
const RATE_LIMIT: u64 = 1_000_000_000;
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// The monitor's 1% sampling.
const SAMPLE_EVERY: u64 = 100;

#[derive(Debug, Parser)]
#[command(
    name = "axum-baseline",
    about = "The load benchmark's two routes on axum, bare or through five tower layers"
)]
struct Options {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: String,
    /// Run the users route through the five layers, accepting this bearer token.
    #[arg(long, value_name = "TOKEN")]
    layers: Option<String>,
}

/// The baseline's user, field for field, so the answers are byte-for-byte equal.
#[derive(Clone, Serialize)]
struct User {
    id: u64,
    name: String,
    email: String,
}

type Users = Arc<RwLock<BTreeMap<u64, User>>>;

fn seeded() -> Users {
    let user = User {
        id: 1,
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
    };
    Arc::new(RwLock::new(BTreeMap::from([(1, user)])))
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({"error": {"status": status.as_u16(), "message": message}});
    (status, Json(body)).into_response()
}

/// A parsed id, a look-up under a read lock, a clone and a serialization, as on the baseline
/// (where an id that does not parse is also a user not found).
async fn user(State(users): State<Users>, id: Result<Path<u64>, PathRejection>) -> Response {
    let found = id.ok().and_then(|Path(id)| {
        let users = users
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        users.get(&id).cloned()
    });
    match found {
        Some(user) => Json(user).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such user"),
    }
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not found")
}

/// The five middlewares, outermost first, in the order `config/benchmark.yaml` lists
/// Beginnings' extensions.
fn with_layers(api: Router, token: &str) -> Router {
    let security = |name, value| SetResponseHeaderLayer::if_not_present(name, value);
    let stack = ServiceBuilder::new()
        .layer(SampledTimingLayer::new(SAMPLE_EVERY))
        .layer(security(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(security(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(security(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(CorsLayer::new().allow_origin(HeaderValue::from_static(ALLOWED_ORIGIN)))
        .layer(RequestCountLayer::new(RATE_LIMIT, RATE_WINDOW))
        .layer(bearer_check(token));
    api.layer(stack)
}

/// Accepts exactly `Authorization: Bearer TOKEN`, as tower-http's deprecated
/// `ValidateRequestHeaderLayer::bearer` did, and answers anything else 401.
#[derive(Clone)]
struct BearerToken {
    expected: HeaderValue,
}

impl<B> ValidateRequest<B> for BearerToken {
    type ResponseBody = Body;

    fn validate(&mut self, request: &mut http::Request<B>) -> Result<(), Response> {
        if request.headers().get(header::AUTHORIZATION) == Some(&self.expected) {
            Ok(())
        } else {
            Err(StatusCode::UNAUTHORIZED.into_response())
        }
    }
}

fn bearer_check(token: &str) -> ValidateRequestHeaderLayer<BearerToken> {
    let expected = HeaderValue::from_str(&format!("Bearer {token}"))
        .expect("a signed token is a valid header value");
    ValidateRequestHeaderLayer::custom(BearerToken { expected })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let options = Options::parse();
    let listener = TcpListener::bind(&options.bind).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    let api = Router::new()
        .route("/api/v1/users/{id}", get(user))
        .with_state(seeded());
    match options.layers {
        Some(token) => {
            // Added after the layers, so outside them.
            let app = with_layers(api, &token)
                .route("/health", get(health))
                .fallback(not_found);
            // The counter keys on the peer's address, which the router hands each request.
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, service).await
        }
        None => {
            let app = api.route("/health", get(health)).fallback(not_found);
            axum::serve(listener, app).await
        }
    }
}
