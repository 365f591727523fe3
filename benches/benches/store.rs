//! The shared store's cost per operation, as a request pays it: a GCRA `take` (what
//! `rate_limit` with `store: shared` does once per request) and a `get` (the `auth`
//! revocation check), on the in-memory backend and on Redis over loopback. Each operation
//! runs under the store timeout, as the host runs it.
//!
//! The Redis group needs a Redis on 127.0.0.1:6379 (`BEGINNINGS_BENCH_REDIS` names another
//! URL) and is skipped with a message without one.

use std::hint::black_box;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use beginnings::bench::{DEFAULT_TIMEOUT, MemoryStore, RedisStore, Store, StoreConfig};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

/// Keys cycled through, so the memory backend's shards and Redis's dictionary are both
/// exercised rather than one hot entry.
const KEYS: usize = 1024;
/// A generous rate, so every take is allowed and writes its bucket back.
const INTERVAL_NS: u64 = 1_000;
const BURST: u64 = 1_000_000_000;

fn keys(prefix: &str) -> Vec<String> {
    (0..KEYS)
        .map(|i| format!("beginnings:bench:{prefix}:{i}"))
        .collect()
}

/// Runs `iterations` operations inside one `block_on` and returns their total time, so the
/// runtime's entry cost is not counted per operation.
fn timed<F, Fut>(runtime: &Runtime, iterations: u64, mut operation: F) -> Duration
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    runtime.block_on(async {
        let started = Instant::now();
        for i in 0..iterations {
            operation(i).await;
        }
        started.elapsed()
    })
}

fn bench_backend(c: &mut Criterion, name: &str, store: &dyn Store, runtime: &Runtime) {
    let take_keys = keys(&format!("{name}-take"));
    let get_keys = keys(&format!("{name}-get"));
    let mut group = c.benchmark_group(format!("store/{name}"));
    group.bench_function("take", |b| {
        b.iter_custom(|iterations| {
            timed(runtime, iterations, |i| {
                let key = take_keys[i as usize % KEYS].clone();
                async move {
                    let outcome = tokio::time::timeout(
                        DEFAULT_TIMEOUT,
                        store.take(key, INTERVAL_NS, BURST, 1),
                    )
                    .await
                    .expect("within the timeout")
                    .expect("take");
                    black_box(outcome);
                }
            })
        })
    });
    group.bench_function("get (miss)", |b| {
        b.iter_custom(|iterations| {
            timed(runtime, iterations, |i| {
                let key = get_keys[i as usize % KEYS].clone();
                async move {
                    let value = tokio::time::timeout(DEFAULT_TIMEOUT, store.get(key))
                        .await
                        .expect("within the timeout")
                        .expect("get");
                    black_box(value);
                }
            })
        })
    });
    group.finish();
}

fn memory(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = MemoryStore::default();
    bench_backend(c, "memory", &store, &runtime);
}

fn redis(c: &mut Criterion) {
    let url = std::env::var("BEGINNINGS_BENCH_REDIS")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_string());
    let StoreConfig::Redis(url) = StoreConfig::parse(&url).expect("a redis:// URL") else {
        panic!("BEGINNINGS_BENCH_REDIS must be a redis:// URL");
    };
    let reachable = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .and_then(|host| host.parse::<SocketAddr>().ok())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok());
    if !reachable {
        eprintln!("store/redis skipped: no Redis at {url}");
        return;
    }
    // The host's runtime is multi-threaded; the connection's I/O runs on its workers.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = RedisStore::new(&url).expect("a valid Redis URL");
    // Connect (and load the script) before measuring.
    runtime
        .block_on(store.take("beginnings:bench:warm".into(), INTERVAL_NS, BURST, 1))
        .expect("Redis answers");
    bench_backend(c, "redis", &store, &runtime);
}

criterion_group!(benches, memory, redis);
criterion_main!(benches);
