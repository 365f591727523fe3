//! The per-request cost of one extension hook across the ABI (the real library, loaded
//! through the real loader, called through the borrowed-view vtable) next to the same
//! filter written natively against the request head. Then each shipped extension on one
//! request, both sides sharing one per-request state as in the server, the asynchronous
//! request hooks of the shared store included. Prints the allocations per call of each case,
//! the extension libraries' own included (see `beginnings_benches`). The cases themselves
//! are `beginnings_benches::hook_cases`, where a unit test checks each lets its request
//! through.

use std::hint::black_box;

use beginnings::routing::Body;
use beginnings_benches::hook_cases::{
    FIXTURE_MODES, ROUTE, SHIPPED, fixture_probe, request_head, shipped_case,
};
use beginnings_benches::{CountingAllocator, allocations_per_call};
use beginnings_tests::build_release;
use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderValue;
use http::request::Parts;

beginnings_benches::count_every_allocation!();

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

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
    let natives: [Box<dyn NativeFilter>; 3] = [
        Box::new(NativeNoop),
        Box::new(NativeRead),
        Box::new(NativeWrite),
    ];
    for ((mode, config_mode), native) in FIXTURE_MODES.into_iter().zip(natives) {
        let abi = fixture_probe(&libraries, config_mode);
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
        let (probe, mut parts) = shipped_case(&libraries, yaml);
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

criterion_group!(benches, hooks);
criterion_main!(benches);
