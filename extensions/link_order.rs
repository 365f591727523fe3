// Included by the build scripts of the extensions and of the load benchmark's application
// (`include!`), so each links its code in the order a profile recorded.
//
// Why: the kernel maps in 64 KB of a binary around every page a process touches
// (fault-around), so the code that stays resident follows where the functions that run lie,
// not how few they are. With the functions that ran in a profile laid out first and together,
// the rest is seldom touched: the load benchmark's application kept 4.3 MB of its own code
// resident, 1.9 to 2.0 MB in profile order (docs/performance.md, "Link the functions that
// run first").
//
// `link-order.txt` (next to the manifest, or where the build script says) lists those
// functions by symbol name; `cargo run --release -p beginnings-benches --bin load --
// --write-link-order` rewrites it from a run of the benchmark. A name the build does not
// define is skipped, so a list made by another compiler version orders less, never wrongly.
// Only LLD takes the list: it is the linker of the x86_64 Linux target since Rust 1.90, and a
// build that names another linker (or `BEGINNINGS_LINK_ORDER=off`) links as before.

/// The file of the functions to lay out first (`relative` to the manifest), when there is
/// one and this build links with LLD; otherwise `None`, and the build links as it always did.
fn link_order_file(relative: &str) -> Option<std::path::PathBuf> {
    println!("cargo:rerun-if-env-changed=BEGINNINGS_LINK_ORDER");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let manifest_dir = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let file = manifest_dir.join(relative);
    println!("cargo:rerun-if-changed={}", file.display());
    let off = std::env::var("BEGINNINGS_LINK_ORDER").is_ok_and(|value| value == "off");
    (!off && file.exists() && links_with_lld()).then_some(file)
}

/// Whether the final link is LLD's: the x86_64 Linux GNU target of Rust 1.90 or later, with no
/// linker named in the configuration or the flags (`-C linker`, `-C linker-features`,
/// `-C link-self-contained=-linker`, `-C link-arg=-fuse-ld=...`).
fn links_with_lld() -> bool {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let target_is_default_lld = var("CARGO_CFG_TARGET_ARCH") == "x86_64"
        && var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu";
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    let linker_named = std::env::var_os("RUSTC_LINKER").is_some()
        || flags.contains("linker")
        || flags.contains("fuse-ld");
    target_is_default_lld && !linker_named && rustc_minor_version().is_some_and(|minor| minor >= 90)
}

/// The minor version of the compiler that builds this crate (`rustc 1.95.0 (...)` -> 95).
fn rustc_minor_version() -> Option<u32> {
    let rustc = std::env::var_os("RUSTC")?;
    let output = std::process::Command::new(rustc).arg("-V").output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let version = text.split_whitespace().nth(1)?;
    let mut parts = version.split('.');
    (parts.next()? == "1").then_some(())?;
    parts.next()?.parse().ok()
}

/// The linker arguments that lay out the functions of `file` first.
fn link_order_args(file: &std::path::Path) -> [String; 2] {
    [
        format!("-Wl,--symbol-ordering-file={}", file.display()),
        // Names the build does not define (another compiler version's) are expected.
        "-Wl,--no-warn-symbol-ordering".to_string(),
    ]
}
