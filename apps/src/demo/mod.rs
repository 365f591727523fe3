//! The demo application: a small blog with users and posts, kept in the database that
//! `database:` configures (in memory without one), with a JSON API under `/api/v1`, a login
//! that issues tokens for the auth extension, a WebSocket echo for logged-in users, and HTML
//! pages when `templates:` is set.

mod caller;
mod echo;
mod feed;
mod input;
mod login;
mod pages;
mod password;
mod posts;
mod store;
mod users;

use beginnings::{App, Json, Request, Router};

use login::Tokens;
use store::Store;

/// What the API's handlers share ([`State`](beginnings::State)`<Demo>`).
pub struct Demo {
    store: Store,
    /// `None` when the configuration verifies no HS256 tokens: login answers 501.
    tokens: Option<Tokens>,
    /// New posts, for the open event feeds.
    feed: feed::Feed,
}

/// The demo's routes for the configuration `app` was loaded from (`None` when it could not
/// be loaded: the command reports that itself).
pub fn routers(app: Option<&App>) -> Vec<Router> {
    // The API and the pages keep their data in the same store.
    let store = Store::default();
    let demo = Demo {
        store: store.clone(),
        tokens: app.and_then(|app| Tokens::from_config(app.config())),
        feed: feed::Feed::default(),
    };
    let mut routers = vec![
        beginnings::builtin::health_router(),
        api().with_state(demo),
        slow_router(),
        Router::new("/api/v1").get("/echo", echo::echo),
    ];
    if let Some(templates) = app.map(App::templates)
        && templates.is_configured()
    {
        routers.push(pages::router().with_state(pages::Pages { store, templates }));
    }
    routers
}

fn api() -> Router<Demo> {
    Router::new("/api/v1")
        .get("/users", users::list)
        .post("/users", users::create)
        .get("/users/{id}", users::get)
        .put("/users/{id}", users::update)
        .delete("/users/{id}", users::delete)
        .get("/posts", posts::list)
        .post("/posts", posts::create)
        .get("/posts/events", feed::events)
        .get("/posts/{id}", posts::get)
        .put("/posts/{id}", posts::update)
        .delete("/posts/{id}", posts::delete)
        .post("/login", login::login)
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
