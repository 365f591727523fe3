//! The chain of five extensions of `config/benchmark.yaml` (monitor at 1% sampling, security
//! headers, CORS, a rate limit never reached, bearer JWT auth) on one request, in-process:
//! the real libraries through the real loader and the borrowed-view ABI, no sockets, one
//! per-request state from the request hooks to the response hooks as in the server. Next to
//! it each extension alone, so the chain's cost can be split among its links, and the same
//! chain with its rate limit and a token revocation list on the shared store, where both
//! request hooks are asynchronous. Prints the allocations per request of each case, the
//! extension libraries' own included (see `beginnings_benches`).
//!
//! Why the load benchmark's figure per extension is larger than this chain's time: the load
//! benchmark (`--bin load`, docs/performance.md) divides the server process's CPU time,
//! kernel included, by the requests it answered, and takes scenario C (these five) less
//! scenario E (the five disabled): 2.78 µs for the five on 2026-12-02, 0.557 µs each. That
//! difference holds more than the hooks timed here:
//!
//! * the headers the response hooks add, which hyper writes and the kernel copies to the
//!   socket on every answer: this bench prints how many and how many bytes (`chain: the
//!   response hooks add ...`); the profile in docs/performance.md (`perf record` on the
//!   server under `wrk`) finds more than half of the server's time in the kernel;
//! * the allocations, each a `malloc` and a `free` in the server's busy allocator: printed
//!   here per case, the extension libraries' own included;
//! * caches: here the same request runs back to back with the chain's code and data hot,
//!   while in the server every request passes through hyper, tokio and the kernel's
//!   network stack between two runs of the chain;
//! * the asynchronous hooks of the shared store (not in scenario C) cost a runtime entry
//!   here (`chain_shared_store/block_on_ready`) that a server's task does not pay.
//!
//! What this bench measures of these is what it prints (headers added, allocations, the
//! runtime entry); the split of the rest between kernel, hyper and caches is the profile's.

use std::hint::black_box;
use std::path::Path;

use beginnings::bench::ChainProbe;
use beginnings::config::{Config, LoadOptions};
use beginnings::routing::Body;
use beginnings_benches::{Allocations, CountingAllocator, allocations_per_call, token};
use beginnings_tests::{build_release, workspace_root};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::request::Parts;

beginnings_benches::count_every_allocation!();

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const ROUTE: &str = "/api/v1/users/{id}";

/// The request the load benchmark's scenario C sends, as the server hands it to the chain.
fn request_head(origin: &str, bearer: &str) -> Parts {
    let mut builder = http::Request::builder()
        .method("GET")
        .uri("/api/v1/users/1");
    for (name, value) in [
        ("host", "127.0.0.1:8000"),
        ("user-agent", "wrk"),
        ("accept", "application/json"),
        ("origin", origin),
        ("authorization", &format!("Bearer {bearer}")),
    ] {
        builder = builder.header(name, value);
    }
    builder.body(()).unwrap().into_parts().0
}

fn probe(config: &Config, libraries: &Path) -> ChainProbe {
    ChainProbe::new(config, libraries, ROUTE, "GET").expect("the benchmark chain builds")
}

/// The configuration with only the extensions `keep` accepts.
fn only(config: &Config, keep: impl Fn(&str) -> bool) -> Config {
    let mut config = config.clone();
    config.extensions.retain(|entry| keep(&entry.name));
    config
}

/// The configuration with its rate limit's buckets and a token revocation list in the shared
/// store (in memory, as `app.shared_store` defaults to): both request hooks asynchronous.
fn on_shared_store(config: &Config) -> Config {
    let mut config = config.clone();
    for entry in &mut config.extensions {
        let (key, value) = match entry.module.as_str() {
            "rate_limit" => ("store", serde_json::json!("shared")),
            "auth" => ("revocation", serde_json::json!(true)),
            _ => continue,
        };
        if let Some(settings) = entry.config.as_object_mut() {
            settings.insert(key.to_string(), value);
        }
    }
    config
}

/// One request through `probe`, both sides; false when a hook answered or failed.
fn request(probe: &ChainProbe, parts: &mut Parts, response: &mut beginnings::Response) -> bool {
    probe.request_and_response(ROUTE, parts, response)
}

/// The allocations of one request through `probe`, less those of the copies of the request
/// head and the empty response each request starts from.
fn request_allocations(probe: &ChainProbe, parts: &Parts) -> Allocations {
    let with_chain = allocations_per_call(|| {
        let mut parts = parts.clone();
        let mut response = http::Response::new(Body::default());
        black_box(request(probe, &mut parts, &mut response));
    });
    let without = allocations_per_call(|| {
        black_box((parts.clone(), http::Response::new(Body::default())));
    });
    with_chain - without
}

/// Benchmarks one whole request through `probe` as `group/name`, after printing its
/// allocations and checking that the chain lets it through.
fn bench_request(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    group_name: &str,
    name: &str,
    probe: &ChainProbe,
    parts: &Parts,
) {
    {
        let mut parts = parts.clone();
        let mut response = http::Response::new(Body::default());
        assert!(
            request(probe, &mut parts, &mut response),
            "{name}: the chain lets the request through"
        );
    }
    println!(
        "{group_name}/{name}: {} per request",
        request_allocations(probe, parts)
    );
    group.bench_function(name, |b| {
        b.iter_batched_ref(
            || (parts.clone(), http::Response::new(Body::default())),
            |(parts, response)| request(probe, parts, response),
            BatchSize::SmallInput,
        )
    });
}

fn chain(c: &mut Criterion) {
    let root = workspace_root();
    let options = LoadOptions {
        path: root.join("config/benchmark.yaml"),
        profile: None,
    };
    let config = beginnings::config::load(&options).expect("config/benchmark.yaml loads");
    let modules: Vec<&str> = config
        .extensions
        .iter()
        .filter(|entry| {
            root.join("extensions")
                .join(&entry.module)
                .join("Cargo.toml")
                .exists()
        })
        .map(|entry| entry.module.as_str())
        .collect();
    // Extensions built as users ship them: the release profile.
    let libraries = build_release(&modules);
    let missing: Vec<String> = config
        .extensions
        .iter()
        .filter(|entry| !libraries.join(format!("lib{}.so", entry.module)).exists())
        .map(|entry| entry.name.clone())
        .collect();
    if !missing.is_empty() {
        println!("chain: no library for {missing:?}: benchmarking the chain without them");
    }
    let config = only(&config, |name| !missing.iter().any(|gone| gone == name));

    let secret = token::auth_secret(&config).unwrap_or_default();
    let bearer = token::bearer(&secret).expect("token signs");
    let parts = request_head("https://app.example.com", &bearer);

    let full = probe(&config, &libraries);
    println!("chain: {}", full.extensions().join(" -> "));
    {
        let mut answered = parts.clone();
        let mut response = http::Response::new(Body::default());
        request(&full, &mut answered, &mut response);
        let added: usize = response
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum();
        println!(
            "chain: the response hooks add {} headers, {added} bytes as HTTP/1.1 writes them",
            response.headers().len()
        );
    }
    let mut group = c.benchmark_group("chain");
    group.bench_function("request_hooks", |b| {
        b.iter_batched_ref(
            || parts.clone(),
            // The request's states are freed after the timing, with criterion's outputs.
            |parts| full.request_hooks(ROUTE, parts),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("response_hooks", |b| {
        b.iter_batched(
            || {
                let mut answered = parts.clone();
                let request = full.request_hooks(ROUTE, &mut answered);
                (request, http::Response::new(Body::default()))
            },
            |(request, mut response)| {
                request.response_hooks(&parts, &mut response);
                response
            },
            BatchSize::SmallInput,
        )
    });
    bench_request(&mut group, "chain", "request_and_response", &full, &parts);
    group.finish();

    // Each link alone, request and response hooks, to split the chain's cost; `none` is the
    // probe's own cost with no link.
    let mut group = c.benchmark_group("chain_link");
    bench_request(
        &mut group,
        "chain_link",
        "none",
        &probe(&only(&config, |_| false), &libraries),
        &parts,
    );
    for entry in &config.extensions {
        let alone = probe(&only(&config, |name| name == entry.name), &libraries);
        bench_request(&mut group, "chain_link", &entry.module, &alone, &parts);
    }
    group.finish();

    // The rate limit and the revocation check on the shared store: asynchronous request
    // hooks, awaited on a current-thread runtime. `block_on_ready` is what awaiting costs
    // the probe per request with nothing to wait for (the server polls the request's task
    // anyway).
    let shared = on_shared_store(&config);
    let mut group = c.benchmark_group("chain_shared_store");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime builds");
    group.bench_function("block_on_ready", |b| {
        b.iter(|| runtime.block_on(async { black_box(1) }))
    });
    let full_shared = probe(&shared, &libraries);
    assert!(
        full_shared.has_async_hooks(),
        "the shared store makes hooks asynchronous"
    );
    bench_request(
        &mut group,
        "chain_shared_store",
        "request_and_response",
        &full_shared,
        &parts,
    );
    for module in ["rate_limit", "auth"] {
        let Some(entry) = shared
            .extensions
            .iter()
            .find(|entry| entry.module == module)
        else {
            continue;
        };
        let alone = probe(&only(&shared, |name| name == entry.name), &libraries);
        bench_request(&mut group, "chain_shared_store", module, &alone, &parts);
    }
    group.finish();
}

criterion_group!(benches, chain);
criterion_main!(benches);
