//! The per-request cost of one extension hook across the ABI (the real library, loaded
//! through the real loader, called through the borrowed-view vtable) next to the same
//! filter written natively against the request head. Then each shipped extension on one
//! request, both sides sharing one per-request state as in the server, the asynchronous
//! request hooks of the shared store included. Prints the allocations per call of each case,
//! the extension libraries' own included (see `beginnings_benches`).

#[path = "../load/token.rs"]
mod token;

use std::hint::black_box;
use std::path::Path;

use beginnings::bench::ChainProbe;
use beginnings::config::load_str;
use beginnings::routing::Body;
use beginnings_benches::{CountingAllocator, allocations_per_call};
use beginnings_tests::build_release;
use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderValue;
use http::request::Parts;

beginnings_benches::count_every_allocation!();

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const ROUTE: &str = "/bench";

/// A request head like a browser's: 12 headers (one an API key for the auth benchmark). No
/// `Authorization`: a bearer token goes before an API key, so a placeholder one would refuse
/// the API-key case; the JWT case adds a signed token of its own.
fn request_head() -> Parts {
    let mut builder = http::Request::builder().method("GET").uri("/bench?q=1");
    for (name, value) in [
        ("host", "127.0.0.1:8000"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) bench"),
        ("accept", "application/json"),
        ("accept-encoding", "gzip, br"),
        ("accept-language", "en-GB,en;q=0.9"),
        ("connection", "keep-alive"),
        ("cache-control", "no-cache"),
        ("origin", "https://app.example.com"),
        ("referer", "https://app.example.com/page"),
        ("x-request-id", "3f2a9c"),
        ("x-api-key", "bench-key"),
        ("cookie", "session=abc; theme=dark"),
    ] {
        builder = builder.header(name, value);
    }
    builder.body(()).unwrap().into_parts().0
}

fn probe(libraries: &Path, extensions_yaml: &str) -> ChainProbe {
    let yaml = format!("extensions:\n{extensions_yaml}");
    let config = load_str(&yaml, Path::new("bench.yaml")).expect("benchmark config loads");
    let probe = ChainProbe::new(&config, libraries, ROUTE, "GET").expect("chain builds");
    assert!(!probe.extensions().is_empty(), "the extension applies");
    probe
}

/// The same three filters, native: a trait object over the request head.
trait NativeFilter {
    fn on_request(&self, parts: &mut Parts);
}

struct NativeNoop;
struct NativeRead;
struct NativeWrite;

impl NativeFilter for NativeNoop {
    fn on_request(&self, _parts: &mut Parts) {}
}

impl NativeFilter for NativeRead {
    fn on_request(&self, parts: &mut Parts) {
        black_box(
            parts
                .headers
                .get("user-agent")
                .and_then(|v| v.to_str().ok()),
        );
    }
}

impl NativeFilter for NativeWrite {
    /// Like the extension, the name and value arrive as text and are checked.
    fn on_request(&self, parts: &mut Parts) {
        let name = http::HeaderName::from_bytes(black_box(b"x-bench")).unwrap();
        let value = HeaderValue::from_str(black_box("1")).unwrap();
        parts.headers.insert(name, value);
    }
}

fn hooks(c: &mut Criterion) {
    // Extensions built as users ship them: the release profile.
    let libraries = build_release(&[
        "fixture_pipeline",
        "security",
        "cors",
        "auth",
        "rate_limit",
        "monitor",
        "csrf",
    ]);
    let mut group = c.benchmark_group("request_hook");
    let natives: [(&str, Box<dyn NativeFilter>); 3] = [
        ("noop", Box::new(NativeNoop)),
        ("header_read", Box::new(NativeRead)),
        ("header_write", Box::new(NativeWrite)),
    ];
    for (mode, native) in natives {
        let config_mode = match mode {
            "noop" => "noop",
            "header_read" => "read",
            _ => "write",
        };
        let abi = probe(
            &libraries,
            &format!("  \"fixture_pipeline:Bench\": {{mode: {config_mode}}}\n"),
        );
        let mut parts = request_head();
        let allocations =
            allocations_per_call(|| assert!(abi.request_hooks(ROUTE, &mut parts).passed()));
        println!("request_hook/abi/{mode}: {allocations} per call");
        group.bench_function(format!("abi/{mode}"), |b| {
            b.iter(|| abi.request_hooks(ROUTE, black_box(&mut parts)).passed())
        });
        let mut parts = request_head();
        group.bench_function(format!("native/{mode}"), |b| {
            b.iter(|| native.on_request(black_box(&mut parts)))
        });
    }
    group.finish();

    // Each shipped extension on one request: its request and response hooks, as configured
    // for a typical route. `none` is the same loop with an empty chain.
    let mut group = c.benchmark_group("extension_per_request");
    for (name, yaml) in SHIPPED {
        let config = load_str(yaml, Path::new("bench.yaml")).expect("benchmark config loads");
        let probe = ChainProbe::new(&config, &libraries, ROUTE, "GET").expect("chain builds");
        let mut parts = request_head();
        // A bearer token the configuration's JWT secret signed, where it has one.
        if let Some(secret) = token::auth_secret(&config) {
            let bearer = token::bearer(&secret).expect("token signs");
            parts.headers.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {bearer}")).expect("a header value"),
            );
        }
        let allocations = allocations_per_call(|| {
            let mut response = http::Response::new(Body::default());
            let passed = probe.request_and_response(ROUTE, &mut parts, &mut response);
            assert!(passed, "{name}: the chain lets the request through");
        }) - allocations_per_call(|| {
            black_box(http::Response::new(Body::default()));
        });
        let asynchronous = if probe.has_async_hooks() {
            " (asynchronous request hook)"
        } else {
            ""
        };
        println!("extension_per_request/{name}: {allocations} per request{asynchronous}");
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || http::Response::new(Body::default()),
                |response| probe.request_and_response(ROUTE, &mut parts, response),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// Extensions as a benchmark configures them: (name, configuration). The auth entry stores
/// the SHA-256 of the API key `bench-key` that the request carries.
const SHIPPED: [(&str, &str); 9] = [
    ("none", "extensions: {}\n"),
    (
        "security_headers",
        "extensions:\n  \"security:SecurityHeadersExtension\": {}\n",
    ),
    (
        "cors_actual_request",
        "extensions:\n  \"cors:CorsExtension\": {allow_origins: [\"https://app.example.com\"]}\n",
    ),
    (
        "auth_api_key",
        concat!(
            "routes:\n  patterns:\n    \"/bench\": {auth_required: true}\n",
            "extensions:\n  \"auth:AuthExtension\":\n    api_keys:\n      keys:\n",
            "        - {name: bench, roles: [user], sha256: ",
            "b0962662e937d44c699c8305d90cbf190b3150c59b13863d1380b5cc3c711bb7}\n"
        ),
    ),
    (
        "rate_limit_local",
        concat!(
            "routes:\n  patterns:\n    \"/bench\": {rate_limit: 1000000000}\n",
            "extensions:\n  \"rate_limit:RateLimitExtension\": {}\n"
        ),
    ),
    (
        // A first visit: no cookie yet, so a token is made and its cookie issued.
        "csrf_safe_request_issuing_a_token",
        "extensions:\n  \"csrf:CsrfExtension\": {secret: \"bench-secret-bench-secret-bench-secret\"}\n",
    ),
    (
        // The buckets in the shared store (in memory): the asynchronous request hook.
        "rate_limit_shared_store",
        concat!(
            "routes:\n  patterns:\n    \"/bench\": {rate_limit: 1000000000}\n",
            "extensions:\n  \"rate_limit:RateLimitExtension\": {store: shared}\n"
        ),
    ),
    (
        // A bearer token checked, then looked up in the shared store's revocation list (in
        // memory): the asynchronous request hook.
        "auth_jwt_revocation_shared_store",
        concat!(
            "routes:\n  patterns:\n    \"/bench\": {auth_required: true}\n",
            "extensions:\n  \"auth:AuthExtension\":\n",
            "    jwt: {algorithms: [HS256], secret: \"bench-secret-bench-secret-bench-secret\"}\n",
            "    cache_tokens: true\n    revocation: true\n"
        ),
    ),
    (
        "monitor_sampling_1_percent",
        "extensions:\n  \"monitor:PerformanceMonitorExtension\": {sample_rate: 0.01}\n",
    ),
];

criterion_group!(benches, hooks);
criterion_main!(benches);
