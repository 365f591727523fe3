//! The demo application: a small blog with users and posts, kept in the database that
//! `database:` configures (in memory without one), with a JSON API under `/api/v1`, a login
//! that issues tokens for the auth extension, and HTML pages when `templates:` is set.

mod caller;
mod input;
mod login;
mod pages;
mod password;
mod posts;
mod store;
mod users;

use std::sync::Arc;

use beginnings::{App, Json, Request, Router};

use login::Tokens;
use store::Store;

/// What every handler shares.
#[derive(Clone, Default)]
pub struct Demo {
    store: Store,
    /// `None` when the configuration verifies no HS256 tokens: login answers 501.
    tokens: Option<Arc<Tokens>>,
}

/// The demo's routes for the configuration `app` was loaded from (`None` when it could not
/// be loaded: the command reports that itself).
pub fn routers(app: Option<&App>) -> Vec<Router> {
    let demo = Demo {
        store: Store::default(),
        tokens: app
            .and_then(|app| Tokens::from_config(app.config()))
            .map(Arc::new),
    };
    let mut routers = vec![
        beginnings::builtin::health_router(),
        api(&demo),
        slow_router(),
    ];
    if let Some(templates) = app.map(App::templates)
        && templates.is_configured()
    {
        routers.push(pages::router(&demo, templates));
    }
    routers
}

/// Registers `handler(demo, request)` with a clone of `demo` for each request.
macro_rules! with_demo {
    ($demo:expr, $handler:path) => {{
        let demo = $demo.clone();
        move |request: Request| $handler(demo.clone(), request)
    }};
}

fn api(demo: &Demo) -> Router {
    Router::new("/api/v1")
        .get("/users", with_demo!(demo, users::list))
        .post("/users", with_demo!(demo, users::create))
        .get("/users/{id}", with_demo!(demo, users::get))
        .put("/users/{id}", with_demo!(demo, users::update))
        .delete("/users/{id}", with_demo!(demo, users::delete))
        .get("/posts", with_demo!(demo, posts::list))
        .post("/posts", with_demo!(demo, posts::create))
        .get("/posts/{id}", with_demo!(demo, posts::get))
        .put("/posts/{id}", with_demo!(demo, posts::update))
        .delete("/posts/{id}", with_demo!(demo, posts::delete))
        .post("/login", with_demo!(demo, login::login))
}

/// `GET /api/v1/slow?ms=N`: answers after N milliseconds (at most a minute), for trying
/// timeouts and graceful shutdown.
fn slow_router() -> Router {
    Router::new("/api/v1").get("/slow", |request: Request| {
        let ms: u64 = input::query_pairs(&request)
            .find(|(key, _)| *key == "ms")
            .and_then(|(_, ms)| ms.parse().ok())
            .unwrap_or(1000)
            .min(60_000);
        async move {
            // Tests wait for this line to know a request is in the handler.
            tracing::info!(ms, "slow request sleeping");
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            Json(serde_json::json!({"slept_ms": ms}))
        }
    })
}
