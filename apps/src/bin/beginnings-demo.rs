//! The demo application: a small users API served by the Beginnings runtime, with the
//! extensions its configuration names.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use beginnings::{Json, Rejection, Request, Router};
use beginnings_apps::{Command, ServeOptions, parse, run};
use clap::Parser;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

#[derive(Debug, Parser)]
#[command(
    name = "beginnings-demo",
    version,
    about = "The Beginnings demo users API",
    // Without a subcommand the demo serves, taking the serve flags directly, as it always has.
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeOptions,
}

#[derive(Debug, Clone, Serialize)]
struct User {
    id: u64,
    name: String,
    email: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    email: String,
}

#[derive(Default)]
struct Users {
    next_id: u64,
    by_id: BTreeMap<u64, User>,
}

type Store = Arc<RwLock<Users>>;

fn users_router(store: Store) -> Router {
    let list = store.clone();
    let one = store.clone();
    let create = store;
    Router::new("/api/v1")
        .get("/users", move |_request| {
            let users: Vec<User> = list.read().by_id.values().cloned().collect();
            async move { Json(users) }
        })
        .get("/users/{id}", move |request: Request| {
            let found = request
                .param("id")
                .and_then(|id| id.parse::<u64>().ok())
                .and_then(|id| one.read().by_id.get(&id).cloned());
            async move {
                found.map(Json).ok_or_else(|| {
                    Rejection::new(beginnings::routing::StatusCode::NOT_FOUND, "no such user")
                })
            }
        })
        .post("/users", move |request: Request| {
            let created = request.json::<NewUser>().and_then(|new| {
                if new.name.trim().is_empty() {
                    return Err(Rejection::new(
                        beginnings::routing::StatusCode::UNPROCESSABLE_ENTITY,
                        "name must not be empty",
                    ));
                }
                let mut users = create.write();
                users.next_id += 1;
                let user = User {
                    id: users.next_id,
                    name: new.name,
                    email: new.email,
                };
                users.by_id.insert(user.id, user.clone());
                Ok(user)
            });
            async move {
                created.map(|user| (beginnings::routing::StatusCode::CREATED, Json(user)))
            }
        })
}

/// `GET /api/v1/slow?ms=N`: answers after N milliseconds (at most a minute), for trying
/// timeouts and graceful shutdown.
fn slow_router() -> Router {
    Router::new("/api/v1").get("/slow", |request: Request| {
        let ms: u64 = request
            .uri()
            .query()
            .and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("ms=")))
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(1000)
            .min(60_000);
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            Json(serde_json::json!({"slept_ms": ms}))
        }
    })
}

fn routers() -> Vec<Router> {
    let store: Store = Arc::default();
    vec![
        beginnings::builtin::health_router(),
        users_router(store),
        slow_router(),
    ]
}

fn main() -> ExitCode {
    let cli = match parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    run(&command, routers)
}
