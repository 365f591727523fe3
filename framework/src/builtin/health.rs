use crate::routing::{Json, Router};

/// `GET /health`: answers `{"status": "ok"}` while the server is serving.
pub fn health_router() -> Router {
    Router::new("").get("/health", |_request| async {
        Json(serde_json::json!({"status": "ok"}))
    })
}
