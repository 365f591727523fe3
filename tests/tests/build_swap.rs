//! Swapping an extension's build in place, black-box: two builds of one fixture (answer
//! header `x-build: old` and `x-build: new`), each compiled in a target directory of its
//! own, and a running server that finds the new one under the old one's name on SIGHUP.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use beginnings_tests::{
    Load, TestServer, WITHOUT_ALLOCATOR_CACHES, build_dir, client, ensure_built, prometheus_text,
    workspace_root,
};

const LIBRARY: &str = "libfixture_swap.so";
const CONFIG: &str = "extensions:\n  \"fixture_swap:BuildExtension\": {}\n";

/// Compiles `fixture_swap` with `FIXTURE_SWAP_BUILD=build` in a target directory of its
/// own (a shared one would rebuild one artifact in place for every value, and a build
/// whose inputs look unchanged could be reused), and returns its library.
fn build(build: &str) -> PathBuf {
    let target = build_dir()
        .parent()
        .expect("the build directory sits in the target directory")
        .join("swap")
        .join(build);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["build", "-p", "fixture_swap", "--lib", "--target-dir"])
        .arg(&target)
        .env("FIXTURE_SWAP_BUILD", build)
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "building fixture_swap as `{build}` failed"
    );
    target.join("debug").join(LIBRARY)
}

/// A private extensions directory (mode 755, as the loader asks) holding `library`.
fn extensions_dir(library: &Path) -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    fs::set_permissions(directory.path(), fs::Permissions::from_mode(0o755)).unwrap();
    install(directory.path(), library);
    directory
}

/// Puts `library` in `directory` as an operator should: written under another name, then
/// renamed over the old file (writing into the file a server has mapped would change the
/// code it runs).
fn install(directory: &Path, library: &Path) {
    let staged = directory.join(format!(".{LIBRARY}.new"));
    fs::copy(library, &staged).unwrap();
    fs::set_permissions(&staged, fs::Permissions::from_mode(0o755)).unwrap();
    fs::rename(&staged, directory.join(LIBRARY)).unwrap();
}

/// Installs `library` and reloads; waits until the server has finished its `reloads`th
/// reload.
fn reload_with(server: &TestServer, directory: &Path, library: &Path, reloads: usize) {
    install(directory, library);
    server.signal("HUP");
    assert!(
        server.wait_for_log_count("configuration reloaded", reloads, Duration::from_secs(30)),
        "reload {reloads} did not finish:\n{}",
        server.log()
    );
}

fn start(directory: &Path) -> TestServer {
    TestServer::start_with(CONFIG, &["--extensions-dir", directory.to_str().unwrap()])
}

/// As [`start`], for a test that reads the server's resident memory.
fn start_measured(directory: &Path) -> TestServer {
    TestServer::start_binary_with_env(
        "beginnings-demo",
        CONFIG,
        &["--extensions-dir", directory.to_str().unwrap()],
        &WITHOUT_ALLOCATOR_CACHES,
    )
}

/// The `x-build` header of a 2xx answer, or what went wrong.
fn answer(http: &reqwest::blocking::Client, url: &str) -> Result<String, String> {
    let response = http.get(url).send().map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()));
    }
    let build = response
        .headers()
        .get("x-build")
        .map(|v| v.to_str().unwrap().to_string());
    build.ok_or_else(|| "no x-build header".to_string())
}

/// The SHA-256 of `path` in hex.
fn sha256_of(path: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    let digest = String::from_utf8(output.stdout).unwrap();
    digest.split_whitespace().next().unwrap().to_string()
}

fn counter(server: &TestServer, name: &str) -> Option<f64> {
    prometheus_text::scrape(&server.url("/metrics?format=prometheus"))
        .value(name, &[("module", "fixture_swap")])
}

/// `extension_build_info` of the build in `library`: 1 in use, 0 replaced, none never used.
fn build_info(server: &TestServer, library: &Path) -> Option<f64> {
    prometheus_text::scrape(&server.url("/metrics?format=prometheus")).value(
        "extension_build_info",
        &[("module", "fixture_swap"), ("sha256", &sha256_of(library))],
    )
}

#[test]
fn a_new_build_swaps_in_on_sighup_under_load_and_requests_in_flight_finish_on_the_old() {
    ensure_built();
    let (old, new) = (build("old"), build("new"));
    let directory = extensions_dir(&old);
    let server = start(directory.path());
    let url = server.url("/api/v1/users");
    assert_eq!(answer(&client(), &url), Ok("old".to_string()));
    assert_eq!(counter(&server, "extension_swaps_total"), Some(0.0));
    assert_eq!(build_info(&server, &old), Some(1.0));
    assert_eq!(build_info(&server, &new), None);

    // A slow request in the handler when the build is swapped: its response hook runs on
    // the build it started on.
    let slow_url = server.url("/api/v1/slow?ms=1500");
    let slow = thread::spawn(move || answer(&client(), &slow_url));
    assert!(server.wait_for_log_count("slow request sleeping", 1, Duration::from_secs(10)));

    // Four clients, each at most 400 requests.
    let load_url = url.clone();
    let load = Load::start(4, 400, client, move |http: &reqwest::blocking::Client| {
        answer(http, &load_url)
    });
    assert!(
        load.wait_for(100, Duration::from_secs(30)),
        "the workers were not served before the swap"
    );
    reload_with(&server, directory.path(), &new, 1);
    // Every request sent once the reload is done runs the new build.
    let http = client();
    for _ in 0..20 {
        assert_eq!(answer(&http, &url), Ok("new".to_string()));
    }
    // The workers go on until each has had answers from the new build, or their bound.
    // Not asserted: a thread that reached its bound sends no more.
    let _ = load.wait_for(load.sent() + 100, Duration::from_secs(30));
    let mut seen = [0usize; 2];
    for answers in load.finish() {
        let failures: Vec<&String> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
        assert!(
            failures.is_empty(),
            "requests failed around the swap: {failures:?}"
        );
        // A thread's requests are sequential: once one was answered by the new build,
        // every later one started after the swap and must be answered by it too.
        let builds: Vec<&str> = answers.iter().map(|a| a.as_deref().unwrap()).collect();
        let first_new = builds
            .iter()
            .position(|b| *b == "new")
            .unwrap_or(builds.len());
        assert!(
            builds[..first_new].iter().all(|b| *b == "old"),
            "an answer from neither build: {builds:?}"
        );
        assert!(
            builds[first_new..].iter().all(|b| *b == "new"),
            "the old build answered after the new one had: {builds:?}"
        );
        seen[0] += first_new;
        seen[1] += builds.len() - first_new;
    }
    println!(
        "answers around the swap: {} from the old build, {} from the new",
        seen[0], seen[1]
    );
    assert!(
        seen[0] > 0 && seen[1] > 0,
        "both builds answered the workers: {seen:?}"
    );
    assert_eq!(
        slow.join().unwrap(),
        Ok("old".to_string()),
        "the request in flight finished on the build it started on"
    );

    // The new build was opened from a content-addressed copy in the state directory.
    let copy = directory
        .path()
        .join(".beginnings")
        .join(format!("fixture_swap-{}.so", sha256_of(&new)));
    assert!(copy.is_file(), "no copy at {}", copy.display());
    let log = server.log();
    assert!(log.contains("swapped module `fixture_swap`"), "{log}");
    assert_eq!(counter(&server, "extension_swaps_total"), Some(1.0));
    assert_eq!(counter(&server, "extension_rollbacks_total"), Some(0.0));
    assert_eq!(
        build_info(&server, &old),
        Some(0.0),
        "replaced, still loaded"
    );
    assert_eq!(build_info(&server, &new), Some(1.0), "in use");
}

/// The extension's response-hook calls on the build in `library`, from `/metrics`.
fn response_hook_calls(server: &TestServer, library: &Path) -> Option<f64> {
    prometheus_text::scrape(&server.url("/metrics?format=prometheus")).value(
        "extension_hook_calls_total",
        &[
            ("extension", "fixture_swap:BuildExtension"),
            ("hook", "response"),
            ("sha256", &sha256_of(library)),
        ],
    )
}

/// A route's chain counts its ordinary requests once for all its hooks; a reload builds the
/// chains again and drops the old ones, whose counts must stay in the series.
#[test]
fn hook_calls_counted_by_a_replaced_chain_stay_counted_after_a_reload() {
    ensure_built();
    let old = build("old");
    let directory = extensions_dir(&old);
    let server = start(directory.path());
    let (http, url) = (client(), server.url("/api/v1/users"));
    for _ in 0..5 {
        assert_eq!(answer(&http, &url), Ok("old".to_string()));
    }
    // Each scrape of `/metrics` passes through the extension too, and is counted once its
    // answer is made: one more per earlier scrape.
    assert_eq!(response_hook_calls(&server, &old), Some(5.0));
    // The same build again: no swap, but every chain is built anew.
    reload_with(&server, directory.path(), &old, 1);
    assert_eq!(
        response_hook_calls(&server, &old),
        Some(5.0 + 1.0),
        "kept when the chain that counted them was dropped"
    );
    for _ in 0..3 {
        assert_eq!(answer(&http, &url), Ok("old".to_string()));
    }
    assert_eq!(response_hook_calls(&server, &old), Some(8.0 + 2.0));
}

#[test]
fn a_new_build_whose_startup_hook_fails_is_rolled_back_and_the_old_one_keeps_serving() {
    ensure_built();
    let (old, failing, new) = (build("old"), build("fails-startup"), build("new"));
    let directory = extensions_dir(&old);
    let server = start(directory.path());
    let url = server.url("/api/v1/users");
    assert_eq!(answer(&client(), &url), Ok("old".to_string()));

    install(directory.path(), &failing);
    server.signal("HUP");
    assert!(
        server.wait_for_log_count("reload failed", 1, Duration::from_secs(30)),
        "the reload did not fail:\n{}",
        server.log()
    );
    let log = server.log();
    let rolled_back: Vec<&str> = log.lines().filter(|l| l.contains("rolled back")).collect();
    assert_eq!(rolled_back.len(), 1, "one line says why:\n{log}");
    let line = rolled_back[0];
    assert!(line.contains("module `fixture_swap`"), "{line}");
    assert!(line.contains("build fails-startup cannot start"), "{line}");
    assert!(
        line.contains(&sha256_of(&failing)[..12]),
        "names the new build: {line}"
    );
    assert!(
        line.contains(&sha256_of(&old)[..12]),
        "names the build in use: {line}"
    );
    for _ in 0..20 {
        assert_eq!(answer(&client(), &url), Ok("old".to_string()));
    }
    assert_eq!(counter(&server, "extension_rollbacks_total"), Some(1.0));
    assert_eq!(counter(&server, "extension_swaps_total"), Some(0.0));
    assert_eq!(build_info(&server, &old), Some(1.0), "still in use");
    assert_eq!(build_info(&server, &failing), None, "never in use");

    // A build that starts is swapped in after the rollback.
    reload_with(&server, directory.path(), &new, 1);
    assert_eq!(answer(&client(), &url), Ok("new".to_string()));
    assert_eq!(counter(&server, "extension_swaps_total"), Some(1.0));
    assert_eq!(counter(&server, "extension_rollbacks_total"), Some(1.0));
    assert_eq!(build_info(&server, &new), Some(1.0));
    assert_eq!(build_info(&server, &old), Some(0.0));
    assert_eq!(build_info(&server, &failing), None);
}

/// Sends requests until one is answered by `build` (at most `bound`), returning what the
/// others got.
fn until_answered_by(url: &str, build: &str, bound: usize) -> Vec<Result<String, String>> {
    let http = client();
    let mut before = Vec::new();
    for _ in 0..bound {
        match answer(&http, url) {
            Ok(answered) if answered == build => return before,
            other => before.push(other),
        }
        thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "no answer from build {build} in {bound} requests; the last: {:?}",
        before.last()
    )
}

#[test]
fn a_new_build_whose_breaker_trips_within_the_window_is_rolled_back_to_the_previous_one() {
    ensure_built();
    let (old, panics) = (build("old"), build("panics"));
    let directory = extensions_dir(&old);
    let server = start(directory.path());
    let url = server.url("/api/v1/users");
    assert_eq!(answer(&client(), &url), Ok("old".to_string()));

    reload_with(&server, directory.path(), &panics, 1);
    // The new build answers 500 (its hook panics) until its breaker trips at the fifth
    // panic; within the guard's interval the previous build serves again.
    let failed = until_answered_by(&url, "old", 200);
    assert!(
        failed.len() >= 5,
        "the new build was in use until its breaker tripped: {failed:?}"
    );
    assert!(
        failed
            .iter()
            .all(|f| f == &Err("status 500 Internal Server Error".to_string())),
        "{failed:?}"
    );
    for _ in 0..20 {
        assert_eq!(answer(&client(), &url), Ok("old".to_string()));
    }
    let log = server.log();
    let rolled_back: Vec<&str> = log.lines().filter(|l| l.contains("rolled back")).collect();
    assert_eq!(rolled_back.len(), 1, "one line says why:\n{log}");
    let line = rolled_back[0];
    assert!(line.contains("module `fixture_swap`"), "{line}");
    assert!(
        line.contains("tripped the panic breaker of `fixture_swap:BuildExtension` within 60s"),
        "{line}"
    );
    assert!(line.contains(&sha256_of(&panics)[..12]), "{line}");
    assert!(line.contains(&sha256_of(&old)[..12]), "{line}");
    assert_eq!(counter(&server, "extension_swaps_total"), Some(1.0));
    assert_eq!(counter(&server, "extension_rollbacks_total"), Some(1.0));
    assert_eq!(build_info(&server, &old), Some(1.0), "in use again");
    assert_eq!(build_info(&server, &panics), Some(0.0), "replaced");

    // The generation the rollback left is retired: its extension's shutdown hook runs once
    // its last request is done, and the server stops cleanly with the old build's.
    let mut server = server;
    server.signal("TERM");
    assert!(
        server
            .wait_exit(Duration::from_secs(30))
            .is_some_and(|s| s.success())
    );
}

#[test]
fn without_a_rollback_window_a_new_build_whose_breaker_trips_stays_in_use() {
    ensure_built();
    let (old, panics) = (build("old"), build("panics"));
    let directory = extensions_dir(&old);
    let config = format!("app:\n  swap_rollback_window_seconds: 0\n{CONFIG}");
    let server = TestServer::start_with(
        &config,
        &["--extensions-dir", directory.path().to_str().unwrap()],
    );
    let url = server.url("/api/v1/users");
    assert_eq!(answer(&client(), &url), Ok("old".to_string()));
    reload_with(&server, directory.path(), &panics, 1);
    // Past the fifth panic the breaker is open; the route fails closed from then on.
    for _ in 0..10 {
        assert_eq!(
            answer(&client(), &url),
            Err("status 500 Internal Server Error".to_string())
        );
    }
    assert!(server.wait_for_log_count("breaker tripped", 1, Duration::from_secs(10)));
    thread::sleep(Duration::from_millis(300));
    assert_eq!(
        answer(&client(), &url),
        Err("status 500 Internal Server Error".to_string())
    );
    // `/metrics` passes the same extension, so the log tells: no rollback.
    assert!(!server.log().contains("rolled back"), "{}", server.log());
}

#[test]
fn a_module_keeps_at_most_eight_builds_and_the_memory_of_each_swap_is_measured() {
    ensure_built();
    let old = build("old");
    let directory = extensions_dir(&old);
    let server = start_measured(directory.path());
    let url = server.url("/api/v1/users");
    // More builds of the same code: the old library with pages of zeros appended is still a
    // valid library, with another digest.
    let staging = tempfile::tempdir().unwrap();
    let variant = |pages: usize| {
        let path = staging.path().join(format!("variant-{pages}.so"));
        let mut bytes = fs::read(&old).unwrap();
        bytes.resize(bytes.len() + pages * 4096, 0);
        fs::write(&path, bytes).unwrap();
        path
    };
    let mut rss = Vec::new();
    let mut reload_times = Vec::new();
    // Builds 2 to 8: seven swaps.
    for swap in 1..8 {
        install(directory.path(), &variant(swap));
        let signalled = Instant::now();
        server.signal("HUP");
        assert!(
            server.wait_for_log_count("configuration reloaded", swap, Duration::from_secs(30)),
            "swap {swap} did not finish:\n{}",
            server.log()
        );
        reload_times.push(signalled.elapsed());
        assert_eq!(answer(&client(), &url), Ok("old".to_string()));
        rss.push(server.rss_kb());
    }
    assert_eq!(counter(&server, "extension_swaps_total"), Some(7.0));
    // From the first swap on (the first one also allocates what any reload keeps).
    let per_swap = (rss[6] - rss[0]) / 6;
    let library_kb = fs::metadata(&old).unwrap().len() / 1024;
    println!(
        "VmRSS after each swap (kB): {rss:?}; {per_swap} kB per swap of a {library_kb} kB \
         library; SIGHUP to reloaded: {reload_times:?}"
    );
    assert!(
        per_swap < library_kb,
        "a swap keeps {per_swap} kB, more than its whole {library_kb} kB library"
    );

    // A ninth build (the first and seven swaps are kept) is refused, naming the module and
    // the bound.
    install(directory.path(), &variant(8));
    server.signal("HUP");
    assert!(
        server.wait_for_log_count("reload failed", 1, Duration::from_secs(30)),
        "the ninth build was not refused:\n{}",
        server.log()
    );
    let log = server.log();
    let reason = log
        .lines()
        .find(|line| line.contains("refusing a new build"))
        .unwrap_or_else(|| panic!("no reason given:\n{log}"));
    assert!(
        reason.contains("keeps 8 builds of module `fixture_swap` already"),
        "names the module and the bound: {reason}"
    );
    assert!(
        reason.contains("restart the server"),
        "says what to do: {reason}"
    );
    assert_eq!(answer(&client(), &url), Ok("old".to_string()));
    assert_eq!(counter(&server, "extension_swaps_total"), Some(7.0));
}

#[test]
fn a_hundred_swaps_between_two_builds_under_load_fail_no_request_and_keep_no_memory() {
    ensure_built();
    let (old, new) = (build("old"), build("new"));
    let directory = extensions_dir(&old);
    let server = start_measured(directory.path());
    let url = server.url("/api/v1/users");
    // Four clients, each at most 5,000 requests; an answer from neither build is a failure.
    let load_url = url.clone();
    let load = Load::start(
        4,
        5_000,
        client,
        move |http: &reqwest::blocking::Client| match answer(http, &load_url) {
            Ok(build) if build == "old" || build == "new" => Ok(()),
            Ok(other) => Err(format!("x-build: {other}")),
            Err(error) => Err(error),
        },
    );
    // Going back to a build this process opened reuses it: two builds make any number of
    // swaps within the bound.
    const SWAPS: usize = 100;
    let mut rss_after_ten = 0;
    let mut to_first_answer = Vec::with_capacity(SWAPS);
    for swap in 1..=SWAPS {
        let (library, expected) = if swap % 2 == 1 {
            (&new, "new")
        } else {
            (&old, "old")
        };
        install(directory.path(), library);
        let signalled = Instant::now();
        server.signal("HUP");
        // From the signal to the first answer of the new build (asked every millisecond).
        let http = client();
        while answer(&http, &url).as_deref() != Ok(expected) {
            assert!(
                signalled.elapsed() < Duration::from_secs(30),
                "swap {swap} did not take:\n{}",
                server.log()
            );
            thread::sleep(Duration::from_millis(1));
        }
        to_first_answer.push(signalled.elapsed());
        assert!(
            server.wait_for_log_count("configuration reloaded", swap, Duration::from_secs(30)),
            "swap {swap} did not finish:\n{}",
            server.log()
        );
        if swap == 10 {
            rss_after_ten = server.rss_kb();
        }
    }
    let rss_after = server.rss_kb();
    let outcomes: Vec<Result<(), String>> = load.finish().into_iter().flatten().collect();
    let failures: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "requests failed during the swaps: {failures:?}"
    );
    let served = outcomes.len();
    let growth = rss_after.saturating_sub(rss_after_ten);
    to_first_answer.sort();
    println!(
        "{SWAPS} swaps under load: {served} requests, 0 failed; VmRSS after 10 swaps \
         {rss_after_ten} kB, after {SWAPS}: {rss_after} kB; SIGHUP to the first answer of the \
         new build: median {:?}, slowest {:?}",
        to_first_answer[SWAPS / 2],
        to_first_answer[SWAPS - 1]
    );
    assert_eq!(
        counter(&server, "extension_swaps_total"),
        Some(SWAPS as f64)
    );
    // Two builds are mapped however many swaps: a build opened again per swap would keep
    // about a megabyte each (see the test above).
    assert!(
        growth < 1024,
        "VmRSS grew by {growth} kB over {} swaps between two builds",
        SWAPS - 10
    );
    let copies = fs::read_dir(directory.path().join(".beginnings"))
        .unwrap()
        .count();
    assert_eq!(
        copies, 1,
        "one copy: the new build (the old one opened from its own name)"
    );
}

#[test]
fn serve_watch_swaps_in_a_new_build_when_it_is_installed_without_a_signal() {
    ensure_built();
    let (old, new) = (build("old"), build("new"));
    let directory = extensions_dir(&old);
    let server = TestServer::start_with(
        CONFIG,
        &[
            "--extensions-dir",
            directory.path().to_str().unwrap(),
            "--watch",
        ],
    );
    let url = server.url("/api/v1/users");
    assert_eq!(answer(&client(), &url), Ok("old".to_string()));
    // Installed by a rename, as an operator would: no signal, no configuration edit.
    install(directory.path(), &new);
    assert!(
        server.wait_for_log_count("configuration reloaded", 1, Duration::from_secs(15)),
        "--watch did not reload after the library changed:\n{}",
        server.log()
    );
    assert_eq!(answer(&client(), &url), Ok("new".to_string()));
    assert!(
        server
            .log()
            .contains("a configuration file or a library changed")
    );
    // `/metrics` says which build runs, the ABI it was made for and when it was opened.
    let abi = beginnings::inspect_library(&new)
        .expect("the build inspects")
        .abi;
    let sha256 = sha256_of(&new);
    let labels = [
        ("module", "fixture_swap"),
        ("sha256", &sha256),
        ("abi", &abi),
    ];
    let opened = prometheus_text::scrape(&server.url("/metrics?format=prometheus"))
        .value("extension_build_loaded_at_seconds", &labels)
        .expect("the build in use has its load time");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64;
    assert!(
        now - 120.0 < opened && opened <= now,
        "opened at {opened}, now {now}"
    );

    // `beginnings ext status` reads the same from the running server.
    let output = Command::new(build_dir().join("beginnings"))
        .args(["ext", "status", &server.url("/metrics")])
        .output()
        .expect("beginnings runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}\n{errors}");
    assert!(text.contains("module fixture_swap\n"), "{text}");
    let in_use = format!("in use    sha256 {sha256}  abi {abi}  opened ");
    assert!(text.contains(&in_use), "{text}");
    let replaced = format!("replaced  sha256 {} (still loaded)", sha256_of(&old));
    assert!(text.contains(&replaced), "{text}");
    assert!(text.contains("swaps 1  rollbacks 0"), "{text}");
}
