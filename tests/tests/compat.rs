//! The compatibility promise of `docs/abi.md`, proven with real builds: extensions built
//! against a frozen copy of the ABI 1.0 SDK (older than this 1.2 host) and against a copy of
//! a future 1.3 (newer than it) (`tests/compat/`), each in a target directory of its own,
//! loaded by the current host.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use beginnings::App;
use beginnings_tests::{ConfigDir, TestServer, build_dir, client, ensure_built, workspace_root};

/// Builds one fixture of `tests/compat/` in its own target directory (a shared one would
/// reuse one `beginnings-abi` artifact for every copy) and returns its library.
fn build_fixture(fixture: &str, crate_name: &str, features: &[&str]) -> PathBuf {
    let target = build_dir()
        .parent()
        .expect("the build directory sits in the target directory")
        .join("compat")
        .join(format!("{fixture}{}", features.join("+")));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root().join("tests/compat").join(fixture))
        .args(["build", "--locked", "--lib", "--target-dir"])
        .arg(&target);
    for feature in features {
        command.args(["--features", feature]);
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building tests/compat/{fixture} failed");
    target.join("debug").join(format!("lib{crate_name}.so"))
}

/// The three libraries of the matrix, and the current `csrf` (a 1.1 library that reads a
/// request value), in a private extensions directory.
fn extensions_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        ensure_built();
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        for (library, module) in [
            (build_dir().join("libcsrf.so"), "csrf"),
            (
                build_fixture("fixture-1.0", "compat_v1_0", &[]),
                "compat_v1_0",
            ),
            (
                build_fixture("fixture-1.3", "compat_v1_3", &[]),
                "compat_v1_3",
            ),
            (
                build_fixture("fixture-1.3", "compat_v1_3", &["needs-1_3"]),
                "compat_v1_3_needs",
            ),
        ] {
            let copy = dir.path().join(format!("lib{module}.so"));
            fs::copy(&library, &copy).unwrap();
            fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
        }
        dir
    })
    .path()
}

#[test]
fn the_host_runs_every_hook_of_a_1_0_and_a_1_3_extension() {
    let dir = extensions_dir();
    let dir = dir.to_str().unwrap();
    let server = TestServer::start_with(
        "extensions:\n  \"compat_v1_0:CompatExtension\": {tag: old}\n  \"compat_v1_3:CompatExtension\": {tag: new}\n",
        &["--extensions-dir", dir],
    );
    let answer = client().get(server.url("/api/v1/users")).send().unwrap();
    assert_eq!(answer.status(), 200);
    let header = |name: &str| {
        answer
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no {name}: {:?}", answer.headers()))
    };
    // The asynchronous request hook (waiting on the host's sleep) set the per-request
    // state, and the response hook found it: every hook of each build ran.
    assert_eq!(header("x-compat-response-old"), "state-kept");
    assert_eq!(header("x-compat-response-new"), "state-kept");
    // The service 1.3 added is answered "unsupported" by this 1.2 host, never a panic.
    assert_eq!(
        header("x-compat-echo-new"),
        "unsupported: this host has no `echo` service"
    );
    let log = server.wait_for_log("compat fixture new started");
    assert!(
        log.contains("compat fixture old started (built for ABI 1.0)"),
        "{log}"
    );
    assert!(
        log.contains("compat fixture new started (built for ABI 1.3)"),
        "{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_1_3_extension_that_needs_a_1_3_host_is_refused_in_one_line() {
    ensure_built();
    let dir = extensions_dir();
    let config = ConfigDir::new("extensions:\n  \"compat_v1_3_needs:CompatExtension\": {tag: x}\n");
    let error = match App::from_file(config.app_yaml(), None)
        .unwrap()
        .extensions_dir(dir)
        .build()
    {
        Ok(_) => panic!("a library that needs a newer host must not load"),
        Err(error) => error.to_string(),
    };
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.contains("app.yaml:2:3:"), "{error}");
    assert!(
        error.contains(
            "libcompat_v1_3_needs.so was built for ABI 1.3, needs a host with 1.3 or newer; \
             this host has 1.2"
        ),
        "{error}"
    );

    let inspected = Command::new(build_dir().join("beginnings"))
        .args(["ext", "inspect"])
        .arg(dir.join("libcompat_v1_3_needs.so"))
        .output()
        .unwrap();
    assert!(!inspected.status.success());
    let stderr = String::from_utf8_lossy(&inspected.stderr);
    assert!(
        stderr.contains("needs a host with 1.3 or newer"),
        "{stderr}"
    );

    let inspected = Command::new(build_dir().join("beginnings"))
        .args(["ext", "inspect"])
        .arg(dir.join("libcompat_v1_3.so"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&inspected.stdout);
    assert!(inspected.status.success(), "{stdout}");
    assert!(stdout.contains("1.3 (this host: 1.2)"), "{stdout}");
    assert!(stdout.contains("needs host      1.0 or newer"), "{stdout}");
}

/// A 1.0 library cannot declare the request values it sets (ABI 1.1 added that): a value
/// that a 1.1 extension after it reads and no library declares may come from it, so the
/// host starts (with a warning) instead of refusing a configuration a 1.0 host served.
/// Without the 1.0 library before it, the same reader is refused.
#[test]
fn a_value_only_a_1_0_library_before_the_reader_can_set_does_not_refuse_the_start() {
    let dir = extensions_dir();
    let csrf = "  \"csrf:CsrfExtension\": {secret: \"test-secret-0123456789abcdef-0123456789\", \
                bind_to: \"value:tenant\"}\n";
    let build = |yaml: String| {
        let config = ConfigDir::new(&yaml);
        App::from_file(config.app_yaml(), None)
            .unwrap()
            .extensions_dir(dir)
            .build()
            .map(|_| ())
            .map_err(|error| error.to_string())
    };
    let after_1_0 = format!("extensions:\n  \"compat_v1_0:CompatExtension\": {{tag: old}}\n{csrf}");
    if let Err(error) = build(after_1_0) {
        panic!("a 1.0 library before the reader may set the value: {error}");
    }
    let alone = build(format!("extensions:\n{csrf}"));
    let error = alone.expect_err("nothing can set the value");
    assert!(
        error.contains("reads the request value `tenant`")
            && error.contains("no configured extension sets it"),
        "{error}"
    );
}
