//! The chain and hook benchmarks define `malloc` and its siblings
//! (`beginnings_benches::count_every_allocation!`) to count every allocation in the process.
//! The extension libraries they load find them only when the bench executable exports them:
//! a library's `malloc` is looked up in the executable first.
//!
//! The load benchmark's application links its functions in the order of
//! `app/link-order.txt` (see `../extensions/link_order.rs`), and packs its relative
//! relocations where the C library reads them packed.
include!("../extensions/link_order.rs");

const APP: &str = "beginnings-bench-app";

fn main() {
    if let Some(file) = link_order_file("app/link-order.txt") {
        for arg in link_order_args(&file) {
            println!("cargo:rustc-link-arg-bin={APP}={arg}");
        }
    }
    if links_with_lld() && glibc_reads_packed_relocations() {
        // Its 440 KB of relative relocations, read whole at every start, become a few KB
        // (DT_RELR); the C library of the machine that runs it must be 2.36 or later, and
        // the benchmark runs where it was built.
        println!("cargo:rustc-link-arg-bin={APP}=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
    for symbol in ["malloc", "calloc", "realloc", "free"] {
        println!("cargo:rustc-link-arg-benches=-Wl,--export-dynamic-symbol={symbol}");
    }
}

/// Whether this machine's C library is glibc 2.36 or later, the first to read DT_RELR.
fn glibc_reads_packed_relocations() -> bool {
    let Ok(output) = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
    else {
        return false;
    };
    // `glibc 2.36`
    let text = String::from_utf8_lossy(&output.stdout);
    let mut version = text.trim().trim_start_matches("glibc ").split('.');
    let major: u32 = version.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    let minor: u32 = version.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    (major, minor) >= (2, 36)
}
