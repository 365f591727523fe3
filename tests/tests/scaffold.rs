//! `beginnings new extension` writes a crate that builds, passes its own tests, and loads
//! into a real server without edits.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use beginnings_tests::{TestServer, build_dir, client, ensure_built, workspace_root};

#[test]
fn a_scaffolded_extension_builds_tests_and_answers_through_a_real_server() {
    ensure_built();
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new(build_dir().join("beginnings"))
        .args(["new", "extension", "scaffold_probe", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let crate_dir = dir.path().join("scaffold_probe");
    for file in ["Cargo.toml", "src/lib.rs", "README.md"] {
        assert!(crate_dir.join(file).exists(), "{file} written");
    }

    // The workspace's lock keeps the scaffold on the dependency versions already built,
    // and a target directory of its own keeps its library out of the workspace's.
    fs::copy(
        workspace_root().join("Cargo.lock"),
        crate_dir.join("Cargo.lock"),
    )
    .unwrap();
    let target = workspace_root().join("target").join("scaffold");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for step in [&["test", "--quiet"][..], &["build", "--quiet"][..]] {
        let status = Command::new(&cargo)
            .args(step)
            .current_dir(&crate_dir)
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .unwrap();
        assert!(status.success(), "cargo {step:?} in the scaffold");
    }

    let extensions = tempfile::tempdir().unwrap();
    fs::set_permissions(extensions.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let library = extensions.path().join("libscaffold_probe.so");
    fs::copy(target.join("debug/libscaffold_probe.so"), &library).unwrap();
    fs::set_permissions(&library, fs::Permissions::from_mode(0o755)).unwrap();

    let yaml = r#"
extensions:
  "scaffold_probe:ScaffoldProbeExtension": {value: "from the scaffold"}
routes:
  patterns:
    "/health": {scaffold_probe: false}
"#;
    let extensions_dir = extensions.path().to_str().unwrap();
    let server = TestServer::start_binary(
        "beginnings-demo",
        yaml,
        &["--extensions-dir", extensions_dir],
    );
    let http = client();
    let users = http.get(server.url("/api/v1/users")).send().unwrap();
    assert_eq!(users.headers()["x-scaffold-probe"], "from the scaffold");
    let health = http.get(server.url("/health")).send().unwrap();
    assert!(health.headers().get("x-scaffold-probe").is_none());
}

#[test]
fn an_invalid_name_is_refused() {
    ensure_built();
    let dir = tempfile::tempdir().unwrap();
    let refused = Command::new(build_dir().join("beginnings"))
        .args(["new", "extension", "../Bad-Name", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("invalid extension name `../Bad-Name`"),
        "{stderr}"
    );
}
