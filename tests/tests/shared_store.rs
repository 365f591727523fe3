//! The shared store behind `rate_limit` (`store: shared`) and `auth` (`revocation: true`),
//! through real servers: two demo processes sharing one Redis count against one limit and
//! honour each other's revocations; an unreachable store is answered per `on_store_error`;
//! a Redis that goes away and comes back is used again; the in-memory store serves alone.
//!
//! Tests that need the Redis on 127.0.0.1:6379 print "skipped: no Redis on
//! 127.0.0.1:6379" and pass without one, unless `BEGINNINGS_REQUIRE_REDIS=1` (set it in CI)
//! turns the skip into a failure. The recovery test runs its own `redis-server`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use beginnings::{Json, Request, Router};
use beginnings_tests::{InProcessServer, TestServer, app_from_yaml, client, skip_unless_required};
use jsonwebtoken::{EncodingKey, Header, encode};
use reqwest::blocking::Response;
use serde_json::{Value, json};

const REDIS: &str = "redis://127.0.0.1:6379/0";
const SECRET: &str = "a-shared-store-test-secret-of-32-bytes";

fn redis_reachable(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

/// Whether the machine's Redis is there; says so when it is not.
fn redis_or_skip() -> bool {
    if redis_reachable(6379) {
        return true;
    }
    skip_unless_required(
        "BEGINNINGS_REQUIRE_REDIS",
        "no Redis answers on 127.0.0.1:6379",
    );
    false
}

/// A value no earlier run used, so keys left in Redis by other runs never collide.
fn unique(label: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{label}-{}-{nanos}", std::process::id())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn token(subject: &str, roles: &[&str], jti: Option<&str>) -> String {
    let mut claims = json!({"sub": subject, "exp": now() + 600, "roles": roles});
    if let Some(jti) = jti {
        claims["jti"] = json!(jti);
    }
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// The demo route the requests go to: it answers without a database.
const ROUTE: &str = "/api/v1/slow?ms=0";

/// A demo server whose `/api/v1/slow` is limited to `requests` per minute per `X-Run`
/// value, counted in `store` (every request comes from 127.0.0.1: `per_address` lets that
/// one address send the requests of many values).
fn limited_server(store: &str, requests: u32, on_store_error: &str) -> TestServer {
    TestServer::start(&limited_server_yaml(store, requests, on_store_error))
}

fn limited_server_yaml(store: &str, requests: u32, on_store_error: &str) -> String {
    format!(
        r#"
app:
  shared_store: "{store}"
routes:
  exact:
    "/api/v1/slow": {{rate_limit: {{requests: {requests}, window_seconds: 60, key: "header:X-Run", per_address: 1000}}}}
extensions:
  "rate_limit:RateLimitExtension":
    store: shared
    on_store_error: {on_store_error}
"#
    )
}

/// A demo server whose `/api/*` needs a bearer token checked against the revocation list
/// in `store`; `POST /api/v1/users` is the revoke endpoint (the demo's route at that path
/// lets requests reach the chain; its handler is never reached by `POST`).
fn guarded_server(store: &str, on_store_error: &str) -> TestServer {
    TestServer::start(&format!(
        r#"
app:
  shared_store: "{store}"
routes:
  patterns:
    "/api/*": {{auth_required: true}}
extensions:
  "auth:AuthExtension":
    jwt: {{algorithms: [HS256], secret: "{SECRET}"}}
    revocation: true
    on_store_error: {on_store_error}
    revoke_path: /api/v1/users
    revoke_role: admin
"#
    ))
}

fn get_run(server: &TestServer, run: &str) -> Response {
    client()
        .get(server.url(ROUTE))
        .header("x-run", run)
        .send()
        .unwrap()
}

fn get_with(server: &TestServer, token: &str) -> Response {
    client()
        .get(server.url(ROUTE))
        .bearer_auth(token)
        .send()
        .unwrap()
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

#[test]
fn two_processes_sharing_redis_enforce_one_limit() {
    if !redis_or_skip() {
        return;
    }
    let (a, b) = (
        limited_server(REDIS, 4, "open"),
        limited_server(REDIS, 4, "open"),
    );
    let run = unique("two-processes");
    let mut statuses = Vec::new();
    let mut remaining = Vec::new();
    for i in 0..8 {
        let server = if i % 2 == 0 { &a } else { &b };
        let response = get_run(server, &run);
        statuses.push(response.status().as_u16());
        remaining.push(header(&response, "ratelimit-remaining"));
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 429, 429, 429, 429],
        "the limit of 4 holds across both instances, not 4 on each"
    );
    let counted: Vec<_> = remaining[..5].iter().map(|r| r.as_deref()).collect();
    assert_eq!(
        counted,
        [Some("3"), Some("2"), Some("1"), Some("0"), Some("0")]
    );
    // Another client has its own bucket on both instances.
    assert_eq!(get_run(&b, &unique("other")).status(), 200);
}

#[test]
fn a_token_revoked_through_one_instance_is_refused_by_the_other() {
    if !redis_or_skip() {
        return;
    }
    let (a, b) = (
        guarded_server(REDIS, "closed"),
        guarded_server(REDIS, "closed"),
    );
    let user = token("user-1", &["user"], Some(&unique("jti")));
    let plain = token("user-2", &["user"], None);
    let admin = token("root", &["admin"], None);
    assert_eq!(get_with(&b, &user).status(), 200);
    assert_eq!(get_with(&b, &plain).status(), 200);

    let revoke = |server: &TestServer, caller: &str, target: &str| {
        client()
            .post(server.url("/api/v1/users"))
            .bearer_auth(caller)
            .header("revoke-token", target)
            .send()
            .unwrap()
    };
    let refused = revoke(&a, &user, &plain);
    assert_eq!(refused.status(), 403, "only admins revoke");
    assert_eq!(get_with(&b, &plain).status(), 200);

    assert_eq!(revoke(&a, &admin, &user).status(), 204);
    assert_eq!(revoke(&a, &admin, &plain).status(), 204);
    for token in [&user, &plain] {
        let answer = get_with(&b, token);
        assert_eq!(answer.status(), 401, "revoked on A, refused by B");
        let challenge = header(&answer, "www-authenticate").unwrap();
        assert!(
            challenge.contains("error=\"invalid_token\"")
                && challenge.contains("the token has been revoked"),
            "{challenge}"
        );
        assert_eq!(get_with(&a, token).status(), 401);
    }
    assert_eq!(
        get_with(&b, &admin).status(),
        200,
        "other tokens still pass"
    );

    // A `jti` revokes every token that carries it.
    let jti = unique("by-jti");
    let first = token("user-3", &["user"], Some(&jti));
    assert_eq!(get_with(&a, &first).status(), 200);
    let by_jti = client()
        .post(b.url(&format!("/api/v1/users?jti={jti}&ttl_seconds=600")))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_eq!(by_jti.status(), 204);
    assert_eq!(get_with(&a, &first).status(), 401);
    let second = token("user-3", &["user"], Some(&jti));
    assert_eq!(get_with(&a, &second).status(), 401);
}

#[test]
fn an_unreachable_store_is_answered_per_policy() {
    // Nothing listens on port 1: every store operation fails, quickly or by timeout.
    let closed_port = "redis://127.0.0.1:1/0";
    let limited = limited_server(closed_port, 2, "open");
    let run = unique("unreachable");
    for _ in 0..4 {
        let answer = get_run(&limited, &run);
        assert_eq!(answer.status(), 200, "open: let through uncounted");
        assert_eq!(header(&answer, "ratelimit-remaining"), None);
    }
    let strict = limited_server(closed_port, 2, "closed");
    let answer = get_run(&strict, &run);
    assert_eq!(
        answer.status(),
        503,
        "closed: refuse while the limit is unknown"
    );
    assert_eq!(header(&answer, "retry-after").as_deref(), Some("1"));
    assert_eq!(header(&answer, "ratelimit-remaining"), None);
    let body: Value = answer.json().unwrap();
    assert_eq!(body["error"]["status"], 503);

    let user = token("user-1", &["user"], None);
    let guarded = guarded_server(closed_port, "closed");
    let answer = get_with(&guarded, &user);
    assert_eq!(answer.status(), 503, "a revocation never passes unchecked");
    let body: Value = answer.json().unwrap();
    assert_eq!(
        body["error"]["message"],
        "token revocation cannot be checked"
    );
    let admin = token("root", &["admin"], None);
    let revoke = client()
        .post(guarded.url("/api/v1/users"))
        .bearer_auth(&admin)
        .header("revoke-token", &user)
        .send()
        .unwrap();
    assert_eq!(revoke.status(), 503);
    // Missing credentials are still answered 401 without asking the store.
    assert_eq!(
        client().get(guarded.url(ROUTE)).send().unwrap().status(),
        401
    );
    let lenient = guarded_server(closed_port, "open");
    assert_eq!(get_with(&lenient, &user).status(), 200);
    assert!(
        limited.log().contains("shared store failing"),
        "the outage is logged:\n{}",
        limited.log()
    );
}

/// A `redis-server` of this test's own, on a port no one else uses.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn start(port: u16) -> Option<OwnRedis> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let own = OwnRedis {
            port,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !redis_reachable(port) {
            assert!(Instant::now() < deadline, "redis-server did not start");
            thread::sleep(Duration::from_millis(50));
        }
        Some(own)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn limits_hold_again_when_redis_comes_back() {
    let port = free_port();
    let Some(mut redis) = OwnRedis::start(port) else {
        skip_unless_required("BEGINNINGS_REQUIRE_REDIS", "redis-server is not on PATH");
        return;
    };
    let server = limited_server(&format!("redis://127.0.0.1:{port}/0"), 3, "closed");
    let run = unique("recovery");
    let statuses: Vec<u16> = (0..4)
        .map(|_| get_run(&server, &run).status().as_u16())
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429]);

    redis.stop();
    for _ in 0..3 {
        assert_eq!(
            get_run(&server, &run).status(),
            503,
            "closed while Redis is gone"
        );
    }

    let mut redis = OwnRedis::start(redis.port).expect("redis-server restarts");
    // The store reconnects with a backoff of at most a few seconds; the restarted Redis
    // is empty, so the bucket starts full again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = get_run(&server, &run).status().as_u16();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "only the outage answer before recovery");
        assert!(Instant::now() < deadline, "the store never recovered");
        thread::sleep(Duration::from_millis(200));
    }
    let after: Vec<u16> = (0..3)
        .map(|_| get_run(&server, &run).status().as_u16())
        .collect();
    assert_eq!(after, [200, 200, 429], "the limit is enforced again");
    redis.stop();
}

#[test]
fn a_shared_limit_on_the_memory_store_needs_no_redis() {
    let server = limited_server("memory", 3, "closed");
    let run = unique("memory");
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let answer = get_run(&server, &run);
        assert_eq!(answer.status(), 200);
        assert_eq!(header(&answer, "ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(
            header(&answer, "ratelimit-policy").as_deref(),
            Some("3;w=60")
        );
        remaining.push(header(&answer, "ratelimit-remaining").unwrap());
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let refused = get_run(&server, &run);
    assert_eq!(refused.status(), 429);
    let retry: u64 = header(&refused, "retry-after").unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry), "one request per 20 s: {retry}");
    let reset: u64 = header(&refused, "ratelimit-reset")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (41..=60).contains(&reset),
        "a full bucket in ~60 s: {reset}"
    );
    assert_eq!(get_run(&server, &unique("memory-other")).status(), 200);
}

/// The only in-process server of this file: the `revoke` command waits on the runtime of
/// the first server the process started, and in-process servers share one store.
#[test]
fn the_revoke_command_and_a_mounted_endpoint_on_the_memory_store() {
    let yaml = format!(
        r#"
routes:
  patterns:
    "/api/*": {{auth_required: true}}
extensions:
  "auth:AuthExtension":
    jwt: {{algorithms: [HS256], secret: "{SECRET}"}}
    cache_tokens: true
    revocation: true
    revoke_path: /auth/revoke
    revoke_role: admin
"#
    );
    let (app, dir) = app_from_yaml(&yaml);
    let echo =
        |request: Request| async move { Json(json!({"user": request.value("auth.subject")})) };
    // The revoke endpoint is answered by the extension, but only paths with a route reach
    // the chain: the application mounts one there.
    let router = Router::new("")
        .get("/api/me", echo)
        .post("/auth/revoke", |_request: Request| async {
            Json(json!({"reached": "the handler"}))
        });
    let server = InProcessServer::start(app.mount(router).build().unwrap());
    let _dir = dir;
    let base = server.base.clone();
    let extension = server.extension("auth:AuthExtension");
    let status = |token: &str| {
        client()
            .get(format!("{base}/api/me"))
            .bearer_auth(token)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };

    let user = token("user-1", &["user"], None);
    assert_eq!(status(&user), 200);
    assert_eq!(status(&user), 200, "now from the token cache");
    let answer = extension.command("revoke", &json!(user)).unwrap();
    assert_eq!(answer["revoked"], true, "{answer}");
    assert!(
        answer["ttl_seconds"].as_u64().unwrap() > 600,
        "exp plus leeway"
    );
    assert_eq!(status(&user), 401, "refused even from the cache");
    assert_eq!(
        extension.command("stats", &Value::Null).unwrap()["revoked"],
        1
    );

    let carrier = token("user-2", &["user"], Some("jti-42"));
    assert_eq!(status(&carrier), 200);
    let answer = extension
        .command("revoke", &json!({"jti": "jti-42", "ttl_seconds": 60}))
        .unwrap();
    assert_eq!(answer["ttl_seconds"], 60);
    assert_eq!(status(&carrier), 401);

    let expired = encode(
        &Header::default(),
        &json!({"sub": "old", "exp": now() - 3600}),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let answer = extension.command("revoke", &json!(expired)).unwrap();
    assert_eq!(answer["revoked"], false, "{answer}");
    let forged = format!("{}x", token("user-3", &["user"], None));
    let error = extension.command("revoke", &json!(forged)).unwrap_err();
    assert!(error.to_string().contains("bad signature"), "{error}");

    let admin = token("root", &["admin"], None);
    let other = token("user-4", &["user"], None);
    let post = |caller: Option<&str>, target: Option<&str>| {
        let mut request = client().post(format!("{base}/auth/revoke"));
        if let Some(caller) = caller {
            request = request.bearer_auth(caller);
        }
        if let Some(target) = target {
            request = request.header("revoke-token", target);
        }
        request.send().unwrap()
    };
    assert_eq!(post(None, Some(&other)).status(), 401);
    assert_eq!(post(Some(&other), Some(&other)).status(), 403);
    let missing = post(Some(&admin), None);
    assert_eq!(missing.status(), 400);
    assert_eq!(status(&other), 200);
    let done = post(Some(&admin), Some(&format!("Bearer {other}")));
    assert_eq!(
        done.status(),
        204,
        "answered by the extension, not the handler"
    );
    assert_eq!(status(&other), 401);
}

#[test]
fn a_failed_reload_keeps_the_store_the_running_configuration_counts_in() {
    // Three requests a minute, counted in memory; a store failure would answer 503.
    let server = limited_server("memory", 3, "closed");
    let run = unique("failed-reload");
    for _ in 0..2 {
        assert_eq!(get_run(&server, &run).status(), 200);
    }
    // The new configuration names another store (nothing answers on port 1) and an
    // extension whose library is missing: the reload fails while loading extensions, after
    // the new store was made, and the running configuration must keep counting where it was.
    let broken =
        limited_server_yaml("redis://127.0.0.1:1/0", 3, "closed") + "  \"missing:Nothing\": {}\n";
    server.write_config(&broken);
    server.signal("HUP");
    assert!(
        server.wait_for_log_count("reload failed", 1, Duration::from_secs(10)),
        "{}",
        server.log()
    );
    assert_eq!(
        get_run(&server, &run).status(),
        200,
        "the third request of the minute passes, counted in the store that served before"
    );
    assert_eq!(
        get_run(&server, &run).status(),
        429,
        "the fourth is over the limit: the count was kept"
    );
}
