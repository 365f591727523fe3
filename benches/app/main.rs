//! The Beginnings side of the load benchmark: the same two routes as the bare-hyper
//! baseline (`benches/baseline`), with the same handler work, served by the runtime with the
//! extensions its configuration names. It takes every flag and subcommand of
//! `beginnings-demo` (`--config`, `--profile`, `--extensions-dir`, `--bind`, `check`, ...)
//! but the two that talk to a running server (`bench`, `ext status`: the `client` feature of
//! `beginnings-apps`, which a serving application leaves out).
//! The demo itself is not measured: its users live in a database, and the benchmark measures
//! the runtime and its extensions, not a database.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

use beginnings::routing::StatusCode;
use beginnings::{Json, Rejection, Request, Router};
use beginnings_apps::{Command, ServeOptions, parse, run};
use clap::Parser;
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(
    name = "beginnings-bench-app",
    about = "The application the load benchmark measures",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeOptions,
}

/// The baseline's user, field for field, so both answers are byte-for-byte equal.
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

/// `GET /api/v1/users/{id}`: a parsed id, a look-up under a read lock, a clone and a
/// serialization, as on the baseline.
fn users_router(users: Users) -> Router {
    Router::new("/api/v1").get("/users/{id}", move |request: Request| {
        let found = request
            .param("id")
            .and_then(|id| id.parse::<u64>().ok())
            .and_then(|id| {
                let users = users
                    .read()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                users.get(&id).cloned()
            });
        async move {
            found
                .map(Json)
                .ok_or_else(|| Rejection::new(StatusCode::NOT_FOUND, "no such user"))
        }
    })
}

/// `GET /status`: the baseline's `/health` answer from a route the application mounts, with
/// no extension on it (scenario R: the runtime's own path for a route, against scenario S,
/// the built-in probe answered ahead of every route).
fn status_router() -> Router {
    Router::new("").get("/status", |_request: Request| async {
        Json(serde_json::json!({"status": "ok"}))
    })
}

/// The allocator the `beginnings` command line and the demo serve with (see there why).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    // `GET /health` is answered by the server's built-in probe, ahead of the routes and with
    // no extension (scenario S): the application mounts no route of its own there.
    run(&command, || vec![users_router(seeded()), status_router()])
}
