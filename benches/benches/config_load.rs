//! Configuration load time (a main file with 3 includes and 100 patterns) and route-config
//! resolution time (1,000 route templates against those patterns).

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;

use beginnings::bench::RouteConfigResolver;
use beginnings::config::{LoadOptions, load};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn write_config(dir: &Path) -> LoadOptions {
    let mut patterns = String::from("routes:\n  patterns:\n");
    for i in 0..100 {
        let pattern = match i % 4 {
            0 => format!("/api/v{}/res{i}/*", i % 5),
            1 => format!("/api/*/res{i}"),
            2 => format!("/svc{i}/**/health"),
            _ => format!("/static/s{i}/*"),
        };
        writeln!(
            patterns,
            "    \"{pattern}\": {{timeout: {i}, tag_{i}: true, limits: {{rps: {i}}}}}"
        )
        .unwrap();
    }
    patterns.push_str("  exact:\n    /api/v1/res0/items: {timeout: 99}\n");
    patterns.push_str("  methods:\n    \"POST /api/v1/res0/items\": {timeout: 120}\n");
    std::fs::write(dir.join("routes.yaml"), patterns).unwrap();
    std::fs::write(
        dir.join("core.yaml"),
        "app:\n  name: bench\n  host: 127.0.0.1\n  port: ${BENCH_PORT:-8000}\n  workers: 2\n\
         routes:\n  global_defaults:\n    timeout: 30\n    on_error: closed\n    cors: {origins: [a, b]}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("extensions.yaml"),
        "extensions:\n  \"cors:CorsExtension\": {enabled: true, allow_origins: [\"https://example.com\"]}\n  \
         \"monitor:PerformanceMonitorExtension\": {enabled: true, sample_rate: 0.01}\n  \
         \"auth:AuthExtension\": {enabled: true, cache_tokens: true, secret: \"${JWT_SECRET:-dev}\"}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("app.yaml"),
        "include: [core.yaml, routes.yaml, extensions.yaml]\napp:\n  debug: false\n  access_log: true\n",
    )
    .unwrap();
    LoadOptions {
        path: dir.join("app.yaml"),
        profile: None,
    }
}

/// Route `r` is built to match pattern `r % 100` (and the broader ones), except every tenth,
/// which matches nothing and so pays for a full scan.
fn routes() -> Vec<String> {
    (0..1000)
        .map(|r| {
            let p = r % 100;
            match (r % 10, p % 4) {
                (9, _) => format!("/other/{r}/{{name}}"),
                (_, 0) => format!("/api/v{}/res{p}/items/{{id}}", p % 5),
                (_, 1) => format!("/api/v2/res{p}"),
                (_, 2) => format!("/svc{p}/a/b/health"),
                _ => format!("/static/s{p}/file{r}.css"),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let opts = write_config(dir.path());
    let config = load(&opts).unwrap();
    assert_eq!(config.routes.patterns.len(), 100);
    assert_eq!(config.files.len(), 4);

    c.bench_function("config::load (3 includes, 100 patterns)", |b| {
        b.iter(|| load(black_box(&opts)).unwrap())
    });

    let resolver = RouteConfigResolver::new(&config.routes).unwrap();
    let routes = routes();
    let matched: usize = routes
        .iter()
        .map(|r| {
            resolver
                .resolve(r, &["GET"], None)
                .unwrap()
                .matched_patterns
                .len()
        })
        .sum();
    assert!(
        matched > 500,
        "the routes should exercise the patterns, matched {matched}"
    );

    let mut group = c.benchmark_group("resolve");
    group.throughput(Throughput::Elements(routes.len() as u64));
    group.bench_function("1000 routes x 100 patterns", |b| {
        b.iter(|| {
            for route in &routes {
                black_box(
                    resolver
                        .resolve(black_box(route), &["GET", "HEAD"], None)
                        .unwrap(),
                );
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
