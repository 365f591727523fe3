//! Liveness and readiness.
//!
//! The server answers `GET /health` and `GET /ready` itself, without extensions or access
//! log, unless the application mounted a route of its own there or `app.probes` is false.
//! [`health_router`] mounts `/health` as an ordinary route, for applications that want it
//! to run through their extensions.

use http::StatusCode;

use crate::routing::{IntoResponse, Json, Response, Router};

/// `GET /health`: answers `{"status": "ok"}` while the server is serving.
pub fn health_router() -> Router {
    Router::new("").get("/health", |_request| async { health_response() })
}

/// Liveness: 200 `{"status": "ok"}` whenever the process answers at all.
pub fn health_response() -> Response {
    Json(serde_json::json!({"status": "ok"})).into_response()
}

/// Readiness: 200 `{"status": "ready"}`, or 503 with why not (`starting`, `draining`).
pub fn ready_response(not_ready: Option<&str>) -> Response {
    match not_ready {
        None => Json(serde_json::json!({"status": "ready"})).into_response(),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": why})),
        )
            .into_response(),
    }
}
