//! Liveness and readiness.
//!
//! The server answers `GET /health` and `GET /ready` itself, without extensions or access
//! log, unless the application mounted a route of its own there or `app.probes` is false.
//! [`health_router`] mounts `/health` as an ordinary route, for applications that want it
//! to run through their extensions.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

use crate::routing::{IntoResponse, Json, Response, Router};

/// `GET /health`: answers `{"status": "ok"}` while the server is serving.
pub fn health_router() -> Router {
    Router::new("").get("/health", |_request| async { health_response() })
}

/// Liveness: 200 `{"status":"ok"}` whenever the process answers at all.
pub fn health_response() -> Response {
    static_json(StatusCode::OK, br#"{"status":"ok"}"#)
}

/// Readiness: 200 `{"status":"ready"}`, or 503 with why not (`starting`, `draining`).
pub fn ready_response(not_ready: Option<&str>) -> Response {
    match not_ready {
        None => static_json(StatusCode::OK, br#"{"status":"ready"}"#),
        Some("starting") => {
            static_json(StatusCode::SERVICE_UNAVAILABLE, br#"{"status":"starting"}"#)
        }
        Some("draining") => {
            static_json(StatusCode::SERVICE_UNAVAILABLE, br#"{"status":"draining"}"#)
        }
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": why})),
        )
            .into_response(),
    }
}

/// A JSON answer whose text never changes: probes are polled by load balancers many times a
/// second, so their answers copy a pointer rather than build and serialize a map.
fn static_json(status: StatusCode, body: &'static [u8]) -> Response {
    let mut response = Response::new(Bytes::from_static(body).into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::{health_response, ready_response};

    /// The fixed texts are the JSON the map would give.
    #[tokio::test]
    async fn probe_answers_are_the_json_of_their_status() {
        for (response, status) in [
            (health_response(), "ok"),
            (ready_response(None), "ready"),
            (ready_response(Some("starting")), "starting"),
            (ready_response(Some("draining")), "draining"),
            (ready_response(Some("stopping")), "stopping"),
        ] {
            assert_eq!(response.headers()["content-type"], "application/json");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(parsed, serde_json::json!({"status": status}));
        }
    }
}
