//! What the loader refuses before or while opening a library, each with one clear line.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use beginnings::App;
use beginnings_tests::{ConfigDir, TestServer, build_dir, client, ensure_built};

/// Builds an application from `yaml` with extensions from `directory` and returns the
/// start-up error text.
fn start_error(yaml: &str, directory: &Path) -> String {
    ensure_built();
    let config = ConfigDir::new(yaml);
    let app = App::from_file(config.app_yaml(), None)
        .unwrap()
        .extensions_dir(directory);
    match app.build() {
        Ok(_) => panic!("the application must not start"),
        Err(error) => error.to_string(),
    }
}

/// A private directory holding a copy of one library from the build directory.
fn private_copy(library: &str) -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    fs::set_permissions(directory.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let target = directory.path().join(library);
    fs::copy(build_dir().join(library), &target).unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).unwrap();
    directory
}

#[test]
fn a_library_built_against_a_changed_abi_is_summarised_in_one_line() {
    let error = start_error(
        "extensions:\n  \"fixture_bad_layout:Anything\": {}\n",
        &build_dir(),
    );
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.contains("app.yaml:2:3:"), "{error}");
    assert!(
        error.contains("was built against a different layout of the extension interface"),
        "{error}"
    );
    assert!(
        error.contains("expected `sdk_version: RStr<'a>`, found `inserted: u32`"),
        "names what differs: {error}"
    );
}

#[test]
fn a_library_built_with_panic_abort_is_refused() {
    let error = start_error(
        "extensions:\n  \"fixture_abort:AbortingExtension\": {}\n",
        &build_dir(),
    );
    assert!(error.contains("built with panic = \"abort\""), "{error}");
    assert!(
        error.contains("panic = \"unwind\""),
        "says what to do: {error}"
    );
}

#[test]
fn a_pinned_sha256_that_does_not_match_is_refused_before_loading() {
    let wrong = "0".repeat(64);
    let error = start_error(
        &format!("extensions:\n  \"security:SecurityHeadersExtension\": {{sha256: \"{wrong}\"}}\n"),
        &build_dir(),
    );
    assert!(error.contains("its SHA-256 is"), "{error}");
    assert!(
        error.contains(&format!("configuration pins {wrong}")),
        "{error}"
    );
}

#[test]
fn a_matching_sha256_loads() {
    use std::process::Command;
    ensure_built();
    let output = Command::new("sha256sum")
        .arg(build_dir().join("libsecurity.so"))
        .output()
        .expect("sha256sum runs");
    let digest = String::from_utf8(output.stdout).unwrap();
    let digest = digest.split_whitespace().next().unwrap();
    let config = ConfigDir::new(&format!(
        "extensions:\n  \"security:SecurityHeadersExtension\": {{sha256: \"{digest}\"}}\n"
    ));
    App::from_file(config.app_yaml(), None)
        .unwrap()
        .extensions_dir(build_dir())
        .build()
        .expect("a matching digest loads");
}

#[test]
fn a_library_writable_by_others_is_refused() {
    let directory = private_copy("libsecurity.so");
    let library = directory.path().join("libsecurity.so");
    fs::set_permissions(&library, fs::Permissions::from_mode(0o777)).unwrap();
    let error = start_error(
        "extensions:\n  \"security:SecurityHeadersExtension\": {}\n",
        directory.path(),
    );
    assert!(error.contains("writable by group or others"), "{error}");
    assert!(error.contains("chmod go-w"), "says how to fix it: {error}");
}

#[test]
fn a_directory_writable_by_others_is_refused() {
    let directory = private_copy("libsecurity.so");
    fs::set_permissions(directory.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let error = start_error(
        "extensions:\n  \"security:SecurityHeadersExtension\": {}\n",
        directory.path(),
    );
    assert!(error.contains("its directory"), "{error}");
    assert!(error.contains("writable by group or others"), "{error}");
}

#[test]
fn a_symlink_out_of_the_extensions_directory_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    fs::set_permissions(directory.path(), fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(
        build_dir().join("libsecurity.so"),
        directory.path().join("libsecurity.so"),
    )
    .unwrap();
    let error = start_error(
        "extensions:\n  \"security:SecurityHeadersExtension\": {}\n",
        directory.path(),
    );
    assert!(error.contains("is a symlink to"), "{error}");
    assert!(
        error.contains("outside the extensions directory"),
        "{error}"
    );
}

#[test]
fn a_private_copy_with_safe_permissions_loads() {
    let directory = private_copy("libsecurity.so");
    let config = ConfigDir::new("extensions:\n  \"security:SecurityHeadersExtension\": {}\n");
    App::from_file(config.app_yaml(), None)
        .unwrap()
        .extensions_dir(directory.path())
        .build()
        .expect("loads from a private directory");
}

#[test]
fn a_library_in_a_sticky_world_writable_directory_is_refused() {
    // Like /tmp: the sticky bit stops others deleting a file, not planting one first.
    let directory = private_copy("libsecurity.so");
    fs::set_permissions(directory.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let error = start_error(
        "extensions:\n  \"security:SecurityHeadersExtension\": {}\n",
        directory.path(),
    );
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.contains("its directory"), "{error}");
    assert!(
        error.contains("writable by group or others (mode 1777)"),
        "{error}"
    );
}

/// Gives `path` to the `nobody` user; false when this process may not (not running as root).
fn give_to_nobody(path: &Path) -> bool {
    match std::os::unix::fs::chown(path, Some(NOBODY), None) {
        Ok(()) => true,
        Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => {
            eprintln!("skipped: changing a file's owner needs root ({error})");
            false
        }
        Err(error) => panic!("chown {}: {error}", path.display()),
    }
}

const NOBODY: u32 = 65534;

#[test]
fn a_library_owned_by_another_user_is_refused() {
    let directory = private_copy("libsecurity.so");
    let library = directory.path().join("libsecurity.so");
    if !give_to_nobody(&library) {
        return;
    }
    let error = start_error(
        "extensions:\n  \"security:SecurityHeadersExtension\": {}\n",
        directory.path(),
    );
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.contains("refusing to load"), "{error}");
    assert!(error.contains("owned by uid 65534"), "{error}");
    assert!(error.contains("chown"), "says how to fix it: {error}");
}

#[test]
fn a_directory_owned_by_another_user_is_refused() {
    let directory = private_copy("libsecurity.so");
    if !give_to_nobody(directory.path()) {
        return;
    }
    let error = start_error(
        "extensions:\n  \"security:SecurityHeadersExtension\": {}\n",
        directory.path(),
    );
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.contains("its directory"), "{error}");
    assert!(error.contains("owned by uid 65534"), "{error}");
    assert!(error.contains("chown"), "says how to fix it: {error}");
}

/// The SHA-256 of `path` in hex, as the `sha256` key pins it.
fn sha256_of(path: &Path) -> String {
    let output = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    let digest = String::from_utf8(output.stdout).unwrap();
    digest.split_whitespace().next().unwrap().to_string()
}

/// Appends a page of zeros to `library`: still a valid library, with another digest (a new
/// build to the loader). The server has it mapped, so the pages it uses stay as they were.
fn append_a_page(library: &Path) {
    let mut file = fs::OpenOptions::new().append(true).open(library).unwrap();
    std::io::Write::write_all(&mut file, &[0; 4096]).unwrap();
}

#[test]
fn a_reload_that_finds_a_changed_library_opens_a_copy_of_the_new_build() {
    ensure_built();
    let directory = private_copy("libsecurity.so");
    let library = directory.path().join("libsecurity.so");
    let config = |digest: &str, security_headers: bool| {
        format!(
            "routes:\n  patterns:\n    \"/api/*\": {{security_headers: {security_headers}}}\n\
             extensions:\n  \"security:SecurityHeadersExtension\": \
             {{x_frame_options: DENY, sha256: \"{digest}\"}}\n"
        )
    };
    let server = TestServer::start_with(
        &config(&sha256_of(&library), true),
        &["--extensions-dir", directory.path().to_str().unwrap()],
    );
    let url = server.url("/api/v1/users");
    let framed = || {
        let response = client().get(&url).send().unwrap();
        assert_eq!(response.status(), 200);
        response.headers().contains_key("x-frame-options")
    };
    assert!(framed());
    let first = directory.path().join("first-build");
    fs::copy(&library, &first).unwrap();

    // A new build at the same path, pinned by the new configuration, which drops the
    // header: the reload goes through with the new build.
    append_a_page(&library);
    let digest = sha256_of(&library);
    server.write_config(&config(&digest, false));
    server.signal("HUP");
    assert!(
        server.wait_for_log_count("configuration reloaded", 1, Duration::from_secs(10)),
        "the reload did not go through:\n{}",
        server.log()
    );
    assert!(!framed(), "the new configuration serves");
    // Opened from a copy under its digest, created as the extensions directory must be.
    let state = directory.path().join(".beginnings");
    let copy = state.join(format!("security-{digest}.so"));
    assert_eq!(sha256_of(&copy), digest);
    for (path, mode) in [(&state, 0o755), (&copy, 0o755)] {
        let actual = fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            actual & 0o022,
            0,
            "{} is writable by others: {actual:o}",
            path.display()
        );
        assert_eq!(actual, mode & !umask(), "{}", path.display());
    }
    let log = server.wait_for_log("swapped module `security`");
    assert!(log.contains("swapped module `security`"), "{log}");
    // Back to the first build (renamed into place) and its configuration: the build opened
    // first serves again, found by its digest, without another copy.
    fs::rename(&first, &library).unwrap();
    server.write_config(&config(&sha256_of(&library), true));
    server.signal("HUP");
    assert!(
        server.wait_for_log_count("configuration reloaded", 2, Duration::from_secs(10)),
        "the reload did not go through:\n{}",
        server.log()
    );
    assert!(framed(), "the first configuration and build serve again");
    assert_eq!(fs::read_dir(&state).unwrap().count(), 1, "one copy only");
    assert!(
        server.wait_for_log_count("swapped module `security`", 2, Duration::from_secs(5)),
        "{}",
        server.log()
    );
}

/// The process's file mode creation mask, read from /proc.
fn umask() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
}

#[test]
fn a_new_build_is_refused_when_the_state_directory_is_writable_by_others() {
    ensure_built();
    let directory = private_copy("libsecurity.so");
    let library = directory.path().join("libsecurity.so");
    let state = tempfile::tempdir().unwrap();
    fs::set_permissions(state.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let yaml = format!(
        "app:\n  state_dir: {}\nextensions:\n  \"security:SecurityHeadersExtension\": \
         {{x_frame_options: DENY}}\n",
        state.path().display()
    );
    let server = TestServer::start_with(
        &yaml,
        &["--extensions-dir", directory.path().to_str().unwrap()],
    );
    append_a_page(&library);
    server.signal("HUP");
    assert!(
        server.wait_for_log_count("reload failed", 1, Duration::from_secs(10)),
        "the new build was not refused:\n{}",
        server.log()
    );
    let log = server.log();
    let reason = log
        .lines()
        .find(|line| line.contains("the state directory"))
        .unwrap_or_else(|| panic!("no reason given:\n{log}"));
    assert!(
        reason.contains("extension `security:SecurityHeadersExtension`"),
        "{reason}"
    );
    assert!(
        reason.contains("is writable by group or others (mode 777)"),
        "{reason}"
    );
    assert!(
        reason.contains("chmod go-w"),
        "says how to fix it: {reason}"
    );
    assert_eq!(
        fs::read_dir(state.path()).unwrap().count(),
        0,
        "nothing was copied"
    );
    let response = client().get(server.url("/api/v1/users")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().contains_key("x-frame-options"),
        "the old build serves"
    );
}
