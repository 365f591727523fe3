//! `kill -USR2`: the running `beginnings-demo` starts its own binary again, hands it the
//! listening socket, and drains once the new process serves; under a bounded load from
//! several clients no request fails, the old process exits 0 and the new one serves. What the
//! in-memory shared store held starts empty in the new process (documented). A new binary
//! that cannot start leaves the old process serving.

use std::thread;
use std::time::{Duration, Instant};

use beginnings_tests::{Load, TestServer, build_dir, client};

const CONFIG: &str = r#"
app:
  shared_store: memory
  shutdown_grace_seconds: 10
routes:
  exact:
    "/api/v1/slow": {rate_limit: {requests: 2, key: "header:X-Client"}}
extensions:
  "rate_limit:RateLimitExtension": {store: shared}
"#;

/// Ends the process that took over when the test ends, however it ends: it is not a child
/// of the test, so nothing else would.
struct Successor(Option<u32>);

impl Drop for Successor {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while std::path::Path::new(&format!("/proc/{pid}")).exists()
                && Instant::now() < deadline
            {
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// The pid the old process logged handing the sockets to.
fn successor_pid(log: &str) -> Option<u32> {
    let line = log
        .lines()
        .find(|l| l.contains("handed the listening sockets to pid"))?;
    let after = line.split("handed the listening sockets to pid ").nth(1)?;
    after
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// A client that opens a new connection for every request: a kept-alive connection to the
/// old process is closed by its drain between requests, which a client may race.
fn one_connection_per_request() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn status_for(url: &str, client_id: &str) -> u16 {
    client()
        .get(url)
        .header("x-client", client_id)
        .send()
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[test]
fn usr2_hands_the_socket_over_without_a_failed_request_and_the_old_process_exits_0() {
    let mut old = TestServer::start(CONFIG);
    let slow = old.url("/api/v1/slow?ms=0");
    // A bucket spent on the old process: the third request is refused.
    assert_eq!(status_for(&slow, "spent"), 200);
    assert_eq!(status_for(&slow, "spent"), 200);
    assert_eq!(status_for(&slow, "spent"), 429);

    // Four clients, each a new connection per request, at most 20,000 requests each.
    let health = old.url("/health");
    let load = Load::start(
        4,
        20_000,
        one_connection_per_request,
        move |http| match http.get(&health).send() {
            Ok(response) if response.status().is_success() => None,
            other => Some(format!("{other:?}")),
        },
    );
    assert!(
        load.wait_for(200, Duration::from_secs(30)),
        "the clients were not served before the handover"
    );

    old.signal("USR2");
    assert!(
        old.wait_for_log_count(
            "handed the listening sockets to pid",
            1,
            Duration::from_secs(30)
        ),
        "no handover:\n{}",
        old.log()
    );
    let successor = Successor(successor_pid(&old.log()));
    assert!(successor.0.is_some(), "{}", old.log());
    let status = old.wait_exit(Duration::from_secs(20));
    assert!(
        status.is_some_and(|s| s.success()),
        "the old process exits 0 after its drain: {status:?}\n{}",
        old.log()
    );
    // The load goes on against the new process alone for a while.
    let after_exit = load.sent();
    let _ = load.wait_for(after_exit + 200, Duration::from_secs(10));
    let sent = load.sent();
    let served_after = sent - after_exit;
    let failures: Vec<String> = load.finish().into_iter().flatten().flatten().collect();
    println!(
        "handover under load: {sent} sent, {} failed, {served_after} after the old process exited",
        failures.len()
    );
    assert!(failures.is_empty(), "failed requests: {failures:?}");
    assert!(
        served_after >= 200,
        "the new process serves: {served_after}"
    );

    // The in-memory store did not move: the spent bucket is fresh in the new process.
    assert_eq!(status_for(&slow, "spent"), 200);
    drop(successor);
}

#[test]
fn a_new_binary_that_cannot_start_leaves_the_old_process_serving() {
    // A copy of the demo, so its file can be replaced by a build that fails.
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("beginnings-demo");
    std::fs::copy(build_dir().join("beginnings-demo"), &program).unwrap();
    let old = TestServer::start_program(&program, CONFIG, &[], &[]);
    // The upgrade that fails: a new file at the same path, swapped in by rename as a
    // deployment would.
    let broken = dir.path().join("broken");
    std::fs::write(
        &broken,
        "#!/bin/sh\necho 'this build cannot start' >&2\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&broken, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::rename(&broken, &program).unwrap();

    old.signal("USR2");
    assert!(
        old.wait_for_log_count(
            "handover failed; this process keeps serving",
            1,
            Duration::from_secs(30)
        ),
        "{}",
        old.log()
    );
    let log = old.log();
    assert!(
        log.contains("ended (exit status: 3) before it was ready"),
        "{log}"
    );
    assert!(log.contains("this build cannot start"), "{log}");
    for _ in 0..20 {
        assert_eq!(
            client().get(old.url("/health")).send().unwrap().status(),
            200
        );
    }
}
