//! The chain of five extensions of `config/benchmark.yaml` (monitor at 1% sampling, security
//! headers, CORS, a rate limit never reached, bearer JWT auth) on one request, in-process:
//! the real libraries through the real loader and the borrowed-view ABI, no sockets. Next to
//! it each extension alone, so the chain's cost can be split among its links. Prints the
//! host allocations per request (a counting global allocator; an extension's own
//! allocations go through its copy of the allocator and are not seen here).

#[path = "../load/token.rs"]
mod token;

use std::hint::black_box;
use std::path::Path;

use beginnings::bench::ChainProbe;
use beginnings::config::{Config, LoadOptions};
use beginnings::routing::Body;
use beginnings_benches::{CountingAllocator, allocations_per_call};
use beginnings_tests::{build_release, workspace_root};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::request::Parts;

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

/// The host's allocations of one request through `probe`, less those of the copies of the
/// request head and the empty response each request starts from.
fn host_allocations(probe: &ChainProbe, parts: &Parts) -> f64 {
    let with_chain = allocations_per_call(|| {
        let mut parts = parts.clone();
        let mut response = http::Response::new(Body::default());
        black_box(probe.request_hooks(ROUTE, &mut parts));
        black_box(probe.response_hooks(ROUTE, &parts, &mut response));
    });
    let without = allocations_per_call(|| {
        black_box((parts.clone(), http::Response::new(Body::default())));
    });
    with_chain - without
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
    let mut group = c.benchmark_group("chain");
    let run = |probe: &ChainProbe, parts: &mut Parts, response: &mut beginnings::Response| {
        let passed = probe.request_hooks(ROUTE, parts);
        probe.response_hooks(ROUTE, parts, response) && passed
    };
    {
        let mut parts = parts.clone();
        let mut response = http::Response::new(Body::default());
        assert!(
            run(&full, &mut parts, &mut response),
            "the chain lets the request through"
        );
        println!(
            "chain: {:.1} host allocations per request",
            host_allocations(&full, &parts)
        );
    }
    group.bench_function("request_hooks", |b| {
        b.iter_batched_ref(
            || parts.clone(),
            |parts| full.request_hooks(ROUTE, parts),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("response_hooks", |b| {
        b.iter_batched_ref(
            || http::Response::new(Body::default()),
            |response| full.response_hooks(ROUTE, &parts, response),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("request_and_response", |b| {
        b.iter_batched_ref(
            || (parts.clone(), http::Response::new(Body::default())),
            |(parts, response)| run(&full, parts, response),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    // Each link alone, request and response hooks, to split the chain's cost.
    let mut group = c.benchmark_group("chain_link");
    for entry in &config.extensions {
        let alone = probe(&only(&config, |name| name == entry.name), &libraries);
        println!(
            "chain_link/{}: {:.1} host allocations per request",
            entry.module,
            host_allocations(&alone, &parts)
        );
        group.bench_function(entry.module.as_str(), |b| {
            b.iter_batched_ref(
                || (parts.clone(), http::Response::new(Body::default())),
                |(parts, response)| run(&alone, parts, response),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, chain);
criterion_main!(benches);
