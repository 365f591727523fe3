//! The SDK's in-process test host (`beginnings_abi::testing`, feature `testing`) is for the
//! tests of an extension: the runtime, the binaries and the extension libraries that
//! `cargo build --workspace` makes do not carry it.

use std::process::Command;

use beginnings_tests::workspace_root;

/// The features of `beginnings-abi` in every place the workspace's build graph reaches it,
/// over the dependency `edges` cargo follows (`normal,build` for a build; `dev` for tests).
fn abi_features(edges: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "tree",
            "--workspace",
            "--prefix",
            "none",
            "--format",
            "{p}|{f}",
        ])
        .args(["--edges", edges])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).expect("cargo tree prints UTF-8");
    let features: Vec<String> = tree
        .lines()
        .filter(|line| line.starts_with("beginnings-abi "))
        .map(|line| line.split_once('|').map_or("", |(_, f)| f).to_owned())
        .collect();
    assert!(!features.is_empty(), "no beginnings-abi in:\n{tree}");
    features
}

#[test]
fn only_tests_compile_the_sdk_test_host() {
    let built = abi_features("normal,build");
    assert!(
        built.iter().all(|features| !features.contains("testing")),
        "a build of the workspace turns on beginnings-abi's `testing`: {built:?}"
    );
    // The extensions' tests do turn it on: the check above reads the right thing.
    let tested = abi_features("normal,build,dev");
    assert!(
        tested.iter().any(|features| features.contains("testing")),
        "{tested:?}"
    );
}
