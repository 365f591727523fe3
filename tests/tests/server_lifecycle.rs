//! Signals, black-box: SIGTERM drains, SIGHUP reloads (and keeps the old configuration when
//! the new one is broken), memory stays bounded over many reloads.

use std::thread;
use std::time::{Duration, Instant};

use beginnings_tests::TestServer as Proc;
use beginnings_tests::{Load, WITHOUT_ALLOCATOR_CACHES, client};

fn config(security_headers: bool) -> String {
    format!(
        r#"
app:
  name: lifecycle
  host: 127.0.0.1
  shutdown_grace_seconds: 20
routes:
  patterns:
    "/api/*": {{security_headers: {security_headers}}}
extensions:
  "security:SecurityHeadersExtension": {{x_frame_options: DENY}}
"#
    )
}

#[test]
fn sigterm_drains_a_request_in_flight_then_exits_zero() {
    let mut server = Proc::start(&config(true));
    let url = server.url("/api/v1/slow?ms=1500");
    let in_flight = thread::spawn(move || client().get(url).send().map(|r| (r.status(), r.text())));
    // The request is in the handler when the signal arrives.
    assert!(server.wait_for_log_count("slow request sleeping", 1, Duration::from_secs(10)));
    server.signal("TERM");
    let (status, body) = in_flight
        .join()
        .unwrap()
        .expect("the request in flight completed");
    assert_eq!(status, 200);
    assert_eq!(body.unwrap(), r#"{"slept_ms":1500}"#);
    let exit = server
        .wait_exit(Duration::from_secs(15))
        .expect("the server exited after draining");
    assert!(exit.success(), "exit status {exit:?}\n{}", server.log());
    let log = server.log();
    assert!(log.contains("draining connections"), "{log}");
    assert!(log.contains("all connections closed"), "{log}");
}

#[test]
fn a_second_signal_exits_without_waiting() {
    let mut server = Proc::start(&config(true));
    let url = server.url("/api/v1/slow?ms=20000");
    let _in_flight = thread::spawn(move || client().get(url).send().map(|r| r.status()));
    assert!(server.wait_for_log_count("slow request sleeping", 1, Duration::from_secs(10)));
    server.signal("TERM");
    assert!(server.wait_for_log_count("a second signal exits at once", 1, Duration::from_secs(5)));
    server.signal("TERM");
    let exit = server
        .wait_exit(Duration::from_secs(5))
        .expect("exited at once on the second signal");
    assert!(!exit.success(), "{exit:?}");
}

/// Whether a response to GET /api/v1/users carries the security headers.
fn has_security_headers(response: &reqwest::blocking::Response) -> bool {
    response.headers().contains_key("x-frame-options")
}

#[test]
fn sighup_swaps_a_changed_pattern_without_dropping_a_request() {
    let server = Proc::start(&config(true));
    let url = server.url("/api/v1/users");
    assert!(has_security_headers(&client().get(&url).send().unwrap()));
    let url_for_load = url.clone();

    // Four clients, each at most 200 requests; any answer but 200 is a failure.
    let load = Load::start(
        4,
        200,
        client,
        move |http: &reqwest::blocking::Client| match http.get(&url_for_load).send() {
            Ok(response) if response.status() == 200 => None,
            Ok(response) => Some(format!("status {}", response.status())),
            Err(error) => Some(error.to_string()),
        },
    );
    assert!(
        load.wait_for(100, Duration::from_secs(30)),
        "the workers were not served before the reload"
    );
    server.write_config(&config(false));
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    let swapped = loop {
        if !has_security_headers(&client().get(&url).send().unwrap()) {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let sent = load.sent();
    let failures: Vec<String> = load.finish().into_iter().flatten().flatten().collect();
    assert!(
        swapped,
        "the new pattern never took effect:\n{}",
        server.log()
    );
    assert!(
        failures.is_empty(),
        "requests failed during the reload: {failures:?}"
    );
    println!("{sent} requests served around the reload");
    assert!(server.log().contains("configuration reloaded"));
}

#[test]
fn a_broken_config_on_sighup_keeps_the_old_one() {
    let server = Proc::start(&config(true));
    let url = server.url("/api/v1/users");
    server.write_config(&format!("{}\nroutse: {{}}\n", config(false)));
    server.signal("HUP");
    assert!(
        server.wait_for_log_count("reload failed", 1, Duration::from_secs(10)),
        "{}",
        server.log()
    );
    let log = server.log();
    assert!(
        log.contains("did you mean `routes`"),
        "the problem is reported:\n{log}"
    );
    let response = client().get(&url).send().unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        has_security_headers(&response),
        "the old configuration still serves"
    );
    // A missing extension library is refused the same way.
    server.write_config(&config(false).replace("security:Security", "missing:Security"));
    server.signal("HUP");
    assert!(server.wait_for_log_count("reload failed", 2, Duration::from_secs(10)));
    assert!(has_security_headers(&client().get(&url).send().unwrap()));
}

/// Sends `count` SIGHUPs with alternating configurations, each waited for, each followed by
/// a request; `done` reloads happened before.
fn reload_times(server: &Proc, url: &str, done: usize, count: usize) {
    let http = client();
    for round in done..done + count {
        server.write_config(&config(round % 2 == 0));
        server.signal("HUP");
        assert!(
            server.wait_for_log_count("configuration reloaded", round + 1, Duration::from_secs(10)),
            "reload {round} did not finish:\n{}",
            server.log()
        );
        assert_eq!(http.get(url).send().unwrap().status(), 200);
    }
}

#[test]
fn rss_after_a_thousand_reloads_is_within_half_a_megabyte_of_rss_after_ten() {
    let server = Proc::start_binary_with_env(
        "beginnings-demo",
        &config(true),
        &[],
        &WITHOUT_ALLOCATOR_CACHES,
    );
    let url = server.url("/api/v1/users");
    // Warm up: the first reloads and requests allocate what stays allocated (allocator
    // arenas, the log buffer, the libraries' own statics).
    const WARM: usize = 10;
    reload_times(&server, &url, 0, WARM);
    let before = server.rss_kb();
    const RELOADS: usize = 1000;
    reload_times(&server, &url, WARM, RELOADS);
    let after = server.rss_kb();
    let growth = after.saturating_sub(before);
    println!("VmRSS before {RELOADS} reloads: {before} kB, after: {after} kB, growth {growth} kB");
    // Half a kilobyte per reload at most: a module context leaked by every reload (a few
    // hundred bytes for each extension) grows it past that.
    assert!(
        growth < 500,
        "RSS grew by {growth} kB (from {before} kB to {after} kB) over {RELOADS} reloads"
    );
}

#[test]
fn readiness_fails_while_draining_and_liveness_holds() {
    let mut server = Proc::start(&config(true).replace(
        "shutdown_grace_seconds: 20",
        "shutdown_grace_seconds: 20\n  shutdown_delay_seconds: 2",
    ));
    let http = client();
    assert_eq!(http.get(server.url("/ready")).send().unwrap().status(), 200);
    server.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(2);
    let ready = loop {
        let ready = http.get(server.url("/ready")).send().unwrap();
        if ready.status() != 200 || Instant::now() > deadline {
            break ready;
        }
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(ready.status(), 503);
    assert_eq!(
        ready.json::<serde_json::Value>().unwrap()["status"],
        "draining"
    );
    assert_eq!(
        http.get(server.url("/health")).send().unwrap().status(),
        200
    );
    let exit = server
        .wait_exit(Duration::from_secs(15))
        .expect("exited after the delay and the drain");
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn watch_reloads_when_the_configuration_file_changes() {
    let server = Proc::start_with(&config(true), &["--watch"]);
    let url = server.url("/api/v1/users");
    assert!(has_security_headers(&client().get(&url).send().unwrap()));
    server.write_config(&config(false));
    let deadline = Instant::now() + Duration::from_secs(10);
    while has_security_headers(&client().get(&url).send().unwrap()) {
        assert!(
            Instant::now() < deadline,
            "no reload after the file changed:\n{}",
            server.log()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Startup hooks run in load order (the order of `extensions:`), shutdown hooks in reverse:
/// the fixture logs each hook it runs.
#[test]
fn shutdown_hooks_run_in_reverse_load_order() {
    let yaml = r#"
app:
  name: lifecycle-order
  host: 127.0.0.1
extensions:
  "fixture_pipeline:Alpha": {counter_prefix: order_alpha}
  "fixture_pipeline:Beta": {counter_prefix: order_beta}
  "fixture_pipeline:Gamma": {counter_prefix: order_gamma}
"#;
    let mut server = Proc::start(yaml);
    const MARK: &str = "fixture lifecycle: ";
    assert!(
        server.wait_for_log_count(MARK, 3, Duration::from_secs(10)),
        "the startup hooks did not log:\n{}",
        server.log()
    );
    server.signal("TERM");
    let exit = server
        .wait_exit(Duration::from_secs(15))
        .expect("the server exited on SIGTERM");
    assert!(exit.success(), "exit status {exit:?}\n{}", server.log());
    // The log is read on another thread: wait for all six lines.
    assert!(
        server.wait_for_log_count(MARK, 6, Duration::from_secs(5)),
        "the shutdown hooks did not all log:\n{}",
        server.log()
    );
    let log = server.log();
    let hooks: Vec<&str> = log
        .lines()
        .filter_map(|line| Some(line.split_once(MARK)?.1.trim()))
        .collect();
    assert_eq!(
        hooks,
        [
            "alpha started",
            "beta started",
            "gamma started",
            "gamma stopped",
            "beta stopped",
            "alpha stopped",
        ],
        "{log}"
    );
}
