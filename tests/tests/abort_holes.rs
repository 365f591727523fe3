//! Extension bugs that used to end the whole process now cost one answer: a header map
//! pushed past its limit, a destructor that panics, and a panicking destructor of a hook
//! the host drops on timeout. The server answers and goes on serving after each.

use std::time::Duration;

use beginnings_tests::{TestServer, client};

const CONFIG: &str = r#"
routes:
  global_defaults: {timeout: 1}
extensions:
  "fixture_panic:HostileExtension": {}
"#;

#[test]
fn extension_bugs_that_used_to_abort_cost_one_answer() {
    let server = TestServer::start(CONFIG);
    let http = client();
    let hostile = |mode: &str| {
        http.get(server.url("/api/v1/users"))
            .header("x-hostile", mode)
            .send()
            .unwrap()
            .status()
    };

    // Past the header map's limit the host refuses the header; the hook's error is a 500.
    assert_eq!(hostile("flood"), 500);
    let logged = |needle: &str| {
        assert!(
            server.wait_for_log_count(needle, 1, Duration::from_secs(5)),
            "no `{needle}` in the log:\n{}",
            server.log()
        );
    };
    logged("too many header lines");
    logged("fixture_panic:HostileExtension");

    // The state's destructor panics after the answer: contained in the library.
    assert_eq!(hostile("state"), 200);
    logged("a destructor panicked; the panic was contained");

    // The hook outlives the route's timeout: the host drops it, its destructor panics.
    assert_eq!(hostile("future"), 504);
    logged("dropping an unfinished request hook panicked; the panic was contained");

    // Still the same process, still serving.
    assert_eq!(hostile("none"), 200);
    assert_eq!(
        http.get(server.url("/health")).send().unwrap().status(),
        200
    );
}
