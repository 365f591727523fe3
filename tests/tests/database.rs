//! The `database:` pool through a real server: SQLite files created beside the configuration,
//! migrations run at start-up, handlers querying the pool, and a pool with every connection
//! taken answering 503 once its acquire timeout passes. The same checks run against the
//! PostgreSQL server on 127.0.0.1:5432 when one is there.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use beginnings::builtin::{Database, sqlx};
use beginnings::config::{DatabaseConfig, DatabaseUrl};
use beginnings::routing::StatusCode;
use beginnings::{Json, Rejection, Request, Router};
use beginnings_tests::{InProcessServer, app_from_yaml, client, skip_unless_required};
use serde_json::{Value, json};

const MIGRATION: &str = "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL);";

/// `POST /items {"id", "name"}`, `GET /items` and `GET /hold?ms=N`, which keeps one
/// connection for N milliseconds and says so in `holding`.
fn items(database: Database, holding: Arc<AtomicBool>) -> Router {
    let (list, add, hold) = (database.clone(), database.clone(), database);
    Router::new("")
        .get("/items", move |_request: Request| {
            let database = list.clone();
            async move {
                let pool = database.pool().await?;
                let names: Vec<String> = sqlx::query_scalar("SELECT name FROM items ORDER BY id")
                    .fetch_all(pool)
                    .await?;
                Ok::<_, Rejection>(Json(names))
            }
        })
        .post("/items", move |request: Request| {
            let database = add.clone();
            async move {
                let item: Value = request.json()?;
                sqlx::query("INSERT INTO items (id, name) VALUES ($1, $2)")
                    .bind(item["id"].as_i64())
                    .bind(item["name"].as_str().map(str::to_owned))
                    .execute(database.pool().await?)
                    .await?;
                Ok::<_, Rejection>(StatusCode::CREATED)
            }
        })
        .get("/hold", move |request: Request| {
            let database = hold.clone();
            let holding = holding.clone();
            async move {
                let ms: u64 = request
                    .uri()
                    .query()
                    .and_then(|q| q.strip_prefix("ms="))
                    .and_then(|ms| ms.parse().ok())
                    .unwrap_or(1000);
                let connection = database.acquire().await?;
                holding.store(true, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                drop(connection);
                Ok::<_, Rejection>(Json(json!({"held_ms": ms})))
            }
        })
}

fn write_migrations(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("0001_items.sql"), MIGRATION).unwrap();
}

/// Creates, lists and reads back through the server; `yaml` names the database.
fn round_trip(yaml: &str) {
    let (app, config) = app_from_yaml(yaml);
    write_migrations(&config.path().join("migrations"));
    let database = app.database().expect("database: is configured");
    let server =
        InProcessServer::start(app.mount(items(database, Arc::default())).build().unwrap());
    let http = client();
    for (id, name) in [(1, "first"), (2, "second")] {
        let created = http
            .post(server.url("/items"))
            .json(&json!({"id": id, "name": name}))
            .send()
            .unwrap();
        assert_eq!(created.status(), 201);
    }
    let names: Value = http
        .get(server.url("/items"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(names, json!(["first", "second"]));
    // A second row with the same key is a database error: 500 without its details.
    let duplicate = http
        .post(server.url("/items"))
        .json(&json!({"id": 1, "name": "again"}))
        .send()
        .unwrap();
    assert_eq!(duplicate.status(), 500);
    let body: Value = duplicate.json().unwrap();
    assert_eq!(body["error"]["message"], "database error");
}

/// With its only connection held, a query waits `acquire_timeout` and is answered 503; the
/// pool serves again once the connection is back.
fn exhaustion(yaml: &str) {
    let (app, config) = app_from_yaml(yaml);
    write_migrations(&config.path().join("migrations"));
    let database = app.database().unwrap();
    let holding = Arc::new(AtomicBool::new(false));
    let server =
        InProcessServer::start(app.mount(items(database, holding.clone())).build().unwrap());
    let hold_url = server.url("/hold?ms=4000");
    let holder = thread::spawn(move || client().get(hold_url).send().unwrap().status());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !holding.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the holder never took the connection"
        );
        thread::sleep(Duration::from_millis(10));
    }
    let busy = client().get(server.url("/items")).send().unwrap();
    assert_eq!(busy.status(), 503);
    let body: Value = busy.json().unwrap();
    assert_eq!(body["error"]["status"], 503);
    assert_eq!(holder.join().unwrap(), 200);
    let after = client().get(server.url("/items")).send().unwrap();
    assert_eq!(after.status(), 200);
}

fn pool_settings(url: &str, pool: &str) -> String {
    format!("database:\n  url: \"{url}\"\n  migrations: migrations\n{pool}")
}

const ONE_CONNECTION: &str = "  pool_size: 1\n  max_overflow: 0\n  acquire_timeout: 0.5\n";

#[test]
fn sqlite_file_and_its_directory_are_created_beside_the_configuration() {
    let (app, config) = app_from_yaml(&pool_settings("sqlite://db/nested/app.db", ""));
    write_migrations(&config.path().join("migrations"));
    let database = app.database().unwrap();
    let server =
        InProcessServer::start(app.mount(items(database, Arc::default())).build().unwrap());
    let created = client()
        .post(server.url("/items"))
        .json(&json!({"id": 7, "name": "kept"}))
        .send()
        .unwrap();
    assert_eq!(created.status(), 201);
    server.stop();
    let file = config.path().join("db/nested/app.db");
    assert!(file.is_file(), "{} was not created", file.display());
}

#[test]
fn sqlite_round_trip() {
    round_trip(&pool_settings("sqlite://data/app.db", ""));
}

#[test]
fn sqlite_in_memory_is_shared_by_the_pool() {
    round_trip(&pool_settings(
        "sqlite::memory:",
        "  pool_size: 3\n  max_overflow: 2\n",
    ));
}

#[test]
fn sqlite_pool_exhaustion_answers_503() {
    exhaustion(&pool_settings("sqlite://data/app.db", ONE_CONNECTION));
}

#[test]
fn a_failing_migration_stops_the_start() {
    let (app, config) = app_from_yaml(&pool_settings("sqlite://data/app.db", ""));
    let migrations = config.path().join("migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    std::fs::write(migrations.join("0001_broken.sql"), "CREATE TABLE (;").unwrap();
    let runtime = app.build().unwrap();
    let tokio = beginnings::tokio_runtime(Some(1)).unwrap();
    let error = match tokio.block_on(runtime.bind(Some("127.0.0.1:0"))) {
        Ok(_) => panic!("a broken migration must stop the start"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("database migrations in"), "{error}");
    assert!(error.contains("migrations"), "{error}");
}

#[test]
fn a_missing_migrations_folder_stops_the_start() {
    let (app, _config) = app_from_yaml(&pool_settings("sqlite://data/app.db", ""));
    let runtime = app.build().unwrap();
    let tokio = beginnings::tokio_runtime(Some(1)).unwrap();
    let error = match tokio.block_on(runtime.bind(Some("127.0.0.1:0"))) {
        Ok(_) => panic!("a missing migrations folder must stop the start"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("no such directory"), "{error}");
}

#[test]
fn database_settings_are_validated() {
    let file = Path::new("/srv/app/config/app.yaml");
    let load = |yaml: &str| beginnings::config::load_str(yaml, file);
    let config = load(
        "database:\n  url: sqlite://data/app.db\n  pool_size: 4\n  max_overflow: 6\n  pool_recycle: -1\n  echo: true\n",
    )
    .unwrap();
    let database = config.database.unwrap();
    assert_eq!(
        database.url,
        DatabaseUrl::SqliteFile {
            path: "/srv/app/config/data/app.db".into(),
            params: String::new()
        }
    );
    assert_eq!(database.max_connections(), 10);
    assert_eq!(database.pool_recycle, None);
    assert!(database.echo);
    assert!(load("app: {}\n").unwrap().database.is_none());

    let errors = [
        (
            "database: {pool_sise: 3}\n",
            "database.pool_sise: unknown key `pool_sise` (did you mean `pool_size`?)",
        ),
        (
            "database: {url: \"mysql://u:pw@h/db\"}\n",
            "unsupported database URL `mysql:...`",
        ),
        (
            "database: {pool_size: 0}\n",
            "database.pool_size: pool_size 0 is out of range",
        ),
        (
            "database: {acquire_timeout: 0}\n",
            "database.acquire_timeout: must be more than 0 seconds",
        ),
        (
            "database: {echo: loud}\n",
            "database.echo: expected boolean",
        ),
    ];
    for (yaml, expected) in errors {
        let error = load(yaml).expect_err(yaml).to_string();
        assert!(error.contains(expected), "{yaml}: {error}");
        assert!(!error.contains("pw@"), "the password stays hidden: {error}");
    }
}

/// A database of its own on the local PostgreSQL server, dropped afterwards; `None` (and a
/// message) when no server answers on 127.0.0.1:5432.
struct Postgres {
    admin: String,
    name: String,
}

impl Postgres {
    fn create() -> Option<Postgres> {
        let addr: SocketAddr = "127.0.0.1:5432".parse().unwrap();
        if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
            skip_unless_required(
                "BEGINNINGS_REQUIRE_POSTGRES",
                "no PostgreSQL server answers on 127.0.0.1:5432",
            );
            return None;
        }
        let name = format!(
            "beginnings_test_{}_{}",
            std::process::id(),
            fastrand_suffix()
        );
        for user in ["postgres", "root"] {
            let admin = format!("postgres://{user}@127.0.0.1:5432/test");
            if execute(&admin, &format!("CREATE DATABASE {name}")).is_ok() {
                return Some(Postgres { admin, name });
            }
        }
        skip_unless_required(
            "BEGINNINGS_REQUIRE_POSTGRES",
            "PostgreSQL on 127.0.0.1:5432 refused users postgres and root",
        );
        None
    }

    fn url(&self) -> String {
        let base = self.admin.trim_end_matches("/test");
        format!("{base}/{}", self.name)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = execute(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn fastrand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// One statement on its own short-lived pool.
fn execute(url: &str, statement: &str) -> Result<(), String> {
    let runtime = beginnings::tokio_runtime(Some(1)).map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut settings = DatabaseConfig::new(DatabaseUrl::Postgres(url.to_owned()));
        settings.pool_size = 1;
        let database = Database::new(settings);
        let pool = database.pool().await.map_err(|e| e.to_string())?;
        let done = sqlx::raw_sql(statement).execute(pool).await;
        database.close().await;
        done.map(|_| ()).map_err(|e| e.to_string())
    })
}

#[test]
fn postgres_round_trip() {
    let Some(postgres) = Postgres::create() else {
        return;
    };
    round_trip(&pool_settings(&postgres.url(), "  pool_size: 2\n"));
}

#[test]
fn postgres_pool_exhaustion_answers_503() {
    let Some(postgres) = Postgres::create() else {
        return;
    };
    exhaustion(&pool_settings(&postgres.url(), ONE_CONNECTION));
}

#[test]
fn an_unreachable_postgres_stops_the_start_naming_it_without_the_password() {
    // Port 1 on loopback: nothing listens there.
    let yaml = "database:\n  url: postgres://app:hunter2@127.0.0.1:1/app\n  acquire_timeout: 1\n";
    let (app, _config) = app_from_yaml(yaml);
    let runtime = app.build().unwrap();
    let tokio = beginnings::tokio_runtime(Some(1)).unwrap();
    let error = match tokio.block_on(runtime.bind(Some("127.0.0.1:0"))) {
        Ok(_) => panic!("an unreachable database must stop the start"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains("cannot connect to the database postgres://app:***@127.0.0.1:1/app"),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "{error}");
}
