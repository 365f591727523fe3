//! The cases of the `hooks` bench: the request it sends, the fixture's hook in its three modes
//! and each shipped extension as a route would configure it. They live in the library so
//! that a unit test, run by the workspace's test command, checks each case lets its request
//! through: the benches themselves run only when asked, and a case that answers instead
//! (a 401, a 403) would be timed as if it were the extension's work.

use std::path::Path;

use beginnings::bench::ChainProbe;
use beginnings::config::{Config, load_str};
use http::HeaderValue;
use http::request::Parts;

use crate::token;

/// The route every case's chain is built for and its request asks for.
pub const ROUTE: &str = "/bench";

/// The modes of the `fixture_pipeline:Bench` hook: (the bench's name, the configuration's).
pub const FIXTURE_MODES: [(&str, &str); 3] = [
    ("noop", "noop"),
    ("header_read", "read"),
    ("header_write", "write"),
];

/// A request head like a browser's: 12 headers (one an API key for the auth case). No
/// `Authorization`: a bearer token goes before an API key, so a placeholder one would refuse
/// the API-key case; [`shipped_case`] adds a signed token where the case checks one.
pub fn request_head() -> Parts {
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

/// The chain of the fixture's hook in `mode` (the configuration's name of it).
pub fn fixture_probe(libraries: &Path, mode: &str) -> ChainProbe {
    let yaml = format!("extensions:\n  \"fixture_pipeline:Bench\": {{mode: {mode}}}\n");
    let (_, probe) = chain(libraries, &yaml);
    assert!(!probe.extensions().is_empty(), "the extension applies");
    probe
}

/// The chain of one of [`SHIPPED`] and the request it is sent: [`request_head`], with a
/// bearer token signed with the configuration's JWT secret where it has one.
pub fn shipped_case(libraries: &Path, yaml: &str) -> (ChainProbe, Parts) {
    let (config, probe) = chain(libraries, yaml);
    let mut parts = request_head();
    if let Some(secret) = token::auth_secret(&config) {
        let bearer = token::bearer(&secret).expect("token signs");
        parts.headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {bearer}")).expect("a header value"),
        );
    }
    (probe, parts)
}

/// The configuration `yaml` and the chain it gives [`ROUTE`].
fn chain(libraries: &Path, yaml: &str) -> (Config, ChainProbe) {
    let config = load_str(yaml, Path::new("bench.yaml")).expect("benchmark config loads");
    let probe = ChainProbe::new(&config, libraries, ROUTE, "GET").expect("chain builds");
    (config, probe)
}

/// Extensions as a benchmark configures them: (name, configuration). The auth entry stores
/// the SHA-256 of the API key `bench-key` that the request carries.
pub const SHIPPED: [(&str, &str); 9] = [
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

#[cfg(test)]
mod tests {
    use beginnings::routing::Body;

    use super::*;

    #[test]
    fn every_case_of_the_hooks_bench_lets_its_request_through() {
        beginnings_tests::ensure_built();
        let libraries = beginnings_tests::build_dir();
        for (name, mode) in FIXTURE_MODES {
            let probe = fixture_probe(&libraries, mode);
            let mut parts = request_head();
            assert!(
                probe.request_hooks(ROUTE, &mut parts).passed(),
                "{name}: the fixture's hook lets the request through"
            );
        }
        for (name, yaml) in SHIPPED {
            let (probe, mut parts) = shipped_case(&libraries, yaml);
            let mut response = http::Response::new(Body::default());
            assert!(
                probe.request_and_response(ROUTE, &mut parts, &mut response),
                "{name}: the chain lets the request through"
            );
        }
    }
}
