//! Both backends answer the same operations the same way; the Redis one runs against the
//! server on 127.0.0.1:6379 when one is reachable and says so when it is skipped.

use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "redis")]
use super::RedisStore;
use super::{MemoryStore, Store, StoreError};

#[cfg(feature = "redis")]
const REDIS_URL: &str = "redis://127.0.0.1:6379/0";

#[cfg(feature = "redis")]
fn redis_reachable() -> bool {
    std::net::TcpStream::connect_timeout(
        &"127.0.0.1:6379".parse().unwrap(),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// A key no other test run uses.
fn key(name: &str) -> String {
    format!("beginnings-test:{name}:{}", fastrand::u64(..))
}

async fn same_behaviour(store: &dyn Store) {
    let counter = key("counter");
    assert_eq!(store.incr(counter.clone(), 2, None).await.unwrap(), 2);
    assert_eq!(store.incr(counter.clone(), 3, None).await.unwrap(), 5);
    assert_eq!(
        store.get(counter.clone()).await.unwrap().as_deref(),
        Some("5")
    );

    let text = key("text");
    assert_eq!(store.get(text.clone()).await.unwrap(), None);
    store.set(text.clone(), "hello".into(), None).await.unwrap();
    assert_eq!(
        store.get(text.clone()).await.unwrap().as_deref(),
        Some("hello")
    );
    assert!(store.delete(text.clone()).await.unwrap());
    assert!(!store.delete(text.clone()).await.unwrap());

    let expiring = key("expiring");
    store
        .set(
            expiring.clone(),
            "soon gone".into(),
            Some(Duration::from_millis(50)),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(store.get(expiring).await.unwrap(), None, "expired");

    // Three tokens, refilled one per second: three pass, the fourth waits about a second.
    let bucket = key("bucket");
    let interval = Duration::from_secs(1).as_nanos() as u64;
    for remaining in [2, 1, 0] {
        let outcome = store.take(bucket.clone(), interval, 3, 1).await.unwrap();
        assert!(outcome.allowed);
        assert_eq!(outcome.remaining, remaining);
    }
    let refused = store.take(bucket.clone(), interval, 3, 1).await.unwrap();
    assert!(!refused.allowed);
    assert!(refused.retry_after_ns > interval / 2 && refused.retry_after_ns <= interval);
}

#[tokio::test]
async fn the_memory_store_counts_expires_and_limits() {
    same_behaviour(&MemoryStore::default()).await;
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn the_redis_store_counts_expires_and_limits() {
    if !redis_reachable() {
        assert!(
            std::env::var_os("BEGINNINGS_REQUIRE_REDIS").is_none(),
            "BEGINNINGS_REQUIRE_REDIS is set, but no Redis answers on 127.0.0.1:6379"
        );
        eprintln!("skipped: no Redis on 127.0.0.1:6379 (set BEGINNINGS_REQUIRE_REDIS=1 to fail)");
        return;
    }
    same_behaviour(&RedisStore::new(REDIS_URL).unwrap()).await;
}

#[tokio::test]
async fn the_memory_store_stays_within_its_bound() {
    let store = MemoryStore::with_capacity(64);
    for index in 0..1_000 {
        store
            .set(format!("k{index}"), "v".into(), None)
            .await
            .unwrap();
    }
    let mut kept = 0;
    for index in 0..1_000 {
        if store.get(format!("k{index}")).await.unwrap().is_some() {
            kept += 1;
        }
    }
    assert!(kept <= 64 + 16, "kept {kept} keys");
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn an_unreachable_redis_fails_fast_instead_of_hanging() {
    // A closed port on loopback: every operation errs within the timeout.
    let store = RedisStore::new("redis://127.0.0.1:1/0").unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(5), store.get("k".into())).await;
    let Ok(Err(error)) = outcome else {
        panic!("expected a failure, got {outcome:?}")
    };
    assert!(error.is_unreachable(), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("cannot connect to redis://127.0.0.1:1/0: "),
        "{error}"
    );
    // Within the backoff the next operation fails at once, with the same kind and reason.
    let again = store.incr("k".into(), 1, None).await.unwrap_err();
    assert!(again.is_unreachable(), "{again:?}");
    assert!(again.to_string().ends_with("; retrying later"), "{again}");
}

#[tokio::test]
async fn a_slow_store_fails_as_a_timeout_naming_the_store() {
    let registry = Arc::default();
    let shared = super::prepare(
        &super::StoreConfig::Memory,
        Duration::from_millis(20),
        &registry,
        None,
    )
    .unwrap();
    // An operation that never answers: only the store's timeout ends it.
    let outcome: super::StoreResult<()> =
        super::run(&shared, |_store| Box::pin(std::future::pending())).await;
    let error = outcome.unwrap_err();
    assert!(
        matches!(&error, StoreError::Timeout { store, after }
            if store == "memory" && *after == Duration::from_millis(20)),
        "{error:?}"
    );
    assert!(error.is_timeout() && !error.is_unreachable(), "{error:?}");
    assert_eq!(error.to_string(), "memory gave no answer within 20ms");
}

#[test]
fn a_store_the_configuration_cannot_use_is_a_config_error() {
    // Refused where the configuration is read, as a problem at `app.shared_store`.
    let unknown = super::StoreConfig::parse("memcached://127.0.0.1").unwrap_err();
    assert_eq!(
        unknown,
        "expected `memory` or a redis:// URL, found `memcached://127.0.0.1`"
    );
    #[cfg(feature = "redis")]
    {
        let config = super::StoreConfig::parse("redis://127.0.0.1:notaport/0").unwrap();
        let Err(error) = super::prepare(&config, Duration::from_millis(50), &Arc::default(), None)
        else {
            panic!("a Redis URL with a bad port must not make a store")
        };
        assert!(error.is_config(), "{error:?}");
        assert!(
            error
                .to_string()
                .starts_with("invalid Redis URL `redis://127.0.0.1:notaport/0`"),
            "{error}"
        );
    }
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn a_redis_refusal_is_a_backend_error() {
    if !redis_reachable() {
        assert!(
            std::env::var_os("BEGINNINGS_REQUIRE_REDIS").is_none(),
            "BEGINNINGS_REQUIRE_REDIS is set, but no Redis answers on 127.0.0.1:6379"
        );
        eprintln!("skipped: no Redis on 127.0.0.1:6379 (set BEGINNINGS_REQUIRE_REDIS=1 to fail)");
        return;
    }
    let store = RedisStore::new(REDIS_URL).unwrap();
    let text = key("text");
    store
        .set(text.clone(), "not a number".into(), None)
        .await
        .unwrap();
    // Redis refuses to count a text value (the memory store reads it as zero).
    let error = store.incr(text.clone(), 1, None).await.unwrap_err();
    assert!(error.is_backend() && !error.is_unreachable(), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("redis://127.0.0.1:6379/0 answered with an error: "),
        "{error}"
    );
    store.delete(text).await.unwrap();
}

#[tokio::test]
async fn preparing_the_same_store_again_keeps_what_it_holds() {
    // A reload prepares the store again; limits and revocations held in memory survive.
    let registry = Arc::default();
    let memory = super::StoreConfig::Memory;
    let first = super::prepare(&memory, Duration::from_millis(50), &registry, None).unwrap();
    let key = key("kept");
    let stored = key.clone();
    super::run(&first, move |store| store.set(stored, "v".into(), None))
        .await
        .unwrap();
    let second =
        super::prepare(&memory, Duration::from_millis(80), &registry, Some(&first)).unwrap();
    let read = key.clone();
    let value = super::run(&second, move |store| store.get(read.clone()))
        .await
        .unwrap();
    assert_eq!(value.as_deref(), Some("v"));
    // Another application's store (its own registry) holds none of it.
    let other = super::prepare(
        &memory,
        Duration::from_millis(80),
        &Arc::default(),
        Some(&first),
    )
    .unwrap();
    let read = key.clone();
    let value = super::run(&other, move |store| store.get(read))
        .await
        .unwrap();
    assert_eq!(value, None, "two applications share no memory store");
}
