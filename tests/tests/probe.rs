//! The benchmarks' chain probe runs a request as the server does: one per-request state from
//! the request hooks to the response hooks, and the asynchronous request hooks awaited.
//! The rate limiter shows both: its `RateLimit-*` headers are set by its response hook only
//! from what its request hook counted into the request's state.

use std::path::Path;

use beginnings::bench::ChainProbe;
use beginnings::config::load_str;
use beginnings::routing::Body;
use beginnings_tests::{build_dir, ensure_built};

const ROUTE: &str = "/limited";

fn probe(yaml: &str) -> ChainProbe {
    ensure_built();
    let config = load_str(yaml, Path::new("probe.yaml")).expect("the configuration loads");
    ChainProbe::new(&config, &build_dir(), ROUTE, "GET").expect("the chain builds")
}

fn rate_limited(store: &str) -> ChainProbe {
    probe(&format!(
        "routes:\n  exact:\n    \"{ROUTE}\": {{rate_limit: 5}}\n\
         extensions:\n  \"rate_limit:RateLimitExtension\": {{store: {store}}}\n"
    ))
}

fn request_head() -> http::request::Parts {
    http::Request::get(ROUTE).body(()).unwrap().into_parts().0
}

/// One request through `probe`: whether it passed, and the answer's `RateLimit-Remaining`.
fn remaining_after_request(probe: &ChainProbe) -> (bool, Option<String>) {
    let mut parts = request_head();
    let mut response = http::Response::new(Body::default());
    let passed = probe.request_and_response(ROUTE, &mut parts, &mut response);
    for header in ["ratelimit-limit", "ratelimit-reset", "ratelimit-policy"] {
        assert_eq!(
            response.headers().contains_key(header),
            response.headers().contains_key("ratelimit-remaining"),
            "{header} comes with RateLimit-Remaining"
        );
    }
    let remaining = response
        .headers()
        .get("ratelimit-remaining")
        .map(|value| value.to_str().unwrap().to_string());
    (passed, remaining)
}

#[test]
fn the_rate_limiters_response_hook_sees_what_its_request_hook_counted() {
    let probe = rate_limited("local");
    assert!(!probe.has_async_hooks());
    assert_eq!(remaining_after_request(&probe), (true, Some("4".into())));
    assert_eq!(remaining_after_request(&probe), (true, Some("3".into())));
}

#[test]
fn an_asynchronous_request_hook_runs_and_shares_its_state() {
    let probe = rate_limited("shared");
    assert!(probe.has_async_hooks());
    assert_eq!(remaining_after_request(&probe), (true, Some("4".into())));
    for _ in 0..4 {
        remaining_after_request(&probe);
    }
    // The sixth request in the window: refused by the asynchronous hook, and its own
    // response hook still marks the answer.
    assert_eq!(remaining_after_request(&probe), (false, Some("0".into())));
}
