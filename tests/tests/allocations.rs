//! Heap allocations per request through real extension libraries, counted everywhere in the
//! process: this test binary defines `malloc` (exported by `tests/build.rs`), so the host, its
//! libraries and each extension's own code all allocate through the counter below.
//!
//! Each figure is the allocations of one request on a route with the extension, less those of
//! the same request on a route without it, in the same server: what the extension costs, the
//! host's side of its hooks included. A raw socket client that allocates nothing per request
//! keeps the client out of the figures. The bounds are the figures measured when they were
//! written, so a change that allocates more per request fails here and says by how much.

use std::ffi::c_void;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use beginnings::{Json, Request, Router, State};
use beginnings_tests::{InProcessServer, app_from_yaml};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// The counter is the process's: one test measures at a time.
static MEASURING: Mutex<()> = Mutex::new(());

unsafe extern "C" {
    fn __libc_malloc(size: usize) -> *mut c_void;
    fn __libc_calloc(count: usize, size: usize) -> *mut c_void;
    fn __libc_realloc(pointer: *mut c_void, size: usize) -> *mut c_void;
    fn __libc_free(pointer: *mut c_void);
}

/// # Safety
/// The C `malloc` contract; forwards to glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: the caller's contract is glibc's.
    unsafe { __libc_malloc(size) }
}

/// # Safety
/// The C `calloc` contract; forwards to glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: as for `malloc`.
    unsafe { __libc_calloc(count, size) }
}

/// # Safety
/// The C `realloc` contract; forwards to glibc's. A growth counts as an allocation.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(pointer: *mut c_void, size: usize) -> *mut c_void {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: as for `malloc`.
    unsafe { __libc_realloc(pointer, size) }
}

/// # Safety
/// The C `free` contract; forwards to glibc's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(pointer: *mut c_void) {
    // SAFETY: as for `malloc`.
    unsafe { __libc_free(pointer) }
}

const SECRET: &str = "an-allocation-test-secret-of-32-bytes";
/// An HS256 token for `sub: ada`, valid until 2100, signed with `SECRET`.
fn token() -> String {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let claims = serde_json::json!({"sub": "ada", "exp": 4_102_444_800u64});
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// The state of `/state/item`, which answers what `/plain/item` answers, from it.
struct Item {
    id: u64,
    name: &'static str,
}

/// A server with `extensions` on `/api/*` and none on `/plain/*` and `/state/*`; all three
/// answer the same JSON, `/state/item` from its router's state.
fn server(extensions: &str, route_settings: &str) -> InProcessServer {
    let yaml = format!(
        r#"
app:
  access_log: false
routes:
  patterns:
    "/api/*": {{{route_settings}}}
    "/plain/*": {{security_headers: false, cors_enabled: false, monitoring_enabled: false}}
    "/state/*": {{security_headers: false, cors_enabled: false, monitoring_enabled: false}}
extensions:
{extensions}
"#
    );
    let (app, _config) = app_from_yaml(&yaml);
    let answer = |_request: Request| async { Json(serde_json::json!({"id": 1, "name": "Ada"})) };
    let routes = Router::new("")
        .get("/api/item", answer)
        .get("/plain/item", answer);
    let stateful = Router::new("/state")
        .get("/item", |item: State<Item>, _request: Request| async move {
            Json(serde_json::json!({"id": item.id, "name": item.name}))
        })
        .with_state(Item { id: 1, name: "Ada" });
    let app = app.mount(routes).mount(stateful);
    InProcessServer::start(app.build().expect("builds"))
}

/// Sends `count` kept-alive requests for `path` and reads each answer whole, allocating
/// nothing per request; returns the allocations the process made meanwhile.
fn allocations_of(server: &InProcessServer, path: &str, count: u64) -> u64 {
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\n\
         Authorization: Bearer {}\r\nAccept: application/json\r\n\r\n",
        token()
    );
    let mut buffer = vec![0u8; 64 * 1024];
    let mut exchange = |stream: &mut TcpStream| {
        stream.write_all(request.as_bytes()).unwrap();
        let mut read = 0;
        // The answer is small and ends with the JSON body's closing brace.
        loop {
            let n = stream.read(&mut buffer[read..]).unwrap();
            assert!(n > 0, "the server closed the connection");
            read += n;
            let text = &buffer[..read];
            if text.starts_with(b"HTTP/1.1 200") && text.ends_with(b"}") {
                return;
            }
            assert!(
                !text.starts_with(b"HTTP/1.1 4") && !text.starts_with(b"HTTP/1.1 5"),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    };
    // Warm-up: caches, the connection's buffers, filters built on first use.
    for _ in 0..50 {
        exchange(&mut stream);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..count {
        exchange(&mut stream);
    }
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

/// One answer to `request`, whole, as text.
fn answer(server: &InProcessServer, request: &str) -> String {
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

/// Shows that the extension ran on `/api/item`: a header of its own on the answer, the 401
/// of a request without a token, or the route in its metrics.
fn assert_ran(server: &InProcessServer, name: &str, evidence: &str) {
    let get = |path: &str, token: bool| {
        let bearer = if token {
            format!("Authorization: Bearer {}\r\n", self::token())
        } else {
            String::new()
        };
        answer(
            server,
            &format!(
                "GET {path} HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\n\
                 {bearer}Connection: close\r\n\r\n"
            ),
        )
        .to_ascii_lowercase()
    };
    let shown = match evidence {
        "401 without a token" => get("/api/item", false).starts_with("http/1.1 401"),
        metric if metric.starts_with("metric ") => {
            get("/api/item", true);
            // `metric NAME ROUTE`: a series of NAME labelled with the route.
            let mut words = metric["metric ".len()..].split(' ');
            let (name, route) = (words.next().unwrap(), words.next().unwrap());
            let label = format!("route=\"{route}\"");
            let metrics = get("/metrics?format=prometheus", true);
            metrics
                .lines()
                .any(|line| line.starts_with(name) && line.contains(&label))
        }
        header => get("/api/item", true).contains(&format!("\r\n{header}:")),
    };
    assert!(shown, "{name} did not run on /api/item: no {evidence}");
}

/// The extension's allocations per request: the route through it less the route without.
fn per_request(
    extensions: &str,
    route_settings: &str,
    name: &str,
    evidence: &[&str],
) -> (f64, f64) {
    const REQUESTS: u64 = 400;
    let server = server(extensions, route_settings);
    for evidence in evidence {
        assert_ran(&server, name, evidence);
    }
    let with = allocations_of(&server, "/api/item", REQUESTS) as f64 / REQUESTS as f64;
    let without = allocations_of(&server, "/plain/item", REQUESTS) as f64 / REQUESTS as f64;
    server.stop();
    (with - without, without)
}

/// Counts are whole numbers run to run; the margin only absorbs a rare one-off (a map that
/// grows during the measured requests).
const MARGIN: f64 = 0.5;
/// `monitor` at `sample_rate: 1.0` (every request measured), and the five of
/// `config/benchmark.yaml` together, as measured.
const MONITOR: f64 = 0.0;
const FIVE: f64 = 5.0;

#[test]
fn allocations_per_request_of_each_shipped_extension_stay_within_their_measured_counts() {
    let _measuring = MEASURING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let auth = format!(
        "  \"auth:AuthExtension\":\n    jwt: {{algorithms: [HS256], secret: \"{SECRET}\"}}\n    cache_tokens: true"
    );
    // (name, its configuration entry, the route settings it needs, what shows it ran, the
    // allocations per request measured when this was written).
    let cases: Vec<(&str, String, &str, &str, f64)> = vec![
        (
            "security",
            "  \"security:SecurityHeadersExtension\": {}".into(),
            "",
            "x-content-type-options",
            0.0,
        ),
        (
            "cors",
            "  \"cors:CorsExtension\": {allow_origins: [\"https://app.example.com\"]}".into(),
            "",
            "access-control-allow-origin",
            1.0,
        ),
        (
            "rate_limit",
            "  \"rate_limit:RateLimitExtension\": {}".into(),
            "rate_limit: {requests: 1000000000, window_seconds: 1}",
            "ratelimit-limit",
            2.0,
        ),
        (
            "auth",
            auth.clone(),
            "auth_required: true",
            "401 without a token",
            0.0,
        ),
        (
            "monitor",
            "  \"monitor:PerformanceMonitorExtension\": {sample_rate: 1.0}".into(),
            "",
            "metric http_request_duration_seconds_count /api/item",
            MONITOR,
        ),
    ];
    let mut report = Vec::new();
    let mut over = Vec::new();
    for (name, extensions, settings, evidence, bound) in &cases {
        let (extra, base) = per_request(extensions, settings, name, &[evidence]);
        report.push(format!(
            "{name}: {extra:.2} allocations per request (route without it: {base:.2})"
        ));
        if extra > *bound + MARGIN {
            over.push(format!("{name}: {extra:.2} > {bound}"));
        }
    }
    let five = cases
        .iter()
        .map(|(_, extensions, _, _, _)| extensions.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let evidence: Vec<&str> = cases.iter().map(|case| case.3).collect();
    let (extra, base) = per_request(
        &five,
        "auth_required: true, rate_limit: {requests: 1000000000, window_seconds: 1}",
        "the five",
        &evidence,
    );
    report.push(format!(
        "the five together: {extra:.2} allocations per request (route without them: {base:.2})"
    ));
    let five_bound: f64 = FIVE;
    if extra > five_bound + MARGIN {
        over.push(format!("the five: {extra:.2} > {five_bound}"));
    }
    println!("{}", report.join("\n"));
    assert!(
        over.is_empty(),
        "more allocations per request than measured: {over:?}\n{}",
        report.join("\n")
    );
}

/// Handing a handler its router's state costs a reference count, no allocation: a route
/// whose handler takes the state allocates per request what the same route without it does
/// (measured: the same count, 0.00 more).
#[test]
fn a_handler_that_takes_its_routers_state_allocates_no_more_per_request_than_one_without() {
    let _measuring = MEASURING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    const REQUESTS: u64 = 400;
    let server = server("  \"security:SecurityHeadersExtension\": {}", "");
    let with = allocations_of(&server, "/state/item", REQUESTS) as f64 / REQUESTS as f64;
    let without = allocations_of(&server, "/plain/item", REQUESTS) as f64 / REQUESTS as f64;
    server.stop();
    let report = format!(
        "with state: {with:.2} allocations per request, without: {without:.2} \
         ({:.2} more)",
        with - without
    );
    println!("{report}");
    assert!(with - without <= MARGIN, "{report}");
}
