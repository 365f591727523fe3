//! The extension through the in-process test host: which routes it takes part in, what its
//! `rate_limit` setting may be, and which hooks its filters declare.

use beginnings_abi::json::{Value, json};
use beginnings_abi::testing::{TestExtension, TestHost, TestRequest, TestResponse};
use beginnings_abi::{Extension, Filter, Hooks, Route};

use crate::{ROUTE_SETTING, RateLimitExtension, RouteSettings};

fn extension(config: Value) -> TestExtension {
    TestExtension::new::<RateLimitExtension>(config).unwrap()
}

#[test]
fn route_settings_read_the_rate_limit_key_only() {
    let read: RouteSettings =
        beginnings_abi::json::from_value(json!({ROUTE_SETTING: 5, "other": 1})).unwrap();
    // Destructured in full: a field added here is a key the extension reads.
    let RouteSettings { rate_limit } = read;
    assert_eq!(rate_limit, Some(json!(5)));
}

#[test]
fn only_limited_routes_take_part() {
    let extension = extension(json!({"default": {"requests": 10}}));
    let get = &["GET"][..];
    for off in [
        json!({}),
        json!({"rate_limit": null}),
        json!({"rate_limit": false}),
    ] {
        assert!(!extension.applies("/a", get, off.clone()).unwrap(), "{off}");
    }
    for on in [
        json!({"rate_limit": 5}),
        json!({"rate_limit": true}),
        json!({"rate_limit": {"requests": 5, "key": "user"}}),
    ] {
        assert!(extension.applies("/a", get, on.clone()).unwrap(), "{on}");
    }
    assert!(
        extension
            .filter("/a", json!({"rate_limit": false}))
            .is_err()
    );
}

#[test]
fn a_malformed_setting_is_an_error_naming_the_route_and_the_key() {
    let extension = extension(json!({}));
    let get = &["GET"][..];
    for (setting, message) in [
        (
            json!("yes"),
            "route /a: rate_limit: expected a number, true/false or a map, found \"yes\"",
        ),
        (
            json!(true),
            "route /a: rate_limit: `true` needs a `default` in the extension's configuration",
        ),
        (
            json!(-1),
            "route /a: rate_limit: -1 is not a count of requests",
        ),
        (
            json!(0),
            "route /a: rate_limit: requests: must be at least 1",
        ),
        (
            json!({"requests": 1, "key": "nope"}),
            "route /a: rate_limit: key: \"nope\" is not a key",
        ),
        (
            json!({"requests": 5, "window_seconds": u64::MAX}),
            "route /a: rate_limit: window_seconds: 18446744073709551615 is more than 31536000 (365 days)",
        ),
        (
            json!({"requests": 2, "window_seconds": 31_536_000, "burst": 3}),
            "route /a: rate_limit: burst: 3 takes longer than 31536000 seconds",
        ),
        (
            json!({"requests": 2, "per_address": 5}),
            "route /a: rate_limit: per_address: applies only to key: api_key or header:NAME",
        ),
        (
            json!({"requests": 2, "key": "api_key", "per_address": 0}),
            "route /a: rate_limit: per_address: must be at least 1",
        ),
    ] {
        let error = extension
            .applies("/a", get, json!({ ROUTE_SETTING: setting }))
            .unwrap_err();
        assert!(error.message().starts_with(message), "{error}");
    }
}

#[test]
fn a_local_limit_counts_and_answers_429() {
    let extension = extension(json!({}));
    let filter = extension
        .filter("/local", json!({"rate_limit": 1}))
        .unwrap();
    let request = || TestRequest::get("/local");
    let first = filter
        .exchange(request(), |_| TestResponse::new(200))
        .unwrap();
    assert!(!first.answered_early);
    assert_eq!(first.response.header_value("ratelimit-limit"), Some("1"));
    assert_eq!(
        first.response.header_value("ratelimit-remaining"),
        Some("0")
    );
    let second = filter
        .exchange(request(), |_| TestResponse::new(200))
        .unwrap();
    assert_eq!(second.response.status, 429);
    assert!(second.response.header_value("retry-after").is_some());
}

#[test]
fn a_shared_limit_runs_in_the_asynchronous_hook() {
    let extension = extension(json!({"store": "shared"}));
    let filter = extension
        .filter("/shared-limit", json!({"rate_limit": 1}))
        .unwrap();
    // The synchronous hook refuses to check a shared-store limit: an answer proves the
    // asynchronous one ran.
    let request = || TestRequest::get("/shared-limit");
    let first = filter
        .exchange(request(), |_| TestResponse::new(200))
        .unwrap();
    assert!(!first.answered_early);
    assert_eq!(first.response.header_value("ratelimit-limit"), Some("1"));
    let second = filter
        .exchange(request(), |_| TestResponse::new(200))
        .unwrap();
    assert_eq!(second.response.status, 429);
}

/// `RateLimit-Remaining` and `RateLimit-Reset` of one request through `filter`.
fn counts(filter: &beginnings_abi::testing::TestFilter, path: &str) -> (String, String) {
    let answer = filter
        .exchange(TestRequest::get(path).route(path), |_| {
            TestResponse::new(200)
        })
        .unwrap();
    let header = |name| answer.response.header_value(name).unwrap().to_string();
    (header("ratelimit-remaining"), header("ratelimit-reset"))
}

#[test]
fn counts_read_the_same_whether_prepared_or_formatted() {
    let extension = extension(json!({}));
    // 2000 a minute: what is left is past the values prepared on first use, the reset is not.
    let large = extension
        .filter("/large", json!({"rate_limit": 2000}))
        .unwrap();
    assert_eq!(counts(&large, "/large"), ("1999".into(), "1".into()));
    assert_eq!(counts(&large, "/large"), ("1998".into(), "1".into()));
    // 3 a minute: one request every 20 seconds refills the bucket. Two routes of the same
    // limit count apart, and the second sends the values the first prepared.
    let small = extension
        .filter("/small", json!({"rate_limit": 3}))
        .unwrap();
    for path in ["/small/a", "/small/b"] {
        assert_eq!(counts(&small, path), ("2".into(), "20".into()), "{path}");
        assert_eq!(counts(&small, path), ("1".into(), "40".into()), "{path}");
    }
}

/// The hooks of the filter for `rate_limit: 5` under `config`.
fn hooks_of(config: Value) -> Hooks {
    let config = beginnings_abi::json::from_value(config).unwrap();
    let extension = RateLimitExtension::new(config, TestHost::new().host()).unwrap();
    let settings = RouteSettings {
        rate_limit: Some(json!(5)),
    };
    let route = Route {
        path: "/a",
        methods: &["GET"],
        settings: &settings,
    };
    extension.filter(&route).unwrap().unwrap().hooks()
}

#[test]
fn both_hooks_run_and_the_request_hook_waits_only_on_the_shared_store() {
    assert_eq!(hooks_of(json!({})), Hooks::none().request().response());
    assert_eq!(
        hooks_of(json!({"store": "shared"})),
        Hooks::none().request_async().response()
    );
}

#[test]
fn the_longest_window_and_burst_still_count() {
    let extension = extension(json!({}));
    let filter = extension
        .filter(
            "/slow",
            json!({"rate_limit": {"requests": 2, "window_seconds": 31_536_000, "burst": 2}}),
        )
        .unwrap();
    let answer = filter
        .exchange(TestRequest::get("/slow"), |_| TestResponse::new(200))
        .unwrap();
    assert_eq!(
        answer.response.header_value("ratelimit-remaining"),
        Some("1")
    );
    assert!(
        TestExtension::new::<RateLimitExtension>(
            json!({"default": {"requests": 1, "window_seconds": 31_536_001u64}})
        )
        .is_err()
    );
}

#[test]
fn the_documented_keys_are_the_keys_it_reads() {
    let docs = include_str!("../../../docs/extensions.md");
    beginnings_abi::testing::check_documented_keys::<crate::RateLimitExtension>(
        docs,
        "rate_limit:RateLimitExtension",
    )
    .unwrap_or_else(|problems| panic!("docs/extensions.md: {problems}"));
}
